"""Export review decisions (CSV, JSONL) and the corrected split, ready for ``python -m core.classifier.train``.

Two views of the decisions (``which=``):

- ``"latest"``: the current decision per reviewed sample (see :mod:`core.review.store`), one row per
  sample, with ``final_label`` (the label the sample has after review; the old one for ``keep`` and
  ``ambiguous``) and, when the analysis table is passed, the sample's ``text``.
- ``"history"``: every recorded action, skips included, oldest first, same columns.

The corrected split is written with :func:`core.data.splits.write_split`, so it loads back through
:func:`core.data.splits.load_splits`.

Example
-------
>>> import tempfile
>>> folder = tempfile.TemporaryDirectory()
>>> out = Path(folder.name)
>>> table = pd.DataFrame({"text": ["so happy", "so scared", "hmm"], "label": ["joy", "joy", "fear"]})
>>> store = ReviewStore(out / "reviews.sqlite")
>>> _ = store.record("key", 1, action="relabel", old_label="joy", new_label="fear")
>>> _ = store.record("key", 2, action="ambiguous", old_label="fear")
>>> decisions_frame(store, "key", table=table)[["sample_id", "text", "action", "final_label"]]
   sample_id       text     action final_label
0          1  so scared    relabel        fear
1          2        hmm  ambiguous        fear
>>> decisions_csv(store, "key", out / "decisions.csv", table=table).name
'decisions.csv'
>>> summary = corrected_split(table, store.latest("key"), fmt="txt", label_names=["joy", "fear"],
...                           drop_ambiguous=True, path=out / "validation.txt")
>>> (summary.n_rows, summary.n_relabelled, summary.n_dropped)
(2, 1, 1)
>>> print(summary.path.read_text(), end="")
so happy;joy
so scared;fear
>>> store.close(); folder.cleanup()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from core.data.splits import FORMATS, LABEL_COLUMN, TEXT_COLUMN, write_split
from core.files import staged_folder, write_atomic
from core.review.store import ReviewStore

T = TypeVar("T")

DECISION_VIEWS: tuple[str, ...] = ("latest", "history")


@dataclass(frozen=True)
class CorrectionSummary:
    """What :func:`corrected_split` wrote: the file, its row count, and how many rows changed or went."""

    path: Path
    n_rows: int
    n_relabelled: int
    n_dropped: int


def decisions_frame(
    store: ReviewStore, dataset_key: str, *, which: str = "latest", table: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Decisions for one analysis as a table.

    Parameters
    ----------
    which : ``"latest"`` (current decision per sample) or ``"history"`` (every action).
    table : the analysis table (row position = ``sample_id``, a ``text`` column); when given, a
        ``text`` column is added after ``sample_id``.

    Returns
    -------
    Columns ``id, time, dataset_key, sample_id, [text,] action, old_label, new_label, final_label,
    reviewer, note``.

    Raises
    ------
    ValueError : an unknown ``which``, or a ``sample_id`` outside ``table``.
    """
    views: dict[str, Callable[[str], pd.DataFrame]] = {"latest": store.latest, "history": store.history}
    if which not in views:
        raise ValueError(f"unknown decisions view {which!r}; choose one of {DECISION_VIEWS}")
    frame = views[which](dataset_key)
    final = frame["new_label"].where(frame["action"] == "relabel", frame["old_label"])
    frame.insert(frame.columns.get_loc("new_label") + 1, "final_label", final.astype(object))
    if table is not None:
        ids = frame["sample_id"].to_numpy()
        _check_ids(ids, len(table))
        texts = table["text"].astype(object).to_numpy()[ids] if len(ids) else []
        frame.insert(frame.columns.get_loc("sample_id") + 1, "text", pd.Series(texts, index=frame.index, dtype=object))
    return frame


def write_decisions(frame: pd.DataFrame, path: str | Path, *, fmt: str) -> Path:
    """Write a decisions table as ``csv`` (with a header) or ``jsonl`` (UTF-8), atomically; returns the path."""
    writers: dict[str, Callable[[Path], object]] = {
        "csv": lambda tmp: frame.to_csv(tmp, index=False),
        "jsonl": lambda tmp: _to_jsonl(frame, tmp),
    }
    if fmt not in writers:
        raise ValueError(f"unknown decisions format {fmt!r}; choose one of {sorted(writers)}")
    return write_atomic(Path(path), writers[fmt])


def decisions_csv(
    store: ReviewStore, dataset_key: str, path: str | Path, *, which: str = "latest", table: pd.DataFrame | None = None
) -> Path:
    """Write :func:`decisions_frame` as CSV with a header; returns the path."""
    return write_decisions(decisions_frame(store, dataset_key, which=which, table=table), path, fmt="csv")


def decisions_jsonl(
    store: ReviewStore, dataset_key: str, path: str | Path, *, which: str = "latest", table: pd.DataFrame | None = None
) -> Path:
    """Write :func:`decisions_frame` as JSON Lines (one object per decision, UTF-8); returns the path."""
    return write_decisions(decisions_frame(store, dataset_key, which=which, table=table), path, fmt="jsonl")


