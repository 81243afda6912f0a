"""Load the emotion data: a Hub dataset id, or a local folder of ``text;label``, CSV or parquet splits.

Label order
-----------
1. ClassLabel names when the data carries them (Hub datasets; parquet exported from the Hub).
2. Otherwise, when every name is one of the six emotions, the Hub's order:
   sadness, joy, love, anger, fear, surprise.
3. Otherwise the names sorted alphabetically.
Integer labels without names are kept as ids; their names come from the caller (the model config),
or are ``"0" .. "K-1"``.

Malformed lines are never dropped silently: each one is kept in :attr:`Split.issues` with its line
number and reason, and :meth:`Split.issue_summary` says how many of each kind there were.

Columns
-------
CSV and parquet splits (and Hub datasets) read the ``text`` and ``label`` columns unless told other
names (``text_column=`` / ``label_column=``; ``--text-column`` / ``--label-column`` on every command
line). ``text;label`` files have no columns.

Example
-------
>>> import tempfile
>>> tmp = tempfile.TemporaryDirectory()
>>> folder = Path(tmp.name)
>>> _ = (folder / "validation.csv").write_text("tweet,emotion\\ni am so happy,joy\\nthis is scary,fear\\n")
>>> data = load_splits(folder, splits=("validation",), text_column="tweet", label_column="emotion")
>>> data["validation"].texts, data.label_names
(['i am so happy', 'this is scary'], ['joy', 'fear'])
>>> load_splits(folder, splits=("validation",))
Traceback (most recent call last):
...
core.data.parsing.DataError: ...validation.csv: no 'text' and 'label' columns; found ['tweet', 'emotion']. ...
>>> tmp.cleanup()
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.parsing import (  # noqa: F401 (DataError, ParseIssue and the parsers are importable from here)
    EMOTION_LABELS,
    FORMATS,
    LABEL_COLUMN,
    MAX_DATA_FILE_BYTES,
    TEXT_COLUMN,
    DataError,
    ParseIssue,
    labels_to_ids,
    missing_columns,
    order_label_names,
    parquet_label_names,
    parse_text_label_lines,
    read_rows,
)

SPLITS: tuple[str, ...] = ("train", "validation", "test")


@dataclass
class Split:
    """One split: texts and integer label ids, with where they came from and what was skipped.

    Attributes
    ----------
    texts : list of N strings.
    labels : (N,) int64 label ids, indexes into the dataset's ``label_names``.
    lines : (N,) 1-based line (row) of each sample in ``source``, or ``None`` (Hub data).
    """

    name: str
    texts: list[str]
    labels: np.ndarray
    source: str
    format: str
    fingerprint: str
    issues: list[ParseIssue] = field(default_factory=list)
    lines: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def issue_summary(self) -> str:
        """A one-line report, e.g. ``"3 lines skipped in validation.txt: 2 no separator (lines 4, 9) ..."``."""
        if not self.issues:
            return ""
        by_reason: dict[str, list[int]] = {}
        for issue in self.issues:
            by_reason.setdefault(issue.reason, []).append(issue.line)
        parts = []
        for reason, lines in by_reason.items():
            shown = ", ".join(map(str, lines[:10])) + (", ..." if len(lines) > 10 else "")
            parts.append(f"{len(lines)} {reason} (line{'s' if len(lines) > 1 else ''} {shown})")
        return f"{len(self.issues)} lines skipped in {Path(self.source).name}: " + "; ".join(parts)


@dataclass
class EmotionData:
    """Splits by name plus the label names shared by all of them."""

    splits: dict[str, Split]
    label_names: list[str]
    source: str
    names_from_data: bool = True
    text_column: str = TEXT_COLUMN
    label_column: str = LABEL_COLUMN

    def __getitem__(self, split: str) -> Split:
        if split not in self.splits:
            raise DataError(f"split {split!r} not loaded from {self.source}; have {sorted(self.splits)}")
        return self.splits[split]

    def frame(self, split: str) -> pd.DataFrame:
        """``text`` and ``label`` (as names) for one split."""
        s = self[split]
        return pd.DataFrame({"text": s.texts, "label": [self.label_names[i] for i in s.labels]})

    def label_origin(self, name: str) -> str:
        """Where label ``name`` first occurs, e.g. ``"line 7 of data/validation.txt"`` (for error messages)."""
        if name in self.label_names:
            k = self.label_names.index(name)
            for s in self.splits.values():
                hit = np.flatnonzero(s.labels == k)
                if len(hit):
                    return f"line {int(s.lines[hit[0]])} of {s.source}" if s.lines is not None else s.source
        return self.source


def _fingerprint_bytes(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()[:16]


def _find_split_file(folder: Path, split: str) -> Path | None:
    candidates = [folder / f"{split}.{ext}" for ext in FORMATS] + [folder / "parquet" / f"{split}.parquet"]
    return next((p for p in candidates if p.is_file()), None)


def read_split_file(
    path: Path, *, split: str, label_names: Sequence[str] | None = None, text_column: str = TEXT_COLUMN,
    label_column: str = LABEL_COLUMN,
) -> tuple[Split, list[str] | None]:
    """Read one split file (``.txt`` ``text;label``, ``.csv`` or ``.parquet``).

    ``text_column`` and ``label_column`` name the columns of a CSV or parquet file.
    Returns the split and the label names the file itself carries or implies (``None`` for
    integer labels without names).
    """
    path = Path(path)
    frame, issues, carried = read_rows(path, text_column=text_column, label_column=label_column)
    names = list(label_names) if label_names is not None else carried
    ids, names, label_issues = labels_to_ids(frame["label"], names, path, frame["line"].to_numpy())
    issues = sorted(issues + label_issues, key=lambda i: i.line)
    good = ~frame["line"].isin({i.line for i in label_issues}).to_numpy()
    texts = frame["text"].to_numpy()[good].tolist()
    if not texts:
        why = f"; {len(issues)} lines were skipped" if issues else " (the file is empty)"
        raise DataError(f"{path}: no usable rows in split {split!r}{why}")
    fmt = path.suffix.lstrip(".").lower()
    columns = b"" if fmt == "txt" or (text_column, label_column) == (TEXT_COLUMN, LABEL_COLUMN) else (
        json.dumps([text_column, label_column]).encode())
    fingerprint = _fingerprint_bytes(path.read_bytes(), columns)
    lines = frame["line"].to_numpy(dtype=np.int64)[good]
    return Split(split, texts, ids, str(path), fmt, fingerprint, issues, lines), names


def _folder_label_names(
    folder: Path, splits: Sequence[str], text_column: str, label_column: str
) -> tuple[list[str] | None, dict[Path, tuple[Split, list[str] | None]]]:
    """The label set over every split file in ``folder`` (not only the loaded ones), so which rows load
    does not depend on which splits are asked for: a parquet file's ClassLabel names first, in their order,
    then the other names found, in the order of :func:`order_label_names`. ``None`` for integer labels only.

    Also returns each file's read (split, its own names), which the caller reuses where those names are
    the final ones, so a file is read once in the common case (every split holds every label)."""
    paths = [p for p in dict.fromkeys(_find_split_file(folder, s) for s in (*splits, *SPLITS)) if p is not None]
    fixed: list[str] = []
    for path in paths:
        if path.suffix == ".parquet" and not fixed:
            fixed = parquet_label_names(path, label_column) or []
    reads: dict[Path, tuple[Split, list[str] | None]] = {}
    for path in paths:
        try:
            reads[path] = read_split_file(path, split=path.stem, text_column=text_column, label_column=label_column)
        except DataError:
            continue  # a broken file the caller did not ask for; one it asked for fails when read
    found = [n for _, names in reads.values() for n in names or []]
    rest = [n for n in dict.fromkeys(found) if n not in fixed]
    if not fixed and not rest:
        return None, reads
    return (fixed + order_label_names(rest) if rest else fixed), reads


def _load_local(
    folder: Path, splits: Sequence[str], label_names: Sequence[str] | None, text_column: str, label_column: str
) -> EmotionData:
    files = {s: _find_split_file(folder, s) for s in splits}
    missing = [s for s, p in files.items() if p is None]
    if missing:
        present = sorted(p.name for p in folder.iterdir() if p.is_file())
        raise DataError(
            f"{folder}: no file for split(s) {missing}; expected <split>.txt, .csv or .parquet "
            f"(found: {present or 'nothing'})"
        )
    reads: dict[Path, tuple[Split, list[str] | None]] = {}
    if label_names is not None:
        names: list[str] | None = list(label_names)
    else:
        names, reads = _folder_label_names(folder, splits, text_column, label_column)
    loaded: dict[str, Split] = {}
    names_from_data = True
    for s in splits:
        earlier = reads.get(files[s])  # type: ignore[arg-type]
        if earlier is not None and earlier[1] is not None and earlier[1] == names:
            split, file_names = earlier  # read with exactly these names already
        else:
            split, file_names = read_split_file(files[s], split=s, label_names=names,  # type: ignore[arg-type]
                                                text_column=text_column, label_column=label_column)
        if names is None and file_names is not None:
            names = file_names
        loaded[s] = split
    if names is None:
        names_from_data = False
        k = int(max(int(s.labels.max()) for s in loaded.values())) + 1
        names = [str(i) for i in range(k)]
    return EmotionData({s: loaded[s] for s in splits}, names, str(folder), names_from_data, text_column, label_column)


def _load_hub(dataset_id: str, splits: Sequence[str], text_column: str, label_column: str) -> EmotionData:
    import datasets

    try:
        ds = datasets.load_dataset(dataset_id)
    except Exception as exc:
        raise DataError(
            f"could not load the dataset {dataset_id!r} from the Hugging Face Hub ({type(exc).__name__}: "
            f"{str(exc)[:300]}). Without internet, pass a local folder with train/validation/test files, "
            "e.g. --data ../shared/emotion"
        ) from None
    features = ds[next(iter(ds))].features
    if not {text_column, label_column} <= set(features):
        raise missing_columns(dataset_id, list(features), text_column, label_column)
    names = list(getattr(features[label_column], "names", None) or [])
    loaded = {}
    for s in splits:
        if s not in ds:
            raise DataError(f"{dataset_id}: no split {s!r}; has {list(ds)}")
        part = ds[s]
        loaded[s] = Split(s, list(part[text_column]), np.asarray(part[label_column], dtype=np.int64),
                          f"{dataset_id}:{s}", "hub", str(part._fingerprint))
    columns = {"text_column": text_column, "label_column": label_column}
    if not names:
        k = int(max(int(s.labels.max()) for s in loaded.values())) + 1
        return EmotionData(loaded, [str(i) for i in range(k)], dataset_id, names_from_data=False, **columns)
    return EmotionData(loaded, names, dataset_id, **columns)


def load_splits(
    source: str | Path,
    *,
    splits: Sequence[str] = SPLITS,
    label_names: Sequence[str] | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
) -> EmotionData:
    """Load splits from a local folder, or a Hub dataset id when no such folder exists.

    Parameters
    ----------
    source : folder holding ``<split>.txt|csv|parquet`` (or ``parquet/<split>.parquet``), or a Hub id
        such as ``dair-ai/emotion``.
    splits : which splits to load.
    label_names : names for integer labels, and the set a text label must belong to.
    text_column, label_column : the columns of CSV, parquet and Hub data (default ``text`` and
        ``label``; ``Settings.text_column`` / ``Settings.label_column``).

    Raises
    ------
    DataError : a missing split, a binary or empty file, a split with no usable rows, or data without
        the text or label column; the message names the file and the line, or the columns found.
    """
    if not splits:
        raise ValueError("splits must name at least one split")
    text_column, label_column = text_column or TEXT_COLUMN, label_column or LABEL_COLUMN
    path = Path(source).expanduser()
    if path.is_dir():
        return _load_local(path, splits, label_names, text_column, label_column)
    if path.is_file():
        raise DataError(f"{path}: --data takes a folder of split files or a Hub id, not a single file")
    if str(source).startswith((".", "/", "~")) or str(source).count("/") != 1:
        raise DataError(f"{source}: no such data folder (and not a Hub id like 'dair-ai/emotion')")
    return _load_hub(str(source), splits, text_column, label_column)


def write_split(
    frame: pd.DataFrame, path: Path, *, fmt: str, label_names: Sequence[str], text_column: str = TEXT_COLUMN,
    label_column: str = LABEL_COLUMN,
) -> Path:
    """Write ``text`` and ``label`` (names) in ``fmt`` so that :func:`load_splits` reads it back.

    ``txt`` writes ``text;label`` lines; ``csv`` a header and two columns; ``parquet`` integer labels
    with the ClassLabel names in the schema (``datasets.Features``), as the Hub exports them. CSV and
    parquet name their columns ``text_column`` and ``label_column``.
    """
    path = Path(path)
    texts = frame["text"].astype(str).str.replace(r"[\r\n]+", " ", regex=True)
    if fmt == "txt":
        path.write_text("".join(f"{t};{lab}\n" for t, lab in zip(texts, frame["label"], strict=True)), encoding="utf-8")
    elif fmt == "csv":
        pd.DataFrame({text_column: texts, label_column: frame["label"]}).to_csv(path, index=False)
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        from datasets import ClassLabel, Features, Value

        features = Features({text_column: Value("string"), label_column: ClassLabel(names=list(label_names))})
        ids = features[label_column].str2int(frame["label"].astype(str).tolist())
        table = pa.table({text_column: texts.tolist(), label_column: ids}, schema=features.arrow_schema)
        pq.write_table(table, path)
    else:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
    return path


def data_fingerprint(data: EmotionData, split: str) -> str:
    """A content fingerprint of one split and the label names (for cache keys)."""
    s = data[split]
    return _fingerprint_bytes(s.fingerprint.encode(), json.dumps(data.label_names).encode())
