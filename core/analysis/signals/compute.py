"""All ranking signals of one split, each family cached on disk.

:func:`compute_signals` returns one row per sample: one float column per signal (higher = the given
label more likely wrong) and, where a family proposes one, a ``*_suggest`` column naming a class.
Each family's arrays are cached under ``<cache_dir>/signals/<key>.npz``; the key hashes the family,
its parameters (:data:`core.analysis.signals.CACHE_PARAMS`), the texts, the labels and (for the
families that use it) the classifier's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: Signal families in the order they are computed; those needing the classifier are skipped without one.
FAMILIES = ("negation", "lexicon", "zero_shot", "knn", "oof_embed", "aum", "oof_tfidf", "oof_context", "target",
            "probes")
NEEDS_MODEL = frozenset({"probes"})


def _digest(parts: list) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()[:24]


class SignalCache:
    """``.npz`` files of named arrays under ``<cache_dir>/signals`` (no pickles); ``None`` disables it."""

    def __init__(self, cache_dir: str | Path | None) -> None:
        self.root = Path(cache_dir).expanduser() / "signals" if cache_dir is not None else None

    def get(self, key: str, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """The arrays cached under ``key``, else ``make()``'s, written atomically."""
        if self.root is not None:
            path = self.root / f"{key}.npz"
            if path.is_file():
                try:
                    with np.load(path, allow_pickle=False) as z:
                        return {k: z[k] for k in z.files}
                except (OSError, ValueError) as exc:
                    log.warning("rebuilding unreadable signal cache %s: %s", path, exc)
        out = make()
        if self.root is not None:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                tmp = self.root / f".{key}.tmp.npz"
                np.savez(tmp, **out)
                tmp.replace(self.root / f"{key}.npz")
            except OSError as exc:
                log.warning("could not write the signal cache in %s: %s", self.root, exc)
        return out


