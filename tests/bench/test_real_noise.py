"""bench/noise/real_noise.py's pieces on the committed audit: the halves and the per-signal evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.noise.real_noise import AUDIT, evaluate, half_of


def test_the_halves_are_fixed_by_the_sample_id_and_split_the_audit_about_evenly():
    audit = pd.read_csv(AUDIT)
    first = audit[audit["half"] != "fresh"]
    halves = first["sample_id"].map(half_of)
    assert set(halves) == {"choose", "report"}
    assert abs((halves == "choose").mean() - 0.5) < 0.1
    assert (halves == first["half"]).all()  # the committed column is the rule's answer


def test_the_fresh_round_is_uniform_and_new():
    audit = pd.read_csv(AUDIT)
    fresh = audit[audit["half"] == "fresh"]
    assert len(fresh) >= 200 and set(fresh["sampling"]) == {"uniform"}
    assert audit["sample_id"].is_unique  # no row judged twice


def test_a_signal_that_knows_the_wrong_labels_ranks_them_perfectly_and_a_constant_does_not():
    audit = pd.read_csv(AUDIT)
    n = 16_000
    oracle = np.zeros(n)
    oracle[audit.loc[audit["judgement"] == "wrong", "sample_id"]] = 1.0
    half = audit[audit["sample_id"].map(half_of) == "report"]
    good = evaluate(oracle, half, n)
    assert good["roc_auc"] == 1.0
    flat = evaluate(np.zeros(n), half, n)
    assert flat["roc_auc"] == 0.5
    assert good["precision_top1"]["value"] > 0.9  # the top 1% holds every wrong row, ties after them
    assert good["wrong_uniform"] == flat["wrong_uniform"] == int(
        ((half["sampling"] == "uniform") & (half["judgement"] == "wrong")).sum())
