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
    batch_size : inference batch size for the precompute.
    max_length : tokens per text for classification (longer texts are truncated).
    explain_max_tokens : tokens explained by SHAP (longer texts are truncated, and the view says so).
    host, port : where the app listens.
    reviewer : default reviewer name recorded with review decisions.
    """

    model: str = DEFAULT_MODEL
    data: str = DEFAULT_DATA
    split: str = "validation"
    cache_dir: Path = field(default_factory=default_cache_dir)
    review_db: Path | None = None
    batch_size: int = 64
    max_length: int = 512
    explain_max_tokens: int = 128
    host: str = "127.0.0.1"
    port: int = 7860
    reviewer: str = ""

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
        return cls(**values)


def _env(env: Mapping[str, str], name: str, default: object) -> object:
    return env.get(ENV_PREFIX + name.upper(), default)


def build_parser(
    env: Mapping[str, str] | None = None, *, description: str = "Emotion classifier dashboard"
) -> argparse.ArgumentParser:
    """An ``argparse`` parser for every :class:`Settings` field, defaults from ``env``."""
    env = os.environ if env is None else env
    d = Settings()
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", default=_env(env, "model", d.model),
                   help="Hub id or local folder of a fine-tuned classifier (default: %(default)s)")
    p.add_argument("--data", default=_env(env, "data", d.data),
                   help="Hub id or local folder with train/validation/test splits (default: %(default)s)")
    p.add_argument("--split", default=_env(env, "split", d.split), help="split to analyse")
    p.add_argument("--cache-dir", default=_env(env, "cache_dir", str(d.cache_dir)),
                   help="folder for the cached analysis and review database")
    p.add_argument("--review-db", default=_env(env, "review_db", None),
                   help="SQLite file for review decisions (default: <cache-dir>/reviews.sqlite)")
    p.add_argument("--batch-size", type=int, default=int(_env(env, "batch_size", d.batch_size)))
    p.add_argument("--max-length", type=int, default=int(_env(env, "max_length", d.max_length)))
    p.add_argument("--explain-max-tokens", type=int,
                   default=int(_env(env, "explain_max_tokens", d.explain_max_tokens)))
    p.add_argument("--host", default=_env(env, "host", env.get("GRADIO_SERVER_NAME", d.host)))
    p.add_argument("--port", type=int, default=int(_env(env, "port", env.get("GRADIO_SERVER_PORT", d.port))))
    p.add_argument("--reviewer", default=_env(env, "reviewer", d.reviewer))
    return p
