"""The learned error model on planted cases: a signal that marks the wrong rows is learned, one that does not is
not weighted; too few judgements keep the fixed mix; held-out quality is measured on rows the fit did not see."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.audit import error_model as em
from core.audit.evidence import evidence_matrix, reasons
from core.audit.suggest import fit_suggester, vote_suggestion

NAMES = ["joy", "fear", "anger"]


def _planted(n: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    wrong = rng.random(n) < 0.15
    table = pd.DataFrame({
        "label": rng.choice(NAMES, n),
        "neg_rule": np.where(wrong, rng.random(n) * 0.5 + 0.5, rng.random(n) * 0.7),  # marks the wrong rows
        "aum": rng.random(n),  # noise
    })
    evidence = evidence_matrix(table, NAMES, ["neg_rule", "aum"])
    ids = rng.choice(n, 400, replace=False)
    audit = pd.DataFrame({"sample_id": ids, "judgement": np.where(wrong[ids], "wrong", "right"),
                          "sampling": "uniform", "weight": 1.0})
    return table, evidence, em.judgements_frame(audit, None), wrong


def test_a_marking_signal_is_learned_and_noise_is_not_weighted():
    table, evidence, judged, wrong = _planted()
    for kind in em.KINDS:
        model = em.fit_error_model(evidence, judged, kind=kind)
        score = model.score(evidence)
        from sklearn.metrics import roc_auc_score

        assert roc_auc_score(wrong, score) > 0.85, kind
    weights = em.fit_error_model(evidence, judged, kind="logistic").weights()
    assert weights["neg_rule"] > 1.0 and abs(weights["aum"]) < 0.3 * weights["neg_rule"]


def test_too_few_judgements_are_refused_with_the_reason():
    _, evidence, judged, _ = _planted()
    few = judged.head(em.MIN_JUDGED - 1)
    assert "at least" in em.enough(few)
    with pytest.raises(ValueError, match="at least"):
        em.fit_error_model(evidence, few)
    no_wrong = judged[judged["wrong"] == 0]
    assert em.enough(no_wrong)


def test_held_out_quality_reports_intervals_on_uniform_rows_only():
    _, evidence, judged, _ = _planted()
    judged.loc[judged.index[:50], "uniform"] = False
    q = em.held_out_quality(evidence, judged)
    assert q["uniform_rows"] == len(judged) - 50 and q["judgements"] == len(judged)
    assert q["roc_auc_ci"][0] <= q["roc_auc"] <= q["roc_auc_ci"][1] and q["roc_auc"] > 0.8
    assert 0 <= q["top_precision_ci"][0] <= q["top_precision"] <= q["top_precision_ci"][1] <= 1


def test_queue_decisions_enter_with_their_weight_and_never_twice():
    audit = pd.DataFrame({"sample_id": [1, 2], "judgement": ["wrong", "ambiguous"], "sampling": "uniform",
                          "weight": [3.0, 1.0]})
    queue = pd.DataFrame({"sample_id": [2, 3, 4, 5], "action": ["keep", "relabel", "keep", "withdraw"]})
    j = em.judgements_frame(audit, queue, queue_weight=0.5)
    assert j["sample_id"].tolist() == [1, 2, 3, 4]  # 2 is audited already; a withdrawal is no judgement
    assert j["wrong"].tolist() == [1, 0, 1, 0]
    assert j["weight"].tolist() == [1.0, 1.0, 0.5, 0.5] and j["uniform"].tolist() == [True, True, False, False]


def test_reasons_come_from_the_rows_own_signals():
    table = pd.DataFrame({"label": ["joy", "joy", "joy"], "neg_rule": [1.0, 0.0, 0.5], "aum": [0.0, 1.0, 0.5],
                          "lex_suggest": ["fear", "", "joy"], "zs_suggest": ["fear", "anger", "joy"]})
    ranks = evidence_matrix(table, NAMES, ["neg_rule", "aum"])
    first = reasons(table.iloc[0], ranks.iloc[0])
    assert [r["signal"] for r in first] == ["neg_rule", "suggest"] and "2 of 5 judges read fear" in first[1]["says"]
    second = reasons(table.iloc[1], ranks.iloc[1])
    assert [r["signal"] for r in second] == ["aum", "suggest"] and "anger" in second[1]["says"]
    assert reasons(table.iloc[2], ranks.iloc[2]) == []  # in no signal's top 20%, and every judge reads joy


def test_suggester_learns_which_judge_to_trust():
    rng = np.random.default_rng(1)
    n = 300
    truth = rng.choice(NAMES, n)
    given = np.array([NAMES[(NAMES.index(t) + 1) % 3] for t in truth])
    table = pd.DataFrame({"label": given, "zs_suggest": truth,  # right
                          "lex_suggest": rng.choice(NAMES, n)})  # noise, listed first in a vote's tie order
    wrong = pd.DataFrame({"sample_id": np.arange(n), "correct_label": truth})
    assert fit_suggester(table, wrong, NAMES, cv=True) > 0.95
    predict = fit_suggester(table, wrong, NAMES)
    assert (predict(table) == truth).mean() > 0.95 and (predict(table) != given).all()
    assert (vote_suggestion(table) != given).all()
