"""Precomputed analyses: fetch an ``analysis/<key>/`` entry (as :class:`core.analysis.cache.AnalysisCache` writes
it) from the repository's ``assets/`` or a sync target into the local cache, so a Space does not recompute what
was computed before it started; and publish one there.

The target is an fsspec URL, the review sync target (:mod:`core.review.sync`) in the app: ``file:///path`` or
``hf://datasets/<owner>/<repo>``. URLs are shown and logged without their credentials (:mod:`core.redact`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.analysis.cache import HIDDEN, META, TABLE
from core.files import staged_folder
from core.redact import redact_text, redact_url

__all__ = ["ASSETS_DIR", "find_precomputed", "publish_precomputed"]

log = logging.getLogger(__name__)

ANALYSIS_DIR = "analysis"
ANALYSIS_FILES = (TABLE, HIDDEN, META)
ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"


def _open(url: str):
    """``(filesystem, root path)`` of an fsspec URL; ``ValueError`` with a clear message when it is not one."""
    import fsspec

    if not url or "://" not in url:
        raise ValueError(f"precomputed-analysis target {redact_url(url or '')!r} is not a URL; use file:///path or "
                         "hf://datasets/owner/repo")
    fs, root = fsspec.core.url_to_fs(url)
    return fs, root.rstrip("/")


def find_precomputed(
    key: str, *, cache_dir: str | Path, url: str | None = None, assets_dir: str | Path | None = ASSETS_DIR
) -> Path | None:
    """Copy a precomputed ``analysis/<key>/`` into ``<cache_dir>/analysis/<key>/``; its path, or ``None``.

    Looks in ``assets_dir`` (the repository's ``assets/``) first, then at the sync target ``url``.
    Nothing is copied when the cache already has the entry or neither source has all three files.
    The caller validates the copy as any cache entry (:meth:`core.analysis.cache.AnalysisCache.load`), so a
    stale or foreign one is rebuilt. Errors are logged and give ``None``: the analysis is then computed.
    """
    if not key or "/" in key or key.startswith("."):
        raise ValueError(f"bad analysis key {key!r}")
    final = Path(cache_dir).expanduser() / ANALYSIS_DIR / key
    if final.exists():
        return None
    sources = []
    if assets_dir is not None:
        sources.append(("file", str(Path(assets_dir) / ANALYSIS_DIR / key)))
    if url:
        sources.append((url, None))
    for source, local in sources:
        try:
            if local is not None:
                import fsspec

                fs, folder = fsspec.filesystem("file"), local
            else:
                fs, root = _open(source)
                folder = f"{root}/{ANALYSIS_DIR}/{key}"
            if not all(fs.exists(f"{folder}/{name}") for name in ANALYSIS_FILES):
                continue
            with staged_folder(final, replace=False) as tmp:  # another process may have fetched it first
                for name in ANALYSIS_FILES:
                    fs.get_file(f"{folder}/{name}", str(tmp / name))
            log.info("using the precomputed analysis %s from %s", key, local or redact_url(source))
            return final
        except Exception as exc:  # a source that fails is skipped; the analysis is computed instead
            log.warning("could not fetch the precomputed analysis %s from %s: %s", key, local or redact_url(source),
                        redact_text(str(exc), source))
    return None


def publish_precomputed(key: str, *, cache_dir: str | Path, url: str) -> str:
    """Upload a cached ``analysis/<key>/`` to the sync target ``url`` (for :func:`find_precomputed`); its path."""
    folder = Path(cache_dir).expanduser() / ANALYSIS_DIR / key
    missing = [n for n in ANALYSIS_FILES if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {missing}; run python -m core.analysis.precompute first")
    fs, root = _open(url)
    dest = f"{root}/{ANALYSIS_DIR}/{key}"
    fs.makedirs(dest, exist_ok=True)
    for name in ANALYSIS_FILES:
        fs.put_file(str(folder / name), f"{dest}/{name}")
    return dest
