"""Export: decisions as CSV and JSONL, and the corrected split loading back through load_splits."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.data.splits import EMOTION_LABELS, FORMATS, load_splits, write_split
from core.review.export import CorrectionSummary, corrected_split, decisions_csv, decisions_frame, decisions_jsonl
from core.review.store import ReviewStore

KEY = "model:data:validation"
NAMES = list(EMOTION_LABELS)
TEXTS = [
    "i feel so happy today",
    "i am scared; of the dark",  # a ';' inside the text
    'she said "wow, what a day"',  # quotes and a comma for CSV
    "le café était délicieux",
    "i miss my old friends",
    "this makes me furious",
    "what a surprise that was",
    "i love you all",
]
LABELS = ["joy", "fear", "surprise", "joy", "sadness", "anger", "surprise", "love"]


@pytest.fixture
def table() -> pd.DataFrame:
    """A small analysis table: row position is the sample id."""
    return pd.DataFrame({"text": TEXTS, "label": LABELS, "pred": LABELS, "suspicion": 0.5})


@pytest.fixture
def store(tmp_path: Path) -> ReviewStore:
    """Decisions: 0 relabelled joy->love, 2 ambiguous, 4 kept, 5 relabelled then kept, 6 skipped."""
    s = ReviewStore(tmp_path / "reviews.sqlite")
    s.record(KEY, 0, action="relabel", old_label="joy", new_label="love", reviewer="ana", note="hugs")
    s.record(KEY, 2, action="ambiguous", old_label="surprise", note="could be joy")
    s.record(KEY, 4, action="keep", old_label="sadness")
    s.record(KEY, 5, action="relabel", old_label="anger", new_label="sadness")
    s.record(KEY, 5, action="keep", old_label="anger", reviewer="ben")  # later, in another tab
    s.record(KEY, 6, action="skip", old_label="surprise")
    s.record("other:key", 1, action="relabel", old_label="fear", new_label="joy")
    return s


# ---------------------------------------------------------------------------------------------
# Decisions


def test_decisions_frame_latest_has_text_and_final_label(store: ReviewStore, table: pd.DataFrame) -> None:
    frame = decisions_frame(store, KEY, table=table)
    assert frame["sample_id"].tolist() == [0, 2, 4, 5]
    assert frame["text"].tolist() == [TEXTS[i] for i in (0, 2, 4, 5)]
    assert frame["action"].tolist() == ["relabel", "ambiguous", "keep", "keep"]
    assert frame["final_label"].tolist() == ["love", "surprise", "sadness", "anger"]


def test_unknown_view_names_the_choices(store: ReviewStore) -> None:
    with pytest.raises(ValueError, match=r"unknown decisions view 'all'.*latest.*history"):
        decisions_frame(store, KEY, which="all")


def test_decisions_from_another_table_are_refused(store: ReviewStore, table: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="outside the table"):
        decisions_frame(store, KEY, table=table.head(3))


def test_decisions_csv_parses_back(store: ReviewStore, table: pd.DataFrame, tmp_path: Path) -> None:
    path = decisions_csv(store, KEY, tmp_path / "out" / "decisions.csv", table=table)
    back = pd.read_csv(path, keep_default_na=False)
    assert back["sample_id"].tolist() == [0, 2, 4, 5]
    assert back["text"].tolist() == [TEXTS[i] for i in (0, 2, 4, 5)]
    assert back["new_label"].tolist() == ["love", "", "sadness", "anger"]
    assert back.loc[0, "reviewer"] == "ana" and back.loc[1, "note"] == "could be joy"
    assert not list(path.parent.glob(".*.tmp"))  # no temporary file left behind


def test_decisions_jsonl_parses_back(store: ReviewStore, table: pd.DataFrame, tmp_path: Path) -> None:
    path = decisions_jsonl(store, KEY, tmp_path / "decisions.jsonl", table=table)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and all(json.loads(line)["dataset_key"] == KEY for line in lines)
    back = pd.read_json(path, lines=True)
    assert back["sample_id"].tolist() == [0, 2, 4, 5]
    assert back["final_label"].tolist() == ["love", "surprise", "sadness", "anger"]
    assert json.loads(lines[1])["new_label"] is None


@pytest.mark.parametrize("writer", [decisions_csv, decisions_jsonl])
def test_history_export_has_every_action(store: ReviewStore, tmp_path: Path, writer) -> None:
    path = writer(store, KEY, tmp_path / "history.out", which="history")
    back = pd.read_csv(path) if writer is decisions_csv else pd.read_json(path, lines=True)
    assert back["action"].tolist() == ["relabel", "ambiguous", "keep", "relabel", "keep", "skip"]
    assert back["id"].is_monotonic_increasing
    assert "text" not in back.columns


# ---------------------------------------------------------------------------------------------
# Corrected split


def _data_folder(folder: Path, fmt: str) -> Path:
    """A full train/validation/test folder in ``fmt``; validation holds the fixture's rows."""
    folder.mkdir(parents=True)
    frame = pd.DataFrame({"text": TEXTS, "label": LABELS})
    for split in ("train", "validation", "test"):
        write_split(frame, folder / f"{split}.{fmt}", fmt=fmt, label_names=NAMES)
    return folder


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("drop_ambiguous", [True, False])
def test_corrected_split_loads_back_with_corrections(
    store: ReviewStore, tmp_path: Path, fmt: str, drop_ambiguous: bool
) -> None:
    data = load_splits(_data_folder(tmp_path / "data", fmt), label_names=NAMES)
    split = data["validation"]
    assert split.format == fmt
    out = _data_folder(tmp_path / "corrected", fmt)  # train and test as they were; validation replaced

    summary = corrected_split(data.frame("validation"), store.latest(KEY), fmt=split.format, label_names=NAMES,
                              drop_ambiguous=drop_ambiguous, path=out / f"validation.{fmt}")

    expected = pd.DataFrame({"text": TEXTS, "label": ["love", *LABELS[1:]]})
    if drop_ambiguous:
        expected = expected.drop(index=2)
    assert summary == CorrectionSummary(out / f"validation.{fmt}", len(expected), 1, int(drop_ambiguous))
    back = load_splits(out, label_names=NAMES)
    assert back.label_names == NAMES
    pd.testing.assert_frame_equal(back.frame("validation"), expected.reset_index(drop=True), check_dtype=False)
    assert not back["validation"].issues
    assert back.frame("train")["label"].tolist() == LABELS


