"""All ranking signals of one split, each family cached on disk.

:func:`compute_signals` returns one row per sample: one float column per signal (higher = the given
label more likely wrong) and, where a family proposes one, a ``*_suggest`` column naming a class.
The families are those of :mod:`core.analysis.signals.registry`. Each family's arrays are cached under
``<cache_dir>/signals/<key>.npz``; the key hashes the family, everything that shapes its values
(:func:`core.analysis.signals.context.family_params`: its parameters and word lists, the encoder's and
the parser's identity, whether an optional resource is installed), the texts, the labels and (for the
families that read them) the classifier's fingerprint and [CLS] states.
"""

from __future__ import annotations

import logging
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from core.analysis.signals.context import SignalContext, digest_parts, family_params
from core.analysis.signals.registry import families as registered
from core.analysis.signals.resources import missing_notes
from core.files import write_atomic

log = logging.getLogger(__name__)

#: The built-in signal families, in the order they are computed; those needing the classifier are skipped
#: without one. A family registered later is computed when named (``families=``).
FAMILIES: tuple[str, ...] = tuple(registered())
NEEDS_MODEL = frozenset(name for name, fam in registered().items() if fam.needs_model)
#: What reading a damaged ``.npz`` raises (truncated, not a zip, a bad member): the file is rebuilt.
UNREADABLE = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would add ".npz" to the temporary name
        np.savez(f, **arrays)


class SignalCache:
    """``.npz`` files of named arrays under ``<cache_dir>/signals`` (no pickles); ``None`` disables it."""

    def __init__(self, cache_dir: str | Path | None) -> None:
        self.root = Path(cache_dir).expanduser() / "signals" if cache_dir is not None else None

    def get(self, key: str, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """The arrays cached under ``key``, else ``make()``'s, written atomically (an unreadable file is rebuilt)."""
        if self.root is not None:
            path = self.root / f"{key}.npz"
            if path.is_file():
                try:
                    with np.load(path, allow_pickle=False) as z:
                        return {k: z[k] for k in z.files}
                except UNREADABLE as exc:
                    log.warning("rebuilding unreadable signal cache %s: %s", path, exc)
        out = make()
        if self.root is not None:
            try:
                write_atomic(self.root / f"{key}.npz", lambda tmp: _savez(tmp, out))
            except OSError as exc:
                log.warning("could not write the signal cache in %s: %s", self.root, exc)
        return out


def _suggest_names(ids: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    names = np.array([*class_names, ""], dtype=object)
    ids = np.asarray(ids, dtype=np.int64)
    return names[np.where(ids < 0, len(class_names), ids)]


def _check_inputs(texts: list, labels: list, names: list, families: Sequence[str]) -> None:
    known = registered()
    bad = sorted(set(families) - set(known))
    if bad:
        raise ValueError(f"unknown signal families {bad}; choose from {list(known)}")
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {names}")


def signal_notes(families: Sequence[str]) -> list[str]:
    """One line per optional resource that ``families`` go without (not installed), for the analysis's warnings."""
    known = registered()
    return missing_notes({f: known[f].optional for f in families if f in known})


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
    texts, labels, names = list(texts), list(labels), list(class_names)
    _check_inputs(texts, labels, names, families)
    for note in signal_notes(families):
        log.warning(note)
    index = {c: j for j, c in enumerate(names)}
    cache = SignalCache(cache_dir)
    data_key = [digest_parts(texts), digest_parts(labels), names]
    y = np.array([index[c] for c in labels], dtype=np.int64)
    ctx = SignalContext(cache, data_key, texts=texts, labels=labels, names=names, y=y, hidden=hidden,
                        classifier=classifier, base_probs=base_probs, progress=progress)
    table, seconds = pd.DataFrame(index=pd.RangeIndex(len(texts))), {}
    known = registered()
    todo = [f for f in families if not known[f].needs_model or (classifier is not None and base_probs is not None)]
    if progress:
        progress("signals", 0, len(todo))
    for done, fam in enumerate(todo, 1):
        start = time.perf_counter()
        key = digest_parts([fam, family_params(fam), *data_key, *ctx.input_key(fam)])
        cols = cache.get(key, lambda fam=fam: known[fam].compute(ctx))
        for col, values in cols.items():
            table[col] = _suggest_names(values, names) if col.endswith("_suggest") else values.astype(np.float32)
        seconds[fam] = round(time.perf_counter() - start, 2)
        if verbose:
            print(f"signals: {fam} in {seconds[fam]:.1f} s", file=sys.stderr, flush=True)
        if progress:
            progress("signals", done, len(todo))
    return table, seconds
