"""Reading one split file into rows: ``text;label`` lines, CSV and parquet, with every skipped line kept.

The label order rules and the column options are described in :mod:`core.data.splits`, which builds
splits from these rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

EMOTION_LABELS: tuple[str, ...] = ("sadness", "joy", "love", "anger", "fear", "surprise")
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


def parquet_label_names(path: Path, label_column: str) -> list[str] | None:
    """The ClassLabel names that ``datasets`` stored in the file's schema for ``label_column``, if any."""
    import pyarrow.parquet as pq
    from datasets import ClassLabel, Features

    try:
        feature = Features.from_arrow_schema(pq.read_schema(path)).get(label_column)
    except (KeyError, TypeError, ValueError):  # foreign or damaged "huggingface" metadata: no names
        return None
    return list(feature.names) if isinstance(feature, ClassLabel) else None


def missing_columns(path: Path | str, found: Sequence[str], text_column: str, label_column: str) -> DataError:
    """The error for data without the text or label column: names the columns found and the flags."""
    return DataError(
        f"{path}: no {text_column!r} and {label_column!r} columns; found {list(found)}. Name yours with "
        "--text-column and --label-column (EMOTION_TEXT_COLUMN, EMOTION_LABEL_COLUMN)"
    )


def labels_to_ids(
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


def _read_txt(path: Path, text_column: str, label_column: str) -> tuple[pd.DataFrame, list[ParseIssue], None]:
    lines = _read_text_lines(path)
    frame, issues = parse_text_label_lines(lines)
    if lines and not len(frame) and all(i.reason == "no separator" for i in issues):
        raise DataError(f"{path}: no line has the ';' separator (line 1: {lines[0][:80]!r}); expected 'text;label'")
    return frame, issues, None


def _read_csv(path: Path, text_column: str, label_column: str) -> tuple[pd.DataFrame, list[ParseIssue], None]:
    _read_text_lines(path)  # rejects binary files with a line number
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {text_column, label_column} <= set(frame.columns):
        raise missing_columns(path, frame.columns, text_column, label_column)
    frame = pd.DataFrame({"text": frame[text_column], "label": frame[label_column],
                          "line": np.arange(2, len(frame) + 2)})
    return (*_drop_empty_texts(frame), None)


def _read_parquet(path: Path, text_column: str, label_column: str
                  ) -> tuple[pd.DataFrame, list[ParseIssue], list[str] | None]:
    import pyarrow.parquet as pq

    try:
        found = pq.read_schema(path).names
    except Exception as exc:  # pyarrow raises several types for corrupt or foreign files
        raise DataError(f"{path}: not a readable parquet file ({exc})") from None
    if not {text_column, label_column} <= set(found):
        raise missing_columns(path, found, text_column, label_column)
    try:
        frame = pd.read_parquet(path, columns=[text_column, label_column])
    except Exception as exc:
        raise DataError(f"{path}: not a readable parquet file ({exc})") from None
    frame = pd.DataFrame({"text": frame[text_column].fillna("").astype(str), "label": frame[label_column],
                          "line": np.arange(1, len(frame) + 1)})
    return (*_drop_empty_texts(frame), parquet_label_names(path, label_column))


def _drop_empty_texts(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[ParseIssue]]:
    empty = frame["text"].str.strip() == ""
    return frame[~empty], [ParseIssue(int(ln), "empty text", "") for ln in frame.loc[empty, "line"]]


_READERS = {"txt": _read_txt, "csv": _read_csv, "parquet": _read_parquet}


def read_rows(path: Path, *, text_column: str = TEXT_COLUMN, label_column: str = LABEL_COLUMN
              ) -> tuple[pd.DataFrame, list[ParseIssue], list[str] | None]:
    """The rows of one split file: a frame (``text``, raw ``label``, 1-based ``line``), the skipped lines,
    and the label names the file carries (parquet exported from the Hub), if any.

    Raises :class:`DataError` for a file over :data:`MAX_DATA_FILE_BYTES`, an unknown format, a binary
    or unreadable file, or missing columns.
    """
    size = path.stat().st_size
    if size > MAX_DATA_FILE_BYTES:
        raise DataError(f"{path}: {size / 2**20:.0f} MiB is over the {MAX_DATA_FILE_BYTES // 2**20} MiB limit")
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in _READERS:
        raise DataError(f"{path}: unknown format {fmt!r}; use one of {FORMATS}")
    return _READERS[fmt](path, text_column, label_column)
