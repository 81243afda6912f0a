"""Per-class and summary metrics are computed in one place and agree with scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from core.classifier.metrics import confusion_counts, per_class, per_class_report, summary

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_scikit_learn_with_absent_and_never_predicted_classes(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, 300)  # class 5 never occurs
    pred = np.where(rng.random(300) < 0.6, y, rng.integers(0, 4, 300))  # classes 4 and 5 rarely/never predicted
    matrix = confusion_counts(y, pred, 6)
    np.testing.assert_array_equal(matrix, confusion_matrix(y, pred, labels=range(6)))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=range(6), zero_division=0)
    got = per_class(matrix, LABELS)
    np.testing.assert_allclose(got[["precision", "recall", "f1"]].to_numpy(), np.stack([p, r, f], axis=1))
    assert got["support"].tolist() == s.tolist()
    pw, rw, fw, _ = precision_recall_fscore_support(y, pred, labels=range(6), average="weighted", zero_division=0)
    want = {"accuracy": accuracy_score(y, pred), "precision_weighted": pw, "recall_weighted": rw, "f1_weighted": fw}
    assert summary(matrix) == pytest.approx(want)


def test_the_report_reads_names_and_refuses_unknown_ones():
    table = pd.DataFrame({"label": ["joy", "joy", "fear"], "pred": ["joy", "fear", "fear"]})
    report = per_class_report(table, LABELS)
    assert report["class"].tolist() == [*LABELS, "accuracy", "weighted avg"]
    assert report.loc[report["class"] == "accuracy", "f1"].item() == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="not in labels"):
        per_class_report(table.assign(pred=["joy", "bored", "fear"]), LABELS)


def test_codes_out_of_range_are_refused():
    with pytest.raises(ValueError, match="must lie in"):
        confusion_counts(np.array([0, 6]), np.array([0, 1]), 6)


def test_an_empty_matrix_scores_zero_per_class_and_nan_overall():
    table = per_class(np.zeros((3, 3), dtype=np.int64), LABELS[:3])
    assert table[["precision", "recall", "f1", "support"]].to_numpy().sum() == 0
    assert all(np.isnan(v) for v in summary(np.zeros((3, 3), dtype=np.int64)).values())
