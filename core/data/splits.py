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
core.data.splits.DataError: ...validation.csv: no 'text' and 'label' columns; found ['tweet', 'emotion']. Name yours ...
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

EMOTION_LABELS: tuple[str, ...] = ("sadness", "joy", "love", "anger", "fear", "surprise")
SPLITS: tuple[str, ...] = ("train", "validation", "test")
FORMATS: tuple[str, ...] = ("txt", "csv", "parquet")
TEXT_COLUMN, LABEL_COLUMN = "text", "label"
MAX_DATA_FILE_BYTES = 512 * 1024 * 1024


class DataError(ValueError):
    """A data source that cannot be used; the message names the file and, where known, the line."""


@dataclass(frozen=True)
class ParseIssue:
    """One input line that was not used, with its 1-based line number and the reason."""

    line: int
    reason: str
    content: str


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


# ---------------------------------------------------------------------------------------------
# Parsing


def order_label_names(names: Sequence[str]) -> list[str]:
    """The documented, stable order for label names read from text (see the module docstring)."""
    unique = set(names)
    if unique <= set(EMOTION_LABELS):
        return [n for n in EMOTION_LABELS if n in unique]
    return sorted(unique)


def _read_text_lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise DataError(f"{path}: not a text file (NUL byte on line {line})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}: not UTF-8 text (bad byte on line {line})") from None
    return text.splitlines()


def parse_text_label_lines(
    lines: Sequence[str], *, label_names: Sequence[str] | None = None
) -> tuple[pd.DataFrame, list[ParseIssue]]:
    """Parse ``text;label`` lines. Text may itself contain ``;``: the label is after the last one.

    Parameters
    ----------
    lines : the file's lines, without line ends.
    label_names : when given, a label must be one of these names or an integer index into them;
        anything else is reported as ``unknown label``.

    Returns
    -------
    frame : columns ``line`` (1-based), ``text``, ``label`` (the raw label string) for good lines.
    issues : one :class:`ParseIssue` per skipped line.
    """
    if not len(lines):
        return pd.DataFrame({"line": np.zeros(0, dtype=np.int64), "text": [], "label": []}), []
    # Plain list comprehensions: pandas' object-dtype .str methods took 1.5 s at 400,000 lines, these 0.2 s.
    # A line is good when it has a text and a label (an empty line or one without ';' has no text);
    # only the others are looked at again, for the reason.
    parts = [line.rpartition(";") for line in lines]
    texts = [p[0].strip() for p in parts]
    labels = [p[2].strip() for p in parts]
    known = set(label_names) | {str(i) for i in range(len(label_names))} if label_names is not None else None
    if known is None:
        good = np.array([bool(t and label) for t, label in zip(texts, labels, strict=True)], dtype=bool)
    else:
        good = np.array([bool(t) and label in known for t, label in zip(texts, labels, strict=True)], dtype=bool)
    bad = np.flatnonzero(~good)
    issues = [ParseIssue(int(i) + 1, _parse_reason(lines[i], parts[i][1], texts[i], labels[i], known),
                         str(lines[i])[:200]) for i in bad]
    if len(bad):
        keep = np.flatnonzero(good)
        texts = [texts[i] for i in keep]
        labels = [labels[i] for i in keep]
    else:
        keep = np.arange(len(lines))
    frame = pd.DataFrame({"line": (keep + 1).astype(np.int64),
                          "text": pd.Series(texts, dtype="object"),
                          "label": pd.Series(labels, dtype="object")})
    return frame, issues


def _parse_reason(line: str, sep: str, text: str, label: str, known: set[str] | None) -> str:
    """Why a ``text;label`` line was skipped."""
    if not line.strip():
        return "empty line"
    if not sep:
        return "no separator"
    if not text:
        return "empty text"
    if not label:
        return "empty label"
    return "unknown label" if known is not None and label not in known else ""