def _suggest_names(ids: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    names = np.array([*class_names, ""], dtype=object)
    ids = np.asarray(ids, dtype=np.int64)
    return names[np.where(ids < 0, len(class_names), ids)]


def _family(name: str, ctx: dict) -> dict[str, np.ndarray]:
    """One family's columns (float arrays, and ``*_suggest`` class ids)."""
    from core.analysis.signals import aum, judges, knn, negation, oof

    texts, labels, y, k, names = ctx["texts"], ctx["labels"], ctx["y"], len(ctx["names"]), ctx["names"]
    if name == "negation":
        return {"neg_rule": negation.rule_scores(texts, labels), "neg_parse": ctx["parsed"]()["neg_parse"],
                "neg_any": negation.any_negator(texts)}
    if name == "target":
        return {"cue_target": ctx["parsed"]()["cue_target"]}
    if name == "lexicon":
        out = judges.lexicon_vote(texts, y, names)
        return {"lex_not_given": out["not_given"], "lex_suggest": out["suggest"]}
    if name == "zero_shot":
        out = judges.zero_shot(ctx["embeddings"](), y, names)
        return {"zs_not_given": out["not_given"], "zs_margin": out["margin"], "zs_suggest": out["suggest"]}
    if name == "knn":
        enc = knn.disagreeing_share(ctx["embeddings"](), y, k)
        out = {"knn_disagree_enc": enc["share"], "knn_enc_suggest": enc["suggest"]}
        if ctx["hidden"] is not None:
            out["knn_disagree_cls"] = knn.disagreeing_share(ctx["hidden"], y, k)["share"]
        return out
    if name == "aum":
        return {"aum": aum.aum_scores(ctx["embeddings"](), y, k)}
    if name in ("oof_embed", "oof_tfidf", "oof_context"):
        probs = (oof.embedding_oof(ctx["embeddings"](), y, k) if name == "oof_embed"
                 else oof.tfidf_oof(texts, y, k, context_only=name == "oof_context"))
        not_given, margin = oof.given_scores(probs, y)
        return {name: not_given, f"{name}_margin": margin, f"{name}_suggest": probs.argmax(axis=1)}
    if name == "probes":
        from core.analysis.signals.probes import probe_scores

        return probe_scores(ctx["classifier"], texts, labels, ctx["base_probs"])
    raise ValueError(f"unknown signal family {name!r}; choose from {FAMILIES}")


class _Context(dict):
    """The inputs every family reads, with the sentence embeddings and the parse made once, on first use."""

    def __init__(self, cache: SignalCache, data_key: list, **inputs) -> None:
        super().__init__(inputs, embeddings=self.embeddings, parsed=self.parsed)
        self.cache, self.data_key, self._emb, self._parsed = cache, data_key, None, None

    def embeddings(self) -> np.ndarray:
        """(N, 384) sentence-encoder embeddings of the texts, cached on disk."""
        if self._emb is None:
            from core.analysis.signals import CACHE_PARAMS
            from core.analysis.signals.encoder import embed

            key = _digest(["encoder", CACHE_PARAMS["encoder"], self.data_key[0]])
            report = self["progress"]
            step = (lambda d, t: report("signals: sentence embeddings", d, t)) if report else None
            self._emb = self.cache.get(key, lambda: {"x": embed(self["texts"], progress=step)})["x"]
        return self._emb

    def parsed(self) -> dict[str, np.ndarray]:
        """``neg_parse`` and ``cue_target`` from one spaCy pass (both parse families use it)."""
        if self._parsed is None:
            from core.analysis.signals.target import parse_signals

            self._parsed = parse_signals(self["texts"], self["labels"])
        return self._parsed


def _check_inputs(texts: list, labels: list, names: list, families: Sequence[str]) -> None:
    bad = sorted(set(families) - set(FAMILIES))
    if bad:
        raise ValueError(f"unknown signal families {bad}; choose from {list(FAMILIES)}")
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {names}")


def compute_signals(
    texts: Sequence[str], labels: Sequence[str], class_names: Sequence[str], *,
    hidden: np.ndarray | None = None, classifier=None, base_probs: np.ndarray | None = None,
    cache_dir: str | Path | None = None, families: Sequence[str] = FAMILIES, verbose: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every signal of one split: ``(table, seconds per family)``.

    ``labels``: (N,) given class names, each in ``class_names``. ``hidden``: the classifier's (N, H)
    [CLS] states (for ``knn_disagree_cls``). ``classifier`` and ``base_probs`` (its (N, K)
    probabilities) are needed by the probes; without them that family is skipped.
    ``progress("signals", done, total)`` is called before the first family and after each, and
    ``progress("signals: sentence embeddings", done, total)`` while the texts are embedded.
    """
    from core.analysis.signals import CACHE_PARAMS

    texts, labels, names = list(texts), list(labels), list(class_names)
    _check_inputs(texts, labels, names, families)
    index = {c: j for j, c in enumerate(names)}
    cache = SignalCache(cache_dir)
    data_key = [_digest(texts), _digest(labels), names]
    ctx = _Context(cache, data_key, texts=texts, labels=labels, names=names, hidden=hidden, classifier=classifier,
                   base_probs=base_probs, y=np.array([index[c] for c in labels], dtype=np.int64), progress=progress)
    table, seconds = pd.DataFrame(index=pd.RangeIndex(len(texts))), {}
    todo = [f for f in families if f not in NEEDS_MODEL or (classifier is not None and base_probs is not None)]
    if progress:
        progress("signals", 0, len(todo))
    for done, fam in enumerate(todo, 1):
        start = time.perf_counter()
        extra = [getattr(classifier, "fingerprint", None)] if fam in NEEDS_MODEL else []
        if fam == "knn" and hidden is not None:
            extra.append(hashlib.sha256(np.ascontiguousarray(hidden, dtype=np.float32).tobytes()).hexdigest())
        key = _digest([fam, CACHE_PARAMS.get(fam, {}), *data_key, *extra])
        cols = cache.get(key, lambda fam=fam: _family(fam, ctx))
        for col, values in cols.items():
            table[col] = _suggest_names(values, names) if col.endswith("_suggest") else values.astype(np.float32)
        seconds[fam] = round(time.perf_counter() - start, 2)
        if verbose:
            print(f"signals: {fam} in {seconds[fam]:.1f} s", file=sys.stderr, flush=True)
        if progress:
            progress("signals", done, len(todo))
    return table, seconds
