"""The learned-ranking benches end to end on a planted train table: a signal that marks the audits' wrong rows is
what the report finds on round 3, and the simulated reviewer finds more wrong labels with it than at random."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.noise import learn_loop, learned_ranking
from core.analysis.signals.shipped import WEIGHTS

N = 16_000


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    names = learned_ranking.NAMES
    wrong = np.zeros(N, dtype=bool)
    for name in ("emotion_train_audit.csv", "emotion_train_audit_round3.csv"):
        audit = learned_ranking.audit_rows(learned_ranking.DATA / name)
        wrong[audit.loc[audit["judgement"] == "wrong", "sample_id"].to_numpy()] = True
    labels = rng.choice(names, N)
    probs = rng.dirichlet(np.ones(len(names)), N)
    table = pd.DataFrame({"text": [f"t{i}" for i in range(N)], "label": labels, "pred": labels,
                          "loss": rng.random(N), **{f"prob_{n}": probs[:, j] for j, n in enumerate(names)}})
    for col in WEIGHTS:
        table[col] = rng.random(N)
    table["neg_rule"] = np.where(wrong, 0.6 + 0.4 * rng.random(N), 0.8 * rng.random(N))  # marks the wrong rows
    table["zs_suggest"] = rng.choice(names, N)
    return table


def test_report_finds_the_planted_signal_on_round_3(planted):
    out = learned_ranking.report(planted, "fixed_mix_signals", "logistic", "equal")
    assert out["fit_on"] == 620 and out["round3_rows"] == 200
    assert out["roc_auc"]["learned"]["value"] > 0.85 > out["roc_auc"]["aum"]["value"]
    assert out["weights"]["neg_rule"] == max(out["weights"].values())
    low, high = out["roc_auc"]["learned"]["low"], out["roc_auc"]["learned"]["high"]
    assert low <= out["roc_auc"]["learned"]["value"] <= high
    assert set(out["suggestion_accuracy_round3_wrong"]) >= {"learned", "vote", "rows"}


def test_the_simulated_reviewer_finds_more_with_the_learned_ranking_than_at_random(planted):
    out = learn_loop.run(planted, draws=range(2), start_n=50, batch=25, decisions=100,
                         evidence_set="fixed_mix_signals", queue_weight=0.25)
    learned, rand = out["curves"]["learned"]["mean"], out["curves"]["random"]["mean"]
    assert out["decisions"] == [25, 50, 75, 100] and len(learned) == 4
    assert all(np.diff(learned) >= 0) and learned[-1] > rand[-1] + 10