def _fingerprint_bytes(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()[:16]


def _parquet_label_names(path: Path, label_column: str) -> list[str] | None:
    """The ClassLabel names that ``datasets`` stored in the file's schema for ``label_column``, if any."""
    import pyarrow.parquet as pq
    from datasets import ClassLabel, Features

    try:
        feature = Features.from_arrow_schema(pq.read_schema(path)).get(label_column)
    except (KeyError, TypeError, ValueError):  # foreign or damaged "huggingface" metadata: no names
        return None
    return list(feature.names) if isinstance(feature, ClassLabel) else None


def _missing_columns(path: Path | str, found: Sequence[str], text_column: str, label_column: str) -> DataError:
    """The error for data without the text or label column: names the columns found and the flags."""
    return DataError(
        f"{path}: no {text_column!r} and {label_column!r} columns; found {list(found)}. Name yours with "
        "--text-column and --label-column (EMOTION_TEXT_COLUMN, EMOTION_LABEL_COLUMN)"
    )


def _find_split_file(folder: Path, split: str) -> Path | None:
    candidates = [folder / f"{split}.{ext}" for ext in FORMATS] + [folder / "parquet" / f"{split}.parquet"]
    return next((p for p in candidates if p.is_file()), None)


def _labels_to_ids(
    raw: pd.Series, names: list[str] | None, path: Path, lines: np.ndarray
) -> tuple[np.ndarray, list[str] | None, list[ParseIssue]]:
    """Map raw labels (names or integer strings) to ids; unknown ones become issues.

    The string work is done once per distinct label (``pandas.factorize``), not once per row.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    distinct = pd.Series(uniques, dtype=object).astype(str).str.strip()
    is_int = distinct.str.fullmatch(r"\d+").to_numpy(dtype=bool)
    if names is None and is_int.all():
        return distinct.astype(np.int64).to_numpy()[codes], None, []
    if names is None:
        names = order_label_names(list(dict.fromkeys(distinct[~is_int])))
    index = {n: i for i, n in enumerate(names)}
    ids = distinct.map(index)
    ints = pd.to_numeric(distinct.where(is_int), errors="coerce")
    ids = ids.fillna(ints.where(ints < len(names))).to_numpy(dtype=float)[codes]
    bad = np.isnan(ids)
    issues = [ParseIssue(int(ln), "unknown label", str(lab))
              for ln, lab in zip(lines[bad], distinct.to_numpy()[codes[bad]], strict=True)]
    return ids[~bad].astype(np.int64), names, issues


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
    size = path.stat().st_size
    if size > MAX_DATA_FILE_BYTES:
        raise DataError(f"{path}: {size / 2**20:.0f} MiB is over the {MAX_DATA_FILE_BYTES // 2**20} MiB limit")
    names = list(label_names) if label_names is not None else None
    fmt = path.suffix.lstrip(".").lower()
    issues: list[ParseIssue] = []
    if fmt == "txt":
        lines = _read_text_lines(path)
        frame, issues = parse_text_label_lines(lines)
        if lines and not len(frame) and all(i.reason == "no separator" for i in issues):
            raise DataError(f"{path}: no line has the ';' separator (line 1: {lines[0][:80]!r}); expected 'text;label'")
    elif fmt == "csv":
        _read_text_lines(path)  # rejects binary files with a line number
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if not {text_column, label_column} <= set(frame.columns):
            raise _missing_columns(path, frame.columns, text_column, label_column)
        frame = pd.DataFrame({"text": frame[text_column], "label": frame[label_column],
                              "line": np.arange(2, len(frame) + 2)})
        empty = frame["text"].str.strip() == ""
        issues = [ParseIssue(int(ln), "empty text", "") for ln in frame.loc[empty, "line"]]
        frame = frame[~empty]
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            found = pq.read_schema(path).names
        except Exception as exc:  # pyarrow raises several types for corrupt or foreign files
            raise DataError(f"{path}: not a readable parquet file ({exc})") from None
        if not {text_column, label_column} <= set(found):
            raise _missing_columns(path, found, text_column, label_column)
        try:
            frame = pd.read_parquet(path, columns=[text_column, label_column])
        except Exception as exc:
            raise DataError(f"{path}: not a readable parquet file ({exc})") from None
        names = names or _parquet_label_names(path, label_column)
        frame = pd.DataFrame({"text": frame[text_column].fillna("").astype(str), "label": frame[label_column],
                              "line": np.arange(1, len(frame) + 1)})
        empty = frame["text"].str.strip() == ""
        issues = [ParseIssue(int(ln), "empty text", "") for ln in frame.loc[empty, "line"]]
        frame = frame[~empty]
    else:
        raise DataError(f"{path}: unknown format {fmt!r}; use one of {FORMATS}")

    ids, names, label_issues = _labels_to_ids(frame["label"], names, path, frame["line"].to_numpy())
    issues = sorted(issues + label_issues, key=lambda i: i.line)
    good = ~frame["line"].isin({i.line for i in label_issues}).to_numpy()
    texts = frame["text"].to_numpy()[good].tolist()
    if not texts:
        why = f"; {len(issues)} lines were skipped" if issues else " (the file is empty)"
        raise DataError(f"{path}: no usable rows in split {split!r}{why}")
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
            fixed = _parquet_label_names(path, label_column) or []
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
        raise _missing_columns(dataset_id, list(features), text_column, label_column)
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