def corrected_split(
    table: pd.DataFrame,
    decisions: pd.DataFrame,
    *,
    fmt: str,
    label_names: Sequence[str],
    drop_ambiguous: bool,
    path: str | Path,
    text_column: str = TEXT_COLUMN,
    label_column: str = LABEL_COLUMN,
) -> CorrectionSummary:
    """Write the split with the review's corrections, in the format it came in.

    Parameters
    ----------
    table : the analysed split, one row per sample in file order (row position = ``sample_id``),
        with ``text`` and ``label`` (label names) columns; e.g. the analysis table or
        ``EmotionData.frame(split)``.
    decisions : current decision per sample, as :meth:`ReviewStore.latest` returns it (columns
        ``sample_id``, ``action``, ``old_label``, ``new_label``).
    fmt : ``"txt"``, ``"csv"`` or ``"parquet"``, usually ``Split.format``.
    label_names : all label names, in label order; every new label must be one of them.
    drop_ambiguous : leave out the rows marked ``ambiguous`` or ``not_emotion`` (otherwise they keep their
        label).
    path : the file to write; name it ``<split>.<fmt>`` inside a data folder for ``load_splits``.
    text_column, label_column : the column names a CSV or parquet split is written with, usually
        ``EmotionData.text_column`` / ``label_column``, so it loads back with the same flags.

    Raises
    ------
    ValueError : an unknown format, a path whose suffix is not ``.<fmt>``, a ``sample_id`` outside
        ``table``, a decision whose ``old_label`` is not the table's label (decisions from another
        split), or a new label not in ``label_names``.
    """
    path = Path(path)
    ids = _checked_ids(table, decisions, fmt=fmt, path=path)
    labels = table["label"].astype(object).to_numpy().copy()
    mismatch = labels[ids] != decisions["old_label"].astype(object).to_numpy()
    if mismatch.any():
        first = int(ids[mismatch][0])
        raise ValueError(
            f"{int(mismatch.sum())} decisions do not match the table's labels (sample {first}: table has "
            f"{labels[first]!r}, decision says {decisions['old_label'].to_numpy()[mismatch][0]!r}); "
            "are they from another split?"
        )
    relabel = (decisions["action"] == "relabel").to_numpy()
    new = decisions["new_label"].to_numpy()[relabel]
    unknown = sorted(set(new.tolist()) - set(label_names))
    if unknown:
        raise ValueError(f"new labels {unknown} are not among the label names {list(label_names)}")
    labels[ids[relabel]] = new

    keep = pd.Series(True, index=range(len(table)))
    if drop_ambiguous:
        keep.iloc[ids[decisions["action"].isin(["ambiguous", "not_emotion"]).to_numpy()]] = False
    out = pd.DataFrame({"text": table["text"].astype(object).to_numpy(), "label": labels})[keep.to_numpy()]
    write_atomic(path, lambda tmp: write_split(out, tmp, fmt=fmt, label_names=label_names, text_column=text_column,
                                                label_column=label_column))
    return CorrectionSummary(path, len(out), int(relabel.sum()), int((~keep).sum()))


def _checked_ids(table: pd.DataFrame, decisions: pd.DataFrame, *, fmt: str, path: Path) -> np.ndarray:
    """The decisions' sample ids, after checking the format, the path's suffix, the table's columns and
    that there is one decision per sample, each on a row of the table."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
    if path.suffix.lower() != f".{fmt}":
        raise ValueError(f"{path}: a {fmt} split must end in .{fmt}, or load_splits will not read it as {fmt}")
    missing = {"text", "label"} - set(table.columns)
    if missing:
        raise ValueError(f"table needs 'text' and 'label' columns; missing {sorted(missing)}")
    ids = decisions["sample_id"].to_numpy(dtype="int64")
    if len(set(ids.tolist())) != len(ids):
        raise ValueError("decisions must hold one row per sample_id (use ReviewStore.latest)")
    _check_ids(ids, len(table))
    return ids


def _check_ids(ids: object, n: int) -> None:
    bad = [int(i) for i in pd.Series(ids, dtype="int64") if not 0 <= i < n]
    if bad:
        raise ValueError(f"sample_id {bad[:5]} outside the table's {n} rows; are the decisions from another split?")


def _to_jsonl(frame: pd.DataFrame, path: Path) -> None:
    frame.to_json(path, orient="records", lines=True, force_ascii=False)


def write_folder_atomic(folder: str | Path, write: Callable[[Path], T]) -> T:
    """Fill a new folder with ``write(staging folder)``, then put it at ``folder`` in place of any old one
    (:func:`core.files.staged_folder`): a reader sees the whole old folder or the whole new one. When
    ``write`` raises, ``folder`` is left as it was. Returns what ``write`` returns."""
    with staged_folder(folder) as stage:
        return write(stage)
