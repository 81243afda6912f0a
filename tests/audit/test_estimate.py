"""The audit's estimator against simulated audits whose true rates are known."""

from __future__ import annotations

import numpy as np
import pytest

from core.audit.design import STRATA, next_ids, strata_of, stratum_sizes
from core.audit.estimate import more_for_half_width, row_weights, share, top_share, wilson

N = 4000
SIMULATIONS = 500
#: The chance that a row is wrong, by stratum of the score: errors gather at the top, as a useful score's do.
RATE_BY_STRATUM = {"top1": 0.6, "top5": 0.35, "top20": 0.2, "rest": 0.1}


def _population(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    score = rng.random(N)
    strata = strata_of(score)
    wrong = rng.random(N) < np.vectorize(RATE_BY_STRATUM.get)(strata)
    return score, strata, wrong


def _audit(rng: np.random.Generator, strata: np.ndarray, n_uniform: int, n_stratified: int) -> np.ndarray:
    seed = int(rng.integers(1 << 30))
    ids = next_ids(strata, [], {}, sampling="uniform", n=n_uniform, seed=seed)
    counts: dict[str, int] = {}
    ids += next_ids(strata, ids, counts, sampling="stratified", n=n_stratified, seed=seed + 1)
    return np.array(ids)


@pytest.mark.parametrize("n_uniform, n_stratified", [(300, 0), (300, 120), (150, 150)])
def test_the_95_percent_interval_covers_the_true_rate_92_to_98_percent_of_the_time(n_uniform, n_stratified):
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(SIMULATIONS):
        _, strata, wrong = _population(rng)
        ids = _audit(rng, strata, n_uniform, n_stratified)
        est = share(strata[ids], wrong[ids], stratum_sizes(N))
        covered += est.low <= wrong.mean() <= est.high
    assert 0.92 <= covered / SIMULATIONS <= 0.98, covered / SIMULATIONS


def test_stratified_rows_are_weighted_down_so_the_estimate_is_unbiased():
    rng = np.random.default_rng(3)
    errors, naive = [], []
    for _ in range(200):
        _, strata, wrong = _population(rng)
        ids = _audit(rng, strata, 100, 200)
        errors.append(share(strata[ids], wrong[ids], stratum_sizes(N)).value - wrong.mean())
        naive.append(wrong[ids].mean() - wrong.mean())
    assert abs(np.mean(errors)) < 0.01  # the weighted estimate is centred on the truth
    assert np.mean(naive) > 0.05  # the plain mean of an audit oversampling the top is not


def test_the_stratified_draw_takes_the_top_strata_in_equal_shares_and_never_repeats():
    strata = strata_of(np.random.default_rng(0).random(N))
    counts: dict[str, int] = {}
    ids = next_ids(strata, [], counts, sampling="stratified", n=90, seed=1)
    assert len(set(ids)) == 90
    taken = [strata[i] for i in ids]
    assert {h: taken.count(h) for h in ("top1", "top5", "top20")} == {"top1": 30, "top5": 30, "top20": 30}
    again = next_ids(strata, ids, {"top1": 30, "top5": 30, "top20": 30}, sampling="stratified", n=3, seed=1)
    assert not set(again) & set(ids)


def test_precision_among_the_top_matches_the_population_on_a_large_audit():
    rng = np.random.default_rng(5)
    score, strata, wrong = _population(rng)
    ids = _audit(rng, strata, 1500, 300)
    weights = row_weights(strata[ids], stratum_sizes(N))
    est = top_share(score, ids, wrong[ids], weights, 0.05)
    truth = wrong[np.argsort(-score)[: int(0.05 * N)]].mean()
    assert est.low <= truth <= est.high


def test_an_empty_stratum_is_pooled_so_every_row_counts():
    sizes = stratum_sizes(1000)
    est = share(np.array(["rest"] * 50 + ["top20"] * 50), np.arange(100) % 2 == 0, sizes)
    assert est.value == pytest.approx(0.5)
    assert sum(sizes.values()) == 1000 and [h for h, _ in STRATA] == list(sizes)


def test_more_decisions_needed_shrinks_as_the_audit_grows():
    small = share(np.array(["rest"] * 100), np.arange(100) < 14, {"rest": 16000})
    large = share(np.array(["rest"] * 1000), np.arange(1000) < 140, {"rest": 16000})
    assert more_for_half_width(small) > more_for_half_width(large) > 0
    assert wilson(0.0, 50)[0] == pytest.approx(0.0, abs=1e-12) and wilson(0.0, 50)[1] > 0
