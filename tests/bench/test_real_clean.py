"""bench/noise/real_clean.py: the conditions' labels by hand, the audit loader's text check, and a --quick run
on a tiny BERT built in code."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bench.noise import real_clean as rc
from tests.conftest import needs_distilbert_tokenizer, needs_emotion


def test_each_condition_changes_only_its_rows():
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1])
    score = np.arange(20, dtype=float)  # rows 19 (top 5%) and 18 (top 10%) are the most suspect
    suggest = labels.copy()
    suggest[19] = 2  # row 18's suggestion is its own label: kept, counted
    keep, out, counts = rc.condition_labels("relabel_top10", labels, score, suggest, {})
    assert keep.all() and out[19] == 2 and out[18] == labels[18] and counts == {"relabelled": 1, "kept_as_given": 1}
    assert (out[:18] == labels[:18]).all()
    keep, out, counts = rc.condition_labels("drop_top5", labels, score, suggest, {})
    assert keep.sum() == 19 and not keep[19] and counts == {"dropped": 1}
    keep, out, counts = rc.condition_labels("audited", labels, score, suggest, {3: 2, 4: 0})
    assert (out[3], out[4]) == (2, 0) and (np.delete(out, [3, 4]) == np.delete(labels, [3, 4])).all()
    _, out, _ = rc.condition_labels("given", labels, score, suggest, {3: 2})
    assert (out == labels).all()


def test_the_subset_holds_every_audited_row():
    rows = rc.subset(1000, np.array([5, 999, 3]), 50)
    assert len(rows) == 50 and {3, 5, 999} <= set(rows.tolist()) and (np.diff(rows) > 0).all()


def test_an_audit_whose_texts_are_not_the_splits_is_refused(tmp_path):
    pd.DataFrame({"sample_id": [0, 1], "text": ["a", "b"], "judgement": ["right", "wrong"],
                  "correct_label": ["", "joy"]}).to_csv(tmp_path / "emotion_validation_audit.csv", index=False)
    assert rc.load_audit("validation", ["a", "b"], tmp_path)["correct_label"].tolist() == [None, "joy"]
    with pytest.raises(ValueError, match="do not match"):
        rc.load_audit("validation", ["a", "c"], tmp_path)
    assert rc.load_audit("test", ["a"], tmp_path) is None


@pytest.mark.train
@needs_emotion
@needs_distilbert_tokenizer
def test_quick_run_trains_each_condition_and_reports_it(tmp_path):
    out = tmp_path / "rc.json"
    rc.main(["--quick", "--work-dir", str(tmp_path / "work"), "--seeds", "42",
             "--conditions", "given,relabel_top5,audited", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["models"] == 3 and report["quick"]
    assert set(report["splits"]["validation"]["given"]) == {"given", "relabel_top5", "audited"}
    assert report["condition_counts"]["audited"]["corrected"] == report["audited_fixes"] > 0
    assert report["splits"]["test"]["audited"] == {}  # a smoke run scores no audit
