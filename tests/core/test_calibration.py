"""ECE against an independent loop, reliability bins, and temperature scaling on synthetic over-confident models."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.calibration import (
    apply_temperature,
    calibration_report,
    classwise_ece,
    ece,
    fit_temperature,
    reliability,
)


def _overconfident(n=3000, k=4, sharpen=2.5, seed=0):
    """Labels drawn from calibrated probabilities, then the probabilities sharpened (over-confident by ``sharpen``)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 1.5
    true_p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(k, p=p) for p in true_p])
    return apply_temperature(true_p, 1 / sharpen), labels, true_p


def _ece_loop(conf, correct, bins):
    """Textbook ECE written independently: explicit (lo, hi] intervals, the first one closed at 0."""
    total, n = 0.0, len(conf)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [i for i in range(n) if (lo < conf[i] <= hi) or (b == 0 and conf[i] == 0.0)]
        if members:
            acc = sum(correct[i] for i in members) / len(members)
            avg = sum(conf[i] for i in members) / len(members)
            total += len(members) / n * abs(acc - avg)
    return total


@pytest.mark.parametrize("bins", [1, 10, 15])
def test_ece_matches_an_independent_loop(bins):
    probs, labels, _ = _overconfident(n=800, seed=bins)
    conf = probs.max(1).tolist()
    correct = (probs.argmax(1) == labels).tolist()
    assert ece(probs, labels, bins=bins) == pytest.approx(_ece_loop(conf, correct, bins), abs=1e-12)
    k = 2
    assert classwise_ece(probs, labels, k, bins=bins) == pytest.approx(
        _ece_loop(probs[:, k].tolist(), (labels == k).tolist(), bins), abs=1e-12)


def test_reliability_bins_count_every_row_and_put_edges_in_the_lower_bin():
    conf = np.array([0.0, 0.1, 0.5, 0.50001, 1.0])
    table = reliability(conf, np.array([1, 0, 1, 1, 0]), bins=2)
    assert table["n"].tolist() == [3, 2]  # 0.0, 0.1 and exactly 0.5 in (0, 0.5]
    assert table["accuracy"].tolist() == pytest.approx([2 / 3, 0.5])
    assert reliability(np.array([0.3]), np.array([1]), bins=4)["accuracy"].isna().sum() == 3


def test_temperature_recovers_the_sharpening_and_lowers_held_out_ece():
    probs, labels, true_p = _overconfident(sharpen=2.5)
    t = fit_temperature(probs, labels)
    assert 2.0 < t < 3.1  # undoes the sharpening of 2.5
    np.testing.assert_allclose(apply_temperature(probs, 2.5), true_p, atol=1e-6)
    rep = calibration_report(probs, labels, ["a", "b", "c", "d"], seed=1)
    assert rep.temperature == pytest.approx(t)
    assert rep.ece_scaled < rep.ece and rep.heldout_ece_scaled < rep.heldout_ece
    assert all(2.0 < x < 3.1 for x in rep.heldout_temperatures)
    assert set(rep.per_class) == {"a", "b", "c", "d"}
    assert rep.reliability["n"].sum() == len(labels)
    summary = rep.summary()
    assert summary["class"].tolist() == ["all", "a", "b", "c", "d"]
    assert "fitted on this split" in summary.columns[-1]


def test_a_calibrated_model_keeps_temperature_near_one():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(4000, 3)) * 2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    assert 0.85 < fit_temperature(p, y) < 1.15


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        ece(np.ones((3, 2)) / 2, np.array([0, 1]))
    with pytest.raises(ValueError):
        ece(np.ones((2, 2)) / 2, np.array([0, 2]))
    with pytest.raises(ValueError):
        apply_temperature(np.ones((1, 2)) / 2, 0.0)
    with pytest.raises(ValueError):
        reliability(np.array([0.5]), np.array([1]), bins=0)


def test_reliability_bins_agree_with_scikit_learns_calibration_curve_away_from_edges():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(3)
    confidence = rng.uniform(0.2, 1.0, 2_000)
    confidence = confidence[np.abs(confidence * 10 - np.round(confidence * 10)) > 1e-9]  # no value on an edge
    correct = rng.random(len(confidence)) < confidence
    ours = reliability(confidence, correct, bins=10)
    accuracy, mean_conf = calibration_curve(correct, confidence, n_bins=10, strategy="uniform")
    full = ours[ours["n"] > 0]
    np.testing.assert_allclose(full["accuracy"], accuracy)
    np.testing.assert_allclose(full["confidence"], mean_conf)
