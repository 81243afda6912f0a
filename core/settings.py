"""The one settings object, built from command-line flags and environment variables.

This is the only module that reads ``os.environ``. Every flag has an environment variable of the
same name in upper case with the ``EMOTION_`` prefix (``--cache-dir`` <-> ``EMOTION_CACHE_DIR``),
so a Hugging Face Space can be configured without a command line.

Example
-------
>>> s = Settings.from_sources(["--model", "../shared/models/emotion-minilm"], env={})
>>> s.model
'../shared/models/emotion-minilm'
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MODEL = "bhadresh-savani/distilbert-base-uncased-emotion"
DEFAULT_DATA = "dair-ai/emotion"
ENV_PREFIX = "EMOTION_"
#: The inference backends a model can run on (:mod:`core.classifier.backends` builds them).
BACKENDS: tuple[str, ...] = ("auto", "torch", "torch-bf16", "onnx", "onnx-int8", "onnx-int8-static")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/emotion-lens`` or ``~/.cache/emotion-lens``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "emotion-lens"


@dataclass(frozen=True)
class Settings:
    """Everything the app, the precompute and the benchmarks can be told.

    Attributes
    ----------
    model : Hub id or local folder of a fine-tuned sequence classifier.
    data : Hub id or local folder with train/validation/test splits.
    split : the split that is analysed (losses, confusion matrix, embedding map, review).
    cache_dir : where the cached analysis and the review database live.
    review_db : SQLite file for review decisions; default ``<cache_dir>/reviews.sqlite``.
    batch_size : inference batch size for the precompute (rows; ``core.classifier.model.MAX_BATCH_TOKENS``
        caps the tokens).
    max_length : tokens per text for classification (longer texts are truncated).
    explain_max_tokens : tokens explained by SHAP (longer texts are truncated, and the view says so).
    host, port : where the app listens.
    reviewer : default reviewer name recorded with review decisions.
    splits : every split the app analyses and serves (``--splits train,validation``); default ``(split,)``.
    compare_model : a second checkpoint to compare with ``model`` (Compare tab).
    backend : inference backend (see :mod:`core.classifier.backends`); ``auto``: bf16 where the CPU has native bf16.
    text_column, label_column : column names in CSV/parquet data (default ``text`` and ``label``).
    prob_source : which probabilities rank a split the model trained on: ``auto``, ``in-sample`` or
        ``out-of-fold``.
    review_sync : fsspec URL where review decisions are appended as JSONL events (``file:///path``,
        ``hf://datasets/owner/repo``).
    review_sync_every : seconds between syncs.
    review_access : who may write review decisions: ``open``, ``login`` or ``password``; default
        ``login`` on a Hugging Face Space (``SPACE_ID`` set), ``open`` elsewhere.
    reviewers : allow-list for ``login`` access (user names or ``org:<name>``, comma-separated).
    review_users : ``name:password`` pairs for ``password`` access (environment only, never a flag).
    space_id : the Hugging Face Space this runs in (``SPACE_ID``), or ``None``.
    engine, ray_address : where precompute and crossval run (``local`` or ``ray``).
    pattern_share : the share of a split's rows, most suspect first, grouped into patterns (Patterns view).
    spot_check_k, spot_check_threshold : rows a pattern's spot check draws, and the lower 95% bound of their
        precision a bulk action needs (:mod:`core.review.spotcheck`).
    """

    model: str = DEFAULT_MODEL
    data: str = DEFAULT_DATA
    split: str = "validation"
    cache_dir: Path = field(default_factory=default_cache_dir)
    review_db: Path | None = None
    batch_size: int = 256
    max_length: int = 512
    explain_max_tokens: int = 128
    host: str = "127.0.0.1"
    port: int = 7860
    reviewer: str = ""
    splits: tuple[str, ...] = ()
    compare_model: str | None = None
    backend: str = "auto"
    text_column: str | None = None
    label_column: str | None = None
    prob_source: str = "auto"
    review_sync: str | None = field(default=None, repr=False)  # may hold credentials: never in a repr or log
    review_sync_every: float = 60.0
    review_access: str | None = None
    reviewers: str = ""
    review_users: str = field(default="", repr=False)
    space_id: str | None = None
    engine: str = "local"
    ray_address: str | None = None
    pattern_share: float = 0.10
    spot_check_k: int = 10
    spot_check_threshold: float = 0.55

    def __post_init__(self) -> None:
        if not self.splits:
            object.__setattr__(self, "splits", (self.split,))
        elif self.split not in self.splits:
            object.__setattr__(self, "split", self.splits[0])

    @property
    def access(self) -> str:
        """The review access mode in force: the setting, else ``login`` on a Space and ``open`` elsewhere."""
        return self.review_access or ("login" if self.space_id else "open")

    @property
    def review_db_path(self) -> Path:
        """The review database file (``review_db`` or the default in the cache folder)."""
        return self.review_db or (Path(self.cache_dir) / "reviews.sqlite")

    @classmethod
    def from_sources(
        cls, argv: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None
    ) -> Settings:
        """Parse flags, falling back to ``EMOTION_*`` environment variables, then defaults."""
        env = os.environ if env is None else env
        parser = build_parser(env)
        args = parser.parse_args(argv)
        return cls.from_namespace(args)

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> Settings:
        """Build settings from an ``argparse`` namespace made by :func:`build_parser`."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in vars(args).items() if k in names and v is not None}
        for key in ("cache_dir", "review_db"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        if isinstance(values.get("splits"), str):
            values["splits"] = tuple(x.strip() for x in values["splits"].split(",") if x.strip())
        for key in ("compare_model", "review_sync", "review_access", "ray_address", "text_column", "label_column"):
            if values.get(key) == "":
                values[key] = None
        return cls(**values)


def _env(env: Mapping[str, str], name: str, default: object) -> object:
    """``EMOTION_<NAME>``, or ``default`` when it is unset or empty."""
    value = env.get(ENV_PREFIX + name.upper())
    return default if value is None or value == "" else value


#: Flag groups: ``data`` (every command that analyses a split), ``compute`` (where an analysis runs),
#: ``app`` (the server, the review and what only the app shows). Each command lists only its own groups.
GROUPS: tuple[str, ...] = ("data", "compute", "app")


def build_parser(
    env: Mapping[str, str] | None = None, *, description: str = "Emotion classifier dashboard",
    groups: Sequence[str] = GROUPS, skip: Sequence[str] = (),
) -> argparse.ArgumentParser:
    """An ``argparse`` parser for the :class:`Settings` fields of ``groups`` (:data:`GROUPS`), defaults from
    ``env``; ``skip`` leaves out flags by field name (a command that defines its own ``--model``).

    An ``EMOTION_*`` value outside a flag's choices exits with a message naming the variable and the choices.
    """
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown flag groups {sorted(unknown)}; choose from {GROUPS}")
    env = os.environ if env is None else env
    p = argparse.ArgumentParser(description=description)
    for group in GROUPS:
        if group in groups:
            _ADDERS[group](p, env, Settings())
    for action in list(p._actions):
        if action.dest in skip:
            p._remove_action(action)
            for option in action.option_strings:
                p._option_string_actions.pop(option, None)
    _check_env_choices(p, env)
    return p


def _add_data_flags(p: argparse.ArgumentParser, env: Mapping[str, str], d: Settings) -> None:
    p.add_argument("--model", default=_env(env, "model", d.model),
                   help="Hub id or local folder of a fine-tuned classifier (default: %(default)s)")
    p.add_argument("--data", default=_env(env, "data", d.data),
                   help="Hub id or local folder with train/validation/test splits (default: %(default)s)")
    p.add_argument("--split", default=_env(env, "split", d.split), help="split to analyse")
    p.add_argument("--cache-dir", default=_env(env, "cache_dir", str(d.cache_dir)),
                   help="folder for the cached analysis and review database")
    p.add_argument("--batch-size", type=int, default=_number(env, "batch_size", d.batch_size, int))
    p.add_argument("--max-length", type=int, default=_number(env, "max_length", d.max_length, int))
    p.add_argument("--backend", default=_env(env, "backend", d.backend), choices=BACKENDS,
                   help="inference backend (default: %(default)s)")
    p.add_argument("--text-column", default=_env(env, "text_column", None),
                   help="text column of CSV/parquet data (default: text)")
    p.add_argument("--label-column", default=_env(env, "label_column", None),
                   help="label column of CSV/parquet data (default: label)")


def _add_compute_flags(p: argparse.ArgumentParser, env: Mapping[str, str], d: Settings) -> None:
    p.add_argument("--engine", default=_env(env, "engine", d.engine), choices=["local", "ray"],
                   help="where the analysis runs (default: %(default)s)")
    p.add_argument("--ray-address", default=_env(env, "ray_address", None))


def _add_app_flags(p: argparse.ArgumentParser, env: Mapping[str, str], d: Settings) -> None:
    p.add_argument("--review-db", default=_env(env, "review_db", None),
                   help="SQLite file for review decisions (default: <cache-dir>/reviews.sqlite)")
    p.add_argument("--explain-max-tokens", type=int,
                   default=_number(env, "explain_max_tokens", d.explain_max_tokens, int))
    p.add_argument("--host", default=_env(env, "host", env.get("GRADIO_SERVER_NAME", d.host)))
    p.add_argument("--port", type=int, default=_number(env, "port", env.get("GRADIO_SERVER_PORT", d.port), int))
    p.add_argument("--reviewer", default=_env(env, "reviewer", d.reviewer))
    p.add_argument("--splits", default=_env(env, "splits", None),
                   help="comma-separated splits to analyse and serve, e.g. train,validation (default: --split)")
    p.add_argument("--compare-model", default=_env(env, "compare_model", None),
                   help="a second checkpoint to compare with --model (Compare tab)")
    p.add_argument("--prob-source", default=_env(env, "prob_source", d.prob_source),
                   choices=["auto", "in-sample", "out-of-fold"],
                   help="probabilities that rank a split the model trained on (default: %(default)s)")
    p.add_argument("--review-sync", default=_env(env, "review_sync", None),
                   help="fsspec URL to append review decisions to (file:///path or hf://datasets/owner/repo)")
    p.add_argument("--review-sync-every", type=float,
                   default=_number(env, "review_sync_every", d.review_sync_every, float))
    p.add_argument("--review-access", default=_env(env, "review_access", None),
                   choices=["open", "login", "password"],
                   help="who may write review decisions (default: login on a Space, open elsewhere)")
    p.add_argument("--pattern-share", type=float, default=_number(env, "pattern_share", d.pattern_share, float),
                   help="share of the rows, most suspect first, grouped into patterns (default: %(default)s)")
    p.add_argument("--spot-check-k", type=int, default=_number(env, "spot_check_k", d.spot_check_k, int),
                   help="rows a pattern's spot check draws (default: %(default)s)")
    p.add_argument("--spot-check-threshold", type=float,
                   default=_number(env, "spot_check_threshold", d.spot_check_threshold, float),
                   help="lower 95%% bound of the spot check's precision a bulk action needs (default: %(default)s)")
    p.set_defaults(reviewers=str(_env(env, "reviewers", "")), review_users=str(_env(env, "review_users", "")),
                   space_id=env.get("SPACE_ID") or None)


_ADDERS = {"data": _add_data_flags, "compute": _add_compute_flags, "app": _add_app_flags}


def _check_env_choices(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    """Exit with a clear message when an ``EMOTION_*`` variable holds a value outside its flag's choices
    (argparse checks the choices of typed flags only, never of defaults)."""
    for action in p._actions:
        name = ENV_PREFIX + action.dest.upper()
        if action.choices is None or name not in env:
            continue
        value = env[name]
        if value != "" and value not in action.choices:
            raise SystemExit(f"error: {name}={value!r} is not one of {', '.join(map(str, action.choices))} "
                             f"(the choices of {action.option_strings[0]})")


def _number(env: Mapping[str, str], name: str, default: float, kind: type) -> float:
    """An ``EMOTION_*`` number, or exit with a clear message naming the variable."""
    raw = _env(env, name, default)
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise SystemExit(f"error: {ENV_PREFIX}{name.upper()}={raw!r} is not a {kind.__name__}") from None