def test_corrected_split_keeps_label_order_from_parquet(store: ReviewStore, tmp_path: Path) -> None:
    """Names not in the emotion set, written as parquet, keep their ClassLabel order."""
    names = ["zeta", "alpha"]
    table = pd.DataFrame({"text": ["a", "b", "c"], "label": ["zeta", "zeta", "alpha"]})
    store.record("k2", 1, action="relabel", old_label="zeta", new_label="alpha")
    corrected_split(table, store.latest("k2"), fmt="parquet", label_names=names, drop_ambiguous=False,
                    path=tmp_path / "validation.parquet")
    back = load_splits(tmp_path, splits=("validation",))
    assert back.label_names == names
    assert back.frame("validation")["label"].tolist() == ["zeta", "alpha", "alpha"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_corrected_split_keeps_the_data_column_names(store: ReviewStore, table: pd.DataFrame, tmp_path: Path,
                                                     fmt: str) -> None:
    """Data read with --text-column/--label-column is written back with the same columns."""
    corrected_split(table, store.latest(KEY), fmt=fmt, label_names=NAMES, drop_ambiguous=True,
                    path=tmp_path / f"validation.{fmt}", text_column="tweet", label_column="emotion")
    back = load_splits(tmp_path, splits=("validation",), text_column="tweet", label_column="emotion")
    assert back.frame("validation")["text"].tolist() == [t for i, t in enumerate(TEXTS) if i != 2]
    assert back.frame("validation")["label"].tolist()[0] == "love"


def test_no_decisions_writes_the_split_unchanged(table: pd.DataFrame, tmp_path: Path) -> None:
    empty = ReviewStore(tmp_path / "r.sqlite").latest(KEY)
    summary = corrected_split(table, empty, fmt="txt", label_names=NAMES, drop_ambiguous=True,
                              path=tmp_path / "validation.txt")
    assert (summary.n_rows, summary.n_relabelled, summary.n_dropped) == (len(TEXTS), 0, 0)
    assert load_splits(tmp_path, splits=("validation",)).frame("validation")["label"].tolist() == LABELS


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fmt": "xlsx", "path": "validation.xlsx"}, r"unknown format 'xlsx'.*txt.*csv.*parquet"),
        ({"fmt": "csv", "path": "validation.txt"}, "must end in .csv"),
        ({"label_names": ["joy", "fear"]}, "not among the label names"),
    ],
)
def test_corrected_split_rejects_bad_options(
    store: ReviewStore, table: pd.DataFrame, tmp_path: Path, kwargs: dict, match: str
) -> None:
    options = {"fmt": "txt", "label_names": NAMES, "drop_ambiguous": False, "path": "validation.txt", **kwargs}
    options["path"] = tmp_path / options["path"]
    with pytest.raises(ValueError, match=match):
        corrected_split(table, store.latest(KEY), **options)
    assert not list(tmp_path.glob("validation.*"))


def test_corrected_split_refuses_decisions_from_another_split(store: ReviewStore, table: pd.DataFrame,
                                                              tmp_path: Path) -> None:
    shuffled = table.iloc[::-1].reset_index(drop=True)
    with pytest.raises(ValueError, match="do not match the table's labels"):
        corrected_split(shuffled, store.latest(KEY), fmt="csv", label_names=NAMES, drop_ambiguous=False,
                        path=tmp_path / "validation.csv")


def test_corrected_split_needs_one_decision_per_sample(store: ReviewStore, table: pd.DataFrame,
                                                       tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one row per sample_id"):
        corrected_split(table, store.history(KEY), fmt="csv", label_names=NAMES, drop_ambiguous=False,
                        path=tmp_path / "validation.csv")
