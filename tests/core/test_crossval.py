"""Out-of-fold probabilities for real: a tiny random model fine-tuned per fold, and a frozen head."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.analysis.crossval import find_oof, fold_plan, main, oof_path, run_crossval, stratified_rows
from core.data.splits import load_splits, write_split
from tests.conftest import LABELS

RECIPE = {"lr": 1e-3, "batch_size": 8, "epochs": 1.0, "seed": 3, "max_length": 16}
WORDS = {"sadness": "sad lonely", "joy": "happy great", "love": "love adore", "anger": "angry mad",
         "fear": "scared afraid", "surprise": "amazed shocked"}


@pytest.fixture()
def data_dir(tmp_path):
    """A train split of 36 short texts, six per class."""
    rows = [{"text": f"i feel {WORDS[name]} today {i}", "label": name} for i in range(6) for name in LABELS]
    folder = tmp_path / "data"
    folder.mkdir()
    write_split(pd.DataFrame(rows), folder / "train.txt", fmt="txt", label_names=LABELS)
    return folder


class Interrupted(Exception):
    pass


@pytest.mark.train
def test_finetune_resumes_after_an_interrupted_fold_and_gives_the_same_table(tiny_model_dir, data_dir, tmp_path):
    data = load_splits(data_dir, splits=("train",), label_names=LABELS)
    cache = tmp_path / "cache"

    def stop_after_first(k):
        raise Interrupted(k)

    with pytest.raises(Interrupted):
        run_crossval(data, "train", base=str(tiny_model_dir), folds=3, recipe=RECIPE, cache_dir=cache,
                     progress=False, on_fold_done=stop_after_first)
    table_file = oof_path(cache, data, "train", "finetune", {**RECIPE, "base": str(tiny_model_dir), "folds": 3})
    fold0 = table_file.parent / "folds" / "fold_0.parquet"
    assert fold0.is_file() and not table_file.exists()
    assert find_oof(cache, data, "train") is None  # an unfinished run is never offered
    first_bytes = fold0.read_bytes()
    finished = []
    table, meta = run_crossval(data, "train", base=str(tiny_model_dir), folds=3, recipe=RECIPE, cache_dir=cache,
                               progress=False, on_fold_done=finished.append)
    assert finished == [1, 2]  # fold 0 was reused, not retrained
    assert fold0.read_bytes() == first_bytes
    assert table_file.is_file()
    fresh, _ = run_crossval(data, "train", base=str(tiny_model_dir), folds=3, recipe=RECIPE,
                            cache_dir=tmp_path / "fresh", progress=False)
    pd.testing.assert_frame_equal(table, fresh, atol=1e-5)
    assert list(table["row_id"]) == list(range(36))
    assert sorted(table["fold"].unique()) == [0, 1, 2]
    np.testing.assert_array_equal(table["fold"], fold_plan(data["train"].labels, 3, RECIPE["seed"]))
    probs = table[[f"prob_{n}" for n in LABELS]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert meta["method"] == "finetune" and meta["n_rows"] == 36 and len(meta["fold_seconds"]) == 3
    assert meta["recipe"]["lr"] == RECIPE["lr"] and meta["recipe"]["base"] == str(tiny_model_dir)
    found = find_oof(cache, data, "train")
    assert found is not None
    pd.testing.assert_frame_equal(found[0], table)
    assert found[1]["method"] == "finetune"


def test_frozen_head_covers_every_row_and_is_found_newest(tiny_model_dir, data_dir, tmp_path):
    data = load_splits(data_dir, splits=("train",), label_names=LABELS)
    cache = tmp_path / "cache"
    table, meta = run_crossval(data, "train", base=str(tiny_model_dir), method="frozen-head", folds=3,
                               recipe={"seed": 1, "max_length": 16}, cache_dir=cache, progress=False)
    assert list(table["row_id"]) == list(range(36)) and meta["method"] == "frozen-head"
    probs = table[[f"prob_{n}" for n in LABELS]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    found_table, found_meta = find_oof(cache, data, "train")
    assert found_meta["method"] == "frozen-head"
    pd.testing.assert_frame_equal(found_table, table)
    later, later_meta = run_crossval(data, "train", base=str(tiny_model_dir), method="frozen-head", folds=2,
                                     recipe={"seed": 1, "max_length": 16}, cache_dir=cache, progress=False)
    assert find_oof(cache, data, "train")[1]["folds"] == later_meta["folds"] == 2  # the newest wins
    # other data (one text changed) finds nothing
    frame = data.frame("train")
    frame.loc[0, "text"] = "a different tweet"
    other = tmp_path / "other"
    other.mkdir()
    write_split(frame, other / "train.txt", fmt="txt", label_names=LABELS)
    assert find_oof(cache, load_splits(other, splits=("train",), label_names=LABELS), "train") is None


def test_cli_writes_the_table_and_rejects_bad_input(tiny_model_dir, data_dir, tmp_path, capsys):
    cache = tmp_path / "cache"
    code = main(["--data", str(data_dir), "--split", "train", "--base", str(tiny_model_dir), "--folds", "2",
                 "--method", "frozen-head", "--max-train-samples", "24", "--cache-dir", str(cache), "--quiet",
                 "--max-length", "16"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    table = pd.read_parquet(report["table"])
    assert report["rows"] == len(table) == 24 and report["method"] == "frozen-head"
    data = load_splits(data_dir, splits=("train",), label_names=LABELS)
    # the subset is stratified: four of each class
    assert np.bincount(data["train"].labels[table["row_id"]], minlength=6).tolist() == [4] * 6
    assert main(["--data", str(tmp_path / "nowhere"), "--base", str(tiny_model_dir), "--cache-dir", str(cache)]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert main(["--data", str(data_dir), "--base", str(tiny_model_dir), "--folds", "1"]) == 2
    assert "at least 2" in capsys.readouterr().err


def test_stratified_subset_and_unknown_method(data_dir):
    labels = np.repeat(np.arange(6), 10)
    rows = stratified_rows(labels, 30, 0)
    assert len(rows) == 30 and np.bincount(labels[rows]).tolist() == [5] * 6
    assert (stratified_rows(labels, None, 0) == np.arange(60)).all()
    data = load_splits(data_dir, splits=("train",), label_names=LABELS)
    with pytest.raises(ValueError, match="unknown method"):
        run_crossval(data, "train", base="x", method="bagging", cache_dir=data_dir)
