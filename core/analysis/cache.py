"""On-disk cache of analyses: ``<cache_dir>/analysis/<key>/{table.parquet, hidden.npy, meta.json}``.

The key hashes the model fingerprint, the data fingerprint, the split, the tokens kept per text
(``max_length``), the inference backend and the parameters that shape the stored columns, so a changed
model, data, truncation or parameter gets a new entry.

Parameters, not a version number
--------------------------------
Every module under ``core/`` that computes stored columns declares what shapes them in a module-level
dict ``ANALYSIS_PARAMS`` (ranking weights, UMAP epochs, neighbour method, a short description of a
formula...). :func:`analysis_params` finds those modules by reading the source tree (a top-level
``ANALYSIS_PARAMS = ...`` assignment), imports them and collects the dicts; :func:`analysis_digest`
hashes them into every key and into each entry's ``meta.json`` (``analysis_params``), so an edited
weight can never serve numbers computed with the old one: the old entry is simply not found, and a
published analysis (``assets/`` or the sync target) with another digest is refused and rebuilt.

To add a signal column: compute it in a module under ``core/`` and give that module
``ANALYSIS_PARAMS = {"my_signal": {"k": MY_K, "formula": "what it computes"}}`` built from the
constants the code uses (values must be JSON-able). Nothing else needs editing; change a value (or the
formula text, when the code changes what it computes) and every cached analysis is rebuilt.
An entry is written into a temporary folder and renamed into place, so a reader never sees a
half-written entry; an entry that fails to read back (truncated parquet, foreign meta.json, wrong
shapes) is reported as unusable and rebuilt.
Nothing is pickled: parquet, ``.npy`` with ``allow_pickle=False``, and JSON.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.files import staged_folder

TABLE, HIDDEN, META = "table.parquet", "hidden.npy", "meta.json"
CORE = Path(__file__).resolve().parents[1]
#: The stored layout itself (files, the states' dtype): part of the parameters like any module's.
ANALYSIS_PARAMS = {"files": [TABLE, HIDDEN, META], "hidden_dtype": "float32"}


def declaring_modules(root: Path = CORE, package: str = "core") -> list[str]:
    """Dotted names of the modules under ``root`` (the package ``package``) with a top-level
    ``ANALYSIS_PARAMS`` assignment, sorted; found by reading the source, nothing is imported."""
    names = []
    for path in sorted(Path(root).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "ANALYSIS_PARAMS" not in text:
            continue
        for node in ast.parse(text).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == "ANALYSIS_PARAMS" for t in targets):
                parts = path.relative_to(root).with_suffix("").parts
                names.append(".".join((package, *(parts[:-1] if parts[-1] == "__init__" else parts))))
                break
    return names


@functools.lru_cache(maxsize=1)
def analysis_params() -> dict[str, object]:
    """``{module: its ANALYSIS_PARAMS}`` for every declaring module under ``core/`` (imported here)."""
    return {name: importlib.import_module(name).ANALYSIS_PARAMS for name in declaring_modules()}


def analysis_digest(params: dict | None = None) -> str:
    """16 hex digits of the SHA-256 of ``params`` (default :func:`analysis_params`) as sorted JSON."""
    params = analysis_params() if params is None else params
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def cache_key(model_fp: str, data_fp: str, split: str, max_length: int, backend: str = "torch") -> str:
    """A short hash naming one analysis entry; another truncation or inference backend is another entry.

    >>> cache_key("m", "d", "validation", 512) == cache_key("m", "d", "validation", 512)
    True
    >>> cache_key("m", "d", "validation", 512) == cache_key("m", "d", "validation", 64)
    False
    >>> cache_key("m", "d", "validation", 512) == cache_key("m", "d", "validation", 512, "torch-bf16")
    False
    """
    parts = [analysis_digest(), model_fp, data_fp, split, int(max_length)]
    raw = json.dumps(parts if backend == "torch" else [*parts, backend])
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


@dataclass
class CachedAnalysis:
    """An analysis read back from (or just written to) the cache."""

    table: pd.DataFrame
    hidden: np.ndarray
    meta: dict
    path: Path | None


class AnalysisCache:
    """Reads and writes analysis entries under one cache folder."""

    def __init__(self, cache_dir: str | Path) -> None:
        self.root = Path(cache_dir).expanduser() / "analysis"

    def entry(self, key: str) -> Path:
        """The folder of one entry."""
        return self.root / key

    def load(self, key: str, *, expect: dict) -> tuple[CachedAnalysis | None, str]:
        """Read an entry; returns ``(analysis, "")`` or ``(None, why it is unusable)``.

        ``expect`` holds meta fields that must match (model and data fingerprints, split).
        """
        folder = self.entry(key)
        if not folder.is_dir():
            return None, "no cached analysis"
        try:
            meta = json.loads((folder / META).read_text())
            for field, value in expect.items():
                if meta.get(field) != value:
                    return None, f"meta.json is for another {field} ({meta.get(field)!r})"
            table = pd.read_parquet(folder / TABLE)
            # memory-mapped, read-only: at 400,000 rows the states are 600 MB, read only where used
            hidden = np.load(folder / HIDDEN, allow_pickle=False, mmap_mode="r")
        except Exception as exc:  # any read failure means: rebuild
            return None, f"unreadable cache entry ({type(exc).__name__}: {str(exc)[:120]})"
        n = int(meta.get("n_rows", -1))
        if len(table) != n or hidden.shape[0] != n or hidden.ndim != 2:
            return None, f"cache entry has inconsistent sizes (table {len(table)}, hidden {hidden.shape}, meta {n})"
        missing = {"text", "label", "pred", "loss", "umap_x", "umap_y", "mislabel_score"} - set(table.columns)
        if missing:
            return None, f"cache table lacks columns {sorted(missing)}"
        return CachedAnalysis(table, hidden, meta, folder), ""

    def save(self, key: str, table: pd.DataFrame, hidden: np.ndarray, meta: dict) -> Path:
        """Write an entry atomically (temporary folder, then rename); returns its folder."""
        final = self.entry(key)
        with staged_folder(final, fsync=True) as tmp:
            table.to_parquet(tmp / TABLE, index=False)
            np.save(tmp / HIDDEN, np.ascontiguousarray(hidden, dtype=np.float32), allow_pickle=False)
            (tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True))
        return final
