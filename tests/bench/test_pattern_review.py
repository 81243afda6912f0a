"""bench/noise/pattern_review.py: the simulated reviews on hand-made worlds, and a --quick run on a planted one."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from bench.noise import pattern_review as pr


def _world(n: int, wrong_share: float, pattern: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    wrong = np.arange(n) < round(wrong_share * n)
    return pd.DataFrame({"score": rng.random(n), "label": "anger", "pattern": pattern,
                         "judgement": np.where(wrong, "wrong", "right"), "correct_label": np.where(wrong, "joy", None),
                         "suggest": "joy"})


def test_queue_review_corrects_the_wrong_rows_it_reaches_and_breaks_nothing():
    world = _world(30, 0.5, "")
    out = pr.queue_review(world, budget=10)
    top = world.sort_values("score", ascending=False).head(10)
    assert out.actions == 10 and out.corrected == (top["judgement"] == "wrong").sum() and out.broken == 0


def test_a_precise_pattern_is_relabelled_in_one_action_and_a_coin_flip_is_not():
    precise, coin = _world(40, 1.0, "p"), _world(40, 0.5, "c", seed=1)
    world = pd.concat([precise, coin], ignore_index=True)
    out = pr.pattern_review(world, ["c", "p"], 100, k=10, threshold=0.55, rng=np.random.default_rng(0))
    assert out.patterns_checked == 2 and out.patterns_applied == 1
    assert out.bulk_changed == 30 and out.bulk_right == 30 and out.broken == 0  # the precise pattern's other rows
    assert out.actions == 21 + len(world) - 50  # two spot checks, one bulk action, then the queue's 30 rows left


def test_quick_run_writes_the_comparison(tmp_path):
    out = tmp_path / "pattern_review.json"
    assert pr.main(["--quick", "--draws", "5", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    run = result["runs"][0]
    assert run["threshold"] in pr.THRESHOLDS and run["rows"]["choose"] + run["rows"]["report"] == 280
    rep = run["report"]
    assert rep["queue"]["broken"]["mean"] == 0 and rep["queue"]["corrected"]["draws"] == 5
    assert rep["patterns"]["patterns_applied"]["mean"] >= 1
    assert rep["patterns"]["bulk_precision_pooled"] >= 0.8  # the planted 95% and 90% patterns pass, the 40% one not
    pooled = result["pattern_audit"]["pooled"]
    assert pooled["audited"] == 160 and pooled["low"] <= pooled["relabel_precision"] <= pooled["high"]
