"""bench/noise/loop_value.py: the oracle review, the rankings, and a --quick run on a tiny BERT built in code."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench.noise import loop_value as lv
from tests.conftest import EMOTION, needs_distilbert_tokenizer, needs_emotion


def context(probs: np.ndarray, labels: np.ndarray) -> lv.Context:
    return lv.Context([f"text {i}" for i in range(len(labels))], labels, probs, np.zeros((len(labels), 4)),
                      Path("."), ["a", "b", "c"])


def test_oracle_fixes_only_the_flipped_rows_of_the_top():
    clean = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    noisy = clean.copy()
    flipped = np.zeros(10, dtype=bool)
    flipped[[1, 4, 8]] = True
    noisy[flipped] = (clean[flipped] + 1) % 3
    score = np.array([0.0, 0.9, 0.1, 0.8, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])  # top 3: rows 1, 3, 9
    labels, top, hits = lv.corrected_labels(score, noisy, clean, flipped, 0.3)
    assert sorted(top.tolist()) == [1, 3, 9] and hits == 1
    assert labels[1] == clean[1]
    assert labels[4] == noisy[4] != clean[4] and labels[8] == noisy[8] != clean[8]  # flipped, outside the top
    unflipped = ~flipped
    assert np.array_equal(labels[unflipped], noisy[unflipped])


def test_a_ranking_with_the_wrong_shape_is_refused():
    labels = np.zeros(5, dtype=np.int64)
    with pytest.raises(ValueError, match="one finite score per row"):
        lv.corrected_labels(np.zeros(4), labels, labels, np.zeros(5, dtype=bool), 0.2)
    with pytest.raises(ValueError, match="one finite score per row"):
        lv.corrected_labels(np.array([0, 1, np.nan, 0, 0]), labels, labels, np.zeros(5, dtype=bool), 0.2)


def test_recovered_share():
    assert lv.recovered_share(0.85, 0.80, 0.90) == pytest.approx(0.5)
    assert lv.recovered_share(0.85, 0.80, 0.80) is None  # noise cost nothing: no share to recover


def test_rankings_score_the_suspect_rows_higher():
    from core.analysis.mislabels import mislabel_score

    probs = np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    labels = np.array([0, 0, 0, 1])
    ctx = context(probs, labels)
    loss = lv.RANKINGS["loss"](ctx)
    assert int(np.argmax(loss)) == 1 and int(np.argmin(loss)) == 0
    assert np.allclose(lv.RANKINGS["shipped"](ctx), mislabel_score(probs, labels, source="in-sample"))
    rand = lv.RANKINGS["random"](ctx)
    assert np.array_equal(rand, lv.RANKINGS["random"](ctx)) and len(set(rand.tolist())) == 4


def test_shipped_is_the_ranking_the_app_stores_for_a_trained_on_split(tmp_path):
    from core.analysis.mislabels import mislabel_score
    from core.analysis.signals.compute import compute_signals
    from core.analysis.signals.shipped import FAMILIES, shipped_score
    from tests.conftest import LABELS, split_lines

    rows = [line.rsplit(";", 1) for line in split_lines("train", 2000)]
    picked = [r for name in LABELS for r in [r for r in rows if r[1] == name][:10]]  # 10 rows of every class
    texts, labels = [t for t, _ in picked], np.array([LABELS.index(c) for _, c in picked])
    rng = np.random.default_rng(0)
    probs, hidden = rng.dirichlet(np.ones(6), len(labels)), rng.normal(size=(len(labels), 8)).astype(np.float32)
    ctx = lv.Context(texts, labels, probs, hidden, Path("."), LABELS, cache_dir=tmp_path)
    got = lv.RANKINGS["shipped"](ctx)
    signals, _ = compute_signals(texts, [LABELS[i] for i in labels], LABELS, hidden=hidden, families=FAMILIES)
    assert np.array_equal(got, shipped_score(signals))
    assert not np.allclose(got, mislabel_score(probs, labels, source="in-sample"))  # not the old cleanlab score
    assert any((tmp_path / "signals").iterdir())  # cached in the work folder


def test_oracle_ranks_every_flipped_row_first_and_needs_the_mask():
    probs, labels = np.full((6, 3), 1 / 3), np.zeros(6, dtype=np.int64)
    flipped = np.array([False, True, False, True, True, False])
    score = lv.RANKINGS["oracle"](replace(context(probs, labels), flipped=flipped))
    assert set(np.argsort(-score)[:3].tolist()) == {1, 3, 4}
    labels_after, _, hits = lv.corrected_labels(score, labels, labels + 1, flipped, 0.5)
    assert hits == 3 and np.array_equal(labels_after[flipped], np.ones(3))
    with pytest.raises(ValueError, match="flip mask"):
        lv.RANKINGS["oracle"](context(probs, labels))


def test_unknown_ranking_or_budget_is_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        lv.parse(["--rankings", "shipped,nope"])
    assert "unknown ['nope']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        lv.parse(["--budgets", "0"])
    assert "--budgets" in capsys.readouterr().err


@pytest.mark.slow
@needs_emotion
@needs_distilbert_tokenizer
def test_quick_run_with_a_plugged_in_ranking_then_from_the_cache(tmp_path):
    def oracle(ctx: lv.Context) -> np.ndarray:  # knows the flips: every top is as full of them as it can be
        _, _, noisy, flipped, _ = lv.noisy_train_subset(str(EMOTION), len(ctx.labels), lv.FLIP_SEED)
        assert np.array_equal(noisy, ctx.labels)
        return flipped.astype(float)

    args = ["--quick", "--work-dir", str(tmp_path), "--rankings", "oracle,random", "--budgets", "2,10",
            "--data", str(EMOTION)]
    report = lv.run(args, rankings={"oracle": oracle})
    assert report["rows"] == 120 and report["flipped_rows"] == 12 and not report["missing_cells"]
    assert set(report["cells"]) == {"oracle", "random"}
    for cells in report["cells"].values():
        assert set(cells) == {"2%", "10%"}
        for cell in cells.values():
            assert 0.0 <= cell["accuracy"] <= 1.0
            assert 0 <= cell["flipped_in_top"] <= min(cell["budget_rows"], report["flipped_rows"])
    assert [report["cells"]["oracle"][b]["flipped_in_top"] for b in ("2%", "10%")] == [2, 12]
    # the oracle's 10% review fixes every flip: the same labels as the clean model, so the same cached fit
    assert report["cells"]["oracle"]["10%"]["accuracy"] == report["clean_model"]["accuracy"]
    fits = sorted(p.name for p in (tmp_path / "quick" / "fits").iterdir())
    again = lv.run([*args, "--no-train"], rankings={"oracle": oracle})
    assert again["cells"] == report["cells"] and again["noisy_model"] == report["noisy_model"]
    assert sorted(p.name for p in (tmp_path / "quick" / "fits").iterdir()) == fits


def test_table_marks_untrained_cells_and_undefined_shares():
    cell = {"budget_rows": 200, "flipped_in_top": 150}
    report = {"noisy_model": {"accuracy": 0.9}, "clean_model": {"accuracy": 0.9}, "lost_to_noise": 0.0,
              "validation_rows": 2000,
              "cells": {"shipped": {"5%": {**cell, "accuracy": 0.91, "gain": 0.01, "recovered": None},
                                    "10%": {**cell, "accuracy": None, "gain": None, "recovered": None}}}}
    rows = lv.markdown_table(report).splitlines()[4:]
    assert rows[0].startswith("| shipped | 5% | 200 | 150 | 0.9100 | +0.0100 |") and "n/a (no loss)" in rows[0]
    assert "not trained" in rows[1]
