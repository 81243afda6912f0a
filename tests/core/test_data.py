"""Data loading: text;label parsing, malformed lines, formats, label order, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data.splits import (
    EMOTION_LABELS,
    DataError,
    load_splits,
    order_label_names,
    parse_text_label_lines,
    write_split,
)
from tests.conftest import EMOTION, needs_emotion

LABELS = list(EMOTION_LABELS)


def write_folder(folder, rows: dict[str, list[str]]):
    folder.mkdir(parents=True, exist_ok=True)
    for split, lines in rows.items():
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_text_keeps_everything_before_the_last_separator():
    frame, issues = parse_text_label_lines(["a;b;c;joy", "x ; y;sadness"])
    assert frame["text"].tolist() == ["a;b;c", "x ; y"]
    assert frame["label"].tolist() == ["joy", "sadness"]
    assert issues == []


def test_malformed_lines_are_counted_with_line_numbers():
    lines = ["good one;joy", "no separator here", ";anger", "text with no label;", "", "fine;fear",
             "weird label;bored"]
    frame, issues = parse_text_label_lines(lines, label_names=LABELS)
    assert frame["line"].tolist() == [1, 6]
    reasons = {i.line: i.reason for i in issues}
    assert reasons == {2: "no separator", 3: "empty text", 4: "empty label", 5: "empty line", 7: "unknown label"}


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                           max_size=40).filter(lambda t: t.strip() != ""), min_size=1, max_size=20),
    data=st.data(),
)
def test_parser_round_trips_any_text(texts, data):
    labels = [data.draw(st.sampled_from(LABELS)) for _ in texts]
    lines = [f"{t};{lab}" for t, lab in zip(texts, labels, strict=True)]
    frame, issues = parse_text_label_lines(lines, label_names=LABELS)
    assert issues == []
    assert frame["text"].tolist() == [t.strip() for t in texts]
    assert frame["label"].tolist() == labels


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=30))
def test_parser_accounts_for_every_line(lines):
    lines = [ln.replace("\n", " ").replace("\r", " ") for ln in lines]
    frame, issues = parse_text_label_lines(lines, label_names=LABELS)
    assert len(frame) + len(issues) == len(lines)
    assert sorted(frame["line"].tolist() + [i.line for i in issues]) == list(range(1, len(lines) + 1))


def test_label_order_is_the_hub_order_for_emotions_else_alphabetical():
    assert order_label_names(["joy", "fear", "sadness"]) == ["sadness", "joy", "fear"]
    assert order_label_names(["zeta", "alpha"]) == ["alpha", "zeta"]


def test_local_folder_reports_skipped_lines(tmp_path):
    folder = write_folder(tmp_path / "d", {"validation": ["i am happy;joy", "broken line", "so sad;sadness",
                                                          "mad;anger"]})
    data = load_splits(folder, splits=("validation",))
    split = data["validation"]
    assert split.texts == ["i am happy", "so sad", "mad"]
    assert [data.label_names[i] for i in split.labels] == ["joy", "sadness", "anger"]
    assert "1 lines skipped" in split.issue_summary() and "line 2" in split.issue_summary()


def test_unknown_label_against_given_names_is_reported(tmp_path):
    folder = write_folder(tmp_path / "d", {"validation": ["ok;joy", "hmm;bored", "7 is odd;7"]})
    data = load_splits(folder, splits=("validation",), label_names=LABELS)
    assert data["validation"].texts == ["ok"]
    assert {i.reason for i in data["validation"].issues} == {"unknown label"}
    assert [i.line for i in data["validation"].issues] == [2, 3]


def test_integer_labels_map_through_given_names(tmp_path):
    folder = write_folder(tmp_path / "d", {"validation": ["sad words;0", "happy words;1"]})
    data = load_splits(folder, splits=("validation",), label_names=LABELS)
    assert data["validation"].labels.tolist() == [0, 1]
    assert data.label_names == LABELS


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no usable rows"),
        (b"a,b\nc,d\n", "separator"),
        (b"\x00\x01\x02binary\x00", "NUL byte on line 1"),
        (b"fine;joy\n\xff\xfe bad;joy\n", "not UTF-8 text (bad byte on line 2)"),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path, content, message):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "validation.txt").write_bytes(content)
    with pytest.raises(DataError, match="validation.txt") as err:
        load_splits(folder, splits=("validation",))
    assert message in str(err.value)


def test_missing_split_lists_what_is_there(tmp_path):
    folder = write_folder(tmp_path / "d", {"train": ["a;joy"]})
    with pytest.raises(DataError, match=r"no file for split\(s\) \['validation'\].*train.txt"):
        load_splits(folder, splits=("train", "validation"))


def test_missing_local_folder_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(DataError, match="no such data folder"):
        load_splits(str(tmp_path / "nope"), splits=("validation",))


@pytest.mark.parametrize("fmt", ["txt", "csv", "parquet"])
def test_write_split_round_trips_every_format(tmp_path, fmt):
    frame = pd.DataFrame({"text": ["a;b", "line\nbreak", "plain"], "label": ["joy", "fear", "surprise"]})
    folder = tmp_path / fmt
    folder.mkdir()
    write_split(frame, folder / f"validation.{fmt}", fmt=fmt, label_names=LABELS)
    data = load_splits(folder, splits=("validation",), label_names=LABELS)
    assert data["validation"].texts == ["a;b", "line break", "plain"]
    assert [LABELS[i] for i in data["validation"].labels] == ["joy", "fear", "surprise"]
    assert data["validation"].format == fmt


@needs_emotion
def test_shared_txt_and_parquet_agree():
    txt = load_splits(EMOTION, splits=("validation",))
    pq = load_splits(EMOTION / "parquet", splits=("validation",))
    assert txt.label_names == pq.label_names == LABELS
    assert len(txt["validation"]) == 2000
    assert txt["validation"].texts == pq["validation"].texts
    assert np.array_equal(txt["validation"].labels, pq["validation"].labels)
    assert txt["validation"].issues == []


# ---- other column names -------------------------------------------------------------------------


def test_csv_with_other_column_names_loads_with_the_column_flags(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    pd.DataFrame({"id": [1, 2], "tweet": ["so happy", "so scared"], "emotion": ["joy", "fear"]}).to_csv(
        folder / "validation.csv", index=False)
    data = load_splits(folder, splits=("validation",), text_column="tweet", label_column="emotion")
    assert data["validation"].texts == ["so happy", "so scared"]
    assert [data.label_names[i] for i in data["validation"].labels] == ["joy", "fear"]
    assert (data.text_column, data.label_column) == ("tweet", "emotion")
    with pytest.raises(DataError) as err:
        load_splits(folder, splits=("validation",))
    message = str(err.value)
    assert "validation.csv" in message and "['id', 'tweet', 'emotion']" in message
    assert "--text-column" in message and "--label-column" in message


def test_parquet_with_other_column_names_keeps_its_classlabel_names(tmp_path):
    from datasets import ClassLabel, Dataset, Features, Value

    folder = tmp_path / "d"
    folder.mkdir()
    names = ["calm", "angry", "glad"]  # not alphabetical: the order must come from the file
    features = Features({"sentence": Value("string"), "category": ClassLabel(names=names)})
    Dataset.from_dict({"sentence": ["a", "b", "c"], "category": [2, 0, 1]}, features=features).to_parquet(
        folder / "validation.parquet")
    data = load_splits(folder, splits=("validation",), text_column="sentence", label_column="category")
    assert data.label_names == names
    assert data["validation"].labels.tolist() == [2, 0, 1]
    with pytest.raises(DataError, match=r"found \['sentence', 'category'\].*--text-column"):
        load_splits(folder, splits=("validation",))


def test_another_label_column_of_the_same_file_is_another_fingerprint(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    pd.DataFrame({"text": ["a", "b"], "label": ["joy", "fear"], "second_opinion": ["fear", "fear"]}).to_csv(
        folder / "validation.csv", index=False)
    first = load_splits(folder, splits=("validation",))
    second = load_splits(folder, splits=("validation",), label_column="second_opinion")
    assert first["validation"].fingerprint != second["validation"].fingerprint
    assert [second.label_names[i] for i in second["validation"].labels] == ["fear", "fear"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_split_uses_the_given_column_names(tmp_path, fmt):
    frame = pd.DataFrame({"text": ["x", "y"], "label": ["love", "anger"]})
    path = write_split(frame, tmp_path / f"validation.{fmt}", fmt=fmt, label_names=LABELS, text_column="tweet",
                       label_column="emotion")
    data = load_splits(tmp_path, splits=("validation",), text_column="tweet", label_column="emotion")
    assert data["validation"].texts == ["x", "y"] and path.suffix == f".{fmt}"
    assert [data.label_names[i] for i in data["validation"].labels] == ["love", "anger"]


def test_parquet_label_names_are_datasets_features_and_old_files_still_read(tmp_path):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import ClassLabel, Features

    new = write_split(pd.DataFrame({"text": ["x"], "label": ["surprise"]}), tmp_path / "new.parquet",
                      fmt="parquet", label_names=LABELS)
    feature = Features.from_arrow_schema(pq.read_schema(new))["label"]
    assert isinstance(feature, ClassLabel) and feature.names == LABELS
    # A file as earlier versions wrote it by hand: the names in hand-made "huggingface" metadata.
    old_dir = tmp_path / "old"
    old_dir.mkdir()
    features = {"text": {"dtype": "string", "_type": "Value"}, "label": {"names": LABELS, "_type": "ClassLabel"}}
    table = pa.table({"text": ["y", "z"], "label": [5, 0]})
    pq.write_table(table.replace_schema_metadata(
        {b"huggingface": json.dumps({"info": {"features": features}}).encode()}), old_dir / "validation.parquet")
    data = load_splits(old_dir, splits=("validation",))
    assert data.label_names == LABELS and data["validation"].labels.tolist() == [5, 0]


def test_the_label_set_is_taken_over_every_split_whichever_are_loaded(tmp_path):
    """Issue 26 item 5: train = {sadness, joy}, validation = {surprise, sadness}."""
    from core.data.keys import content_key, text_hashes

    folder = write_folder(tmp_path / "d", {"train": ["a sad day;sadness", "a glad day;joy"],
                                           "validation": ["what a shock;surprise", "so down;sadness"]})
    both = load_splits(folder, splits=("train", "validation"))
    alone = load_splits(folder, splits=("validation",))
    assert both.label_names == alone.label_names == ["sadness", "joy", "surprise"]
    for data in (both, alone):
        assert data["validation"].texts == ["what a shock", "so down"] and not data["validation"].issues
        assert [data.label_names[i] for i in data["validation"].labels] == ["surprise", "sadness"]
    assert content_key(text_hashes(both["validation"].texts), "validation") == content_key(
        text_hashes(alone["validation"].texts), "validation")


def test_parquet_classlabel_names_come_first_and_other_splits_add_theirs(tmp_path):
    from datasets import ClassLabel, Dataset, Features, Value

    folder = tmp_path / "d"
    folder.mkdir()
    names = ["joy", "sadness"]  # the file's order, not the documented one
    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    Dataset.from_dict({"text": ["a", "b"], "label": [0, 1]}, features=features).to_parquet(folder / "train.parquet")
    (folder / "validation.txt").write_text("so angry;anger\nso glad;joy\n")
    for splits in (("validation",), ("train", "validation"), ("train",)):
        data = load_splits(folder, splits=splits)
        assert data.label_names == ["joy", "sadness", "anger"], splits
    data = load_splits(folder, splits=("validation", "train"))
    assert [data.label_names[i] for i in data["validation"].labels] == ["anger", "joy"]
    assert data["train"].labels.tolist() == [0, 1]
