"""A split the model trained on: in-sample by default, out-of-fold where core.analysis.crossval left probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.crossval import run_crossval
from core.analysis.mislabels import label_issue_columns, mislabel_score
from core.data.splits import load_splits
from core.services.emotion import EmotionService
from core.settings import Settings
from dashboard.tabs.shared import prob_note
from tests.conftest import write_split_lines


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_split_lines(tmp_path_factory.mktemp("oof-data"), "train", 96)


def load(model, data_dir, cache, **kw):
    return EmotionService.load(Settings(model=str(model), data=str(data_dir), split="train", cache_dir=cache,
                                        review_db=cache / "r.sqlite", **kw), show_progress=False)


def test_trained_on_split_is_in_sample_until_crossval_runs(tiny_model_dir, data_dir, tmp_path):
    cache = tmp_path / "cache"
    before = load(tiny_model_dir, data_dir, cache)
    a = before.analysis("train")
    assert a.trained_on and a.sources == ["in-sample"]
    assert "in-sample" in prob_note(before, "train") and "memorise" in prob_note(before, "train")
    assert a.meta["ranking"] in ("shipped", "in-sample")  # the note names the ranking the analysis stored
    assert ("shipped signal ranking" in prob_note(before, "train")) == (a.meta["ranking"] == "shipped")
    assert "Mislabel score: " in prob_note(before, "train")
    assert before.review_queue("train").attrs["source"] == "in-sample"

    data = load_splits(str(data_dir), splits=("train",))
    oof, meta = run_crossval(data, "train", base=str(tiny_model_dir), method="frozen-head", folds=3,
                             cache_dir=cache, progress=False)
    after = load(tiny_model_dir, data_dir, cache)
    a = after.analysis("train")
    assert a.sources == ["in-sample", "out-of-fold"]  # --prob-source auto: in-sample measured better
    ranked = a.ranked("out-of-fold")
    cols = [f"prob_{x}" for x in a.labels]
    assert np.allclose(ranked.loc[oof["row_id"], cols].to_numpy(), oof[cols].to_numpy())
    assert not np.allclose(ranked[cols].to_numpy(), a.table[cols].to_numpy())
    label_ids = np.array([a.labels.index(x) for x in a.table["label"]])
    direct = label_issue_columns(oof[cols].to_numpy(), label_ids[oof["row_id"]], a.labels, features=a.hidden,
                                 source="out-of-fold")
    assert np.allclose(ranked.loc[oof["row_id"], "mislabel_score"], direct["mislabel_score"])
    assert (ranked.loc[oof["row_id"], "is_label_issue"].to_numpy() == direct["is_label_issue"].to_numpy()).all()
    # the in-sample view is the stored table itself: 96 rows with 4 "surprise" rows are too few for the shipped
    # ranking's 5-fold judges, so the analysis stored cleanlab's in-sample ranking (and said so)
    probs = a.table[cols].to_numpy()
    insample = a.ranked("in-sample")
    assert insample is a.table and a.meta["ranking"] == "in-sample"
    assert any("fewer than 5 rows" in w for w in before.analysis("train").warnings)  # said when it was computed
    assert np.allclose(insample["mislabel_score"], mislabel_score(probs, label_ids, source="in-sample"))
    assert a.sample(0)["mislabel_score"] == pytest.approx(insample["mislabel_score"].iloc[0])  # as the lists show
    assert after.review_queue("train").attrs["source"] == "in-sample"
    queue = after.review_queue("train", source="out-of-fold")
    assert queue.attrs["source"] == "out-of-fold"
    assert list(queue.index) == list(ranked.sort_values("mislabel_score", ascending=False, kind="stable").index)
    note = prob_note(after, "train", "out-of-fold")
    assert "out-of-fold" in note and "frozen-head" in note
    pinned = load(tiny_model_dir, data_dir, cache, prob_source="out-of-fold")
    assert pinned.analysis("train").sources == ["out-of-fold", "in-sample"]
    assert pinned.review_queue("train").attrs["source"] == "out-of-fold"
    assert meta["method"] == "frozen-head"
