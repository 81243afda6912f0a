"""Metrics on audited labels against hand-computed cases: weights, rows set apart, intervals, and a model that
follows the given labels on the audited-wrong rows scoring higher on given labels and lower on audited ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.audit.verdict import audited_comparison, audited_confusion, audited_metrics, audited_per_class
from dashboard.audited import audited_summary, compare_audited

LABELS = ["sadness", "joy", "anger"]


def test_accuracy_weights_and_exclusions_by_hand():
    table = pd.DataFrame({"label": ["joy", "joy", "sadness", "anger", "joy"],
                          "pred": ["joy", "sadness", "sadness", "joy", "anger"]})
    decisions = pd.DataFrame({"sample_id": [0, 1, 2, 3, 4], "judgement": ["right", "wrong", "right", "ambiguous",
                                                                          "not_emotion"],
                              "correct_label": [None, "sadness", None, None, None],
                              "weight": [1.0, 3.0, 1.0, 1.0, 1.0]})
    m = audited_metrics(table["pred"], table, decisions, LABELS)
    assert m["rows"] == 3 and m["set_apart"] == {"ambiguous": 1, "not_emotion": 1} and m["wrong_labels"] == 1
    # audited labels joy, sadness, sadness; predictions joy, sadness, sadness: all right
    assert m["accuracy"]["value"] == pytest.approx(1.0)
    # given labels joy, joy, sadness: row 1 (weight 3) is wrong -> (1 + 1) / 5
    assert m["given_accuracy"]["value"] == pytest.approx(2 / 5)
    assert m["given_accuracy"]["n_eff"] == pytest.approx(5**2 / 11)  # Kish: (sum w)^2 / sum w^2
    lo, hi = m["given_accuracy"]["low"], m["given_accuracy"]["high"]
    from statsmodels.stats.proportion import proportion_confint

    assert (lo, hi) == pytest.approx(proportion_confint(0.4 * 25 / 11, 25 / 11, method="wilson"), abs=1e-6)
    assert m["wrong_rows_fixed"]["value"] == pytest.approx(1.0)
    assert m["too_few"]


def _planted(n: int = 400, wrong_share: float = 0.15, seed: int = 0):
    rng = np.random.default_rng(seed)
    given = rng.choice(LABELS, n)
    wrong = rng.random(n) < wrong_share
    audited = np.array([LABELS[(LABELS.index(g) + 1) % 3] if w else g for g, w in zip(given, wrong, strict=True)])
    decisions = pd.DataFrame({"sample_id": np.arange(n), "judgement": np.where(wrong, "wrong", "right"),
                              "correct_label": np.where(wrong, audited, None), "weight": 5.0})
    return pd.DataFrame({"label": given}), decisions, audited, wrong


def test_a_model_that_follows_the_given_labels_wins_on_them_and_loses_on_the_audited_ones():
    table, decisions, audited, wrong = _planted()
    follows_given = table["label"].to_numpy().copy()
    follows_given[np.arange(len(table)) % 10 == 0] = "anger"  # some noise on both models
    reads_text = audited.copy()
    reads_text[np.arange(len(table)) % 10 == 0] = "anger"
    c = audited_comparison(follows_given, reads_text, table, decisions, LABELS)
    assert c["given_delta"] < 0 < c["accuracy_delta"]["value"]  # B is worse on given labels, better on audited
    assert c["verdicts_disagree"] and c["accuracy_delta"]["low"] > 0
    assert c["mcnemar"]["only_b_right"] > c["mcnemar"]["only_a_right"] and c["mcnemar"]["p_value"] < 1e-6
    a = audited_metrics(follows_given, table, decisions, LABELS)
    assert a["given_accuracy"]["value"] > a["accuracy"]["value"]
    text = compare_audited({"source": "a test audit", **c})
    assert "disagree on which model is better" in text and "400 audited rows" in text
    assert "On the audited labels" in audited_summary({"source": "x", **a})


def test_per_class_and_confusion_on_audited_rows_use_the_audited_label():
    table, decisions, audited, wrong = _planted(n=60)
    pred = audited
    per_class = audited_per_class(pred, table, decisions, LABELS)
    assert per_class["f1"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert per_class["audited rows"].sum() == 60
    cm = audited_confusion(pred, table, decisions, LABELS)
    assert np.trace(cm) == 60 and cm.sum() == 60


def test_no_audit_pretends_nothing():
    table, decisions, _, _ = _planted(n=10)
    empty = decisions.iloc[:0]
    m = audited_metrics(table["label"], table, empty, LABELS)
    assert m["rows"] == 0 and "accuracy" not in m
    assert audited_summary({"source": "none", **m}).startswith("No blind audit")
    assert compare_audited(audited_comparison(table["label"], table["label"], table, empty, LABELS)).startswith(
        "No blind audit")
