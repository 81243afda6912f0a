"""bench/noise/round2_bootstrap.py: the AUC it bootstraps, the rows it reads from a table, and a rerun from the
committed rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from bench.noise.round2_bootstrap import OUT, auc, fresh_rows, main, summarise
from core.analysis.signals.shipped import WEIGHTS


def test_auc_equals_scikit_learns_with_ties_and_along_an_axis():
    rng = np.random.default_rng(3)
    wrong = rng.random((4, 50)) < 0.3
    score = rng.integers(0, 6, (4, 50)).astype(float)  # many ties
    batch = auc(wrong, score, axis=-1)
    assert batch == pytest.approx([roc_auc_score(w, s) for w, s in zip(wrong, score, strict=True)])


def test_summarise_gives_each_auc_inside_its_interval_and_a_positive_gap_for_a_separating_score():
    rng = np.random.default_rng(0)
    wrong = rng.random(120) < 0.2
    rows = [{"wrong": bool(w), "shipped": float(w) + rng.normal(0, 0.5), "loss": rng.normal(),
             "mislabel_score": rng.normal()} for w in wrong]
    out = summarise(rows, seed=1, resamples=300)
    for name in ("shipped", "loss", "mislabel_score", "shipped_minus_loss"):
        assert out[name]["low"] <= out[name]["value"] <= out[name]["high"], name
    assert out["shipped"]["value"] == pytest.approx(roc_auc_score(wrong, [r["shipped"] for r in rows]), abs=1e-4)
    assert out["shipped_minus_loss"]["low"] > 0  # the separating score beats noise in every resample's interval
    assert summarise(rows, seed=1, resamples=300) == out  # seeded


def test_fresh_rows_reads_only_the_fresh_uniform_rows_of_the_table(tmp_path):
    n = 30
    rng = np.random.default_rng(2)
    names = ["sadness", "joy", "love", "anger", "fear", "surprise"]
    probs = rng.dirichlet(np.ones(6), n)
    table = pd.DataFrame({"text": [f"t{i}" for i in range(n)], "label": [names[i % 6] for i in range(n)],
                          "loss": np.arange(n, dtype=float),
                          **{f"prob_{c}": probs[:, j] for j, c in enumerate(names)},
                          **{s: rng.random(n) for s in WEIGHTS}})
    table.to_parquet(tmp_path / "table.parquet")
    audit = pd.DataFrame({"split": "train", "sample_id": [3, 5, 7, 9],
                          "judgement": ["wrong", "right", "wrong", "right"],
                          "sampling": ["uniform", "uniform", "stratified", "uniform"],
                          "half": ["fresh", "fresh", "fresh", "report"]})
    audit.to_csv(tmp_path / "audit.csv", index=False)
    rows = fresh_rows(str(tmp_path / "table.parquet"), str(tmp_path / "audit.csv"))
    assert [(r["sample_id"], r["wrong"], r["loss"]) for r in rows] == [(3, True, 3.0), (5, False, 5.0)]
    assert set(rows[0]) == {"sample_id", "wrong", "shipped", "loss", "mislabel_score"}


def test_rerun_from_the_committed_rows_reproduces_the_committed_intervals(tmp_path):
    committed = json.loads(OUT.read_text())
    assert committed["rows_judged"] == len(committed["rows"]) and committed["wrong"] == sum(
        r["wrong"] for r in committed["rows"])
    out = tmp_path / "again.json"
    assert main(["--rows", str(OUT), "--out", str(out), "--seed", str(committed["seed"]),
                 "--resamples", str(committed["resamples"])]) == 0
    again = json.loads(out.read_text())
    assert again["roc_auc"] == committed["roc_auc"] and again["analysis"] == committed["analysis"]
