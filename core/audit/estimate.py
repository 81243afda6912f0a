"""Estimates from an audit: post-stratified shares with 95% intervals, and how well a signal ranks.

Every audited row stands for ``N_h / n_h`` rows of the split, where ``N_h`` is the size of its stratum
(:func:`core.audit.design.stratum_sizes`) and ``n_h`` the number of audited rows in that stratum, from
the uniform and the stratified draws together (within a stratum both are simple random samples of it).
A share is the weighted mean; its variance is the stratified one, ``sum_h W_h^2 (1 - n_h/N_h) s_h^2 / n_h``,
and the 95% interval is Wilson's at the effective sample size ``p (1 - p) / variance``. A stratum with no
audited row is pooled with the next one down (or up, for the last), so its rows still count.

>>> import numpy as np
>>> est = share(np.array(["rest"] * 100), np.arange(100) < 14, {"rest": 16_000})
>>> round(est.value, 2), round(est.low, 3), round(est.high, 3)
(0.14, 0.085, 0.222)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A share with its 95% interval; ``n`` rows behind it, ``n_eff`` their effective number."""

    value: float
    low: float
    high: float
    n: int
    n_eff: float

    def as_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def wilson(p: float, n_eff: float, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval (statsmodels) for a share ``p`` observed on ``n_eff`` (possibly fractional) rows."""
    from scipy.stats import norm
    from statsmodels.stats.proportion import proportion_confint

    if n_eff <= 0 or not math.isfinite(p):
        return math.nan, math.nan
    low, high = proportion_confint(p * n_eff, n_eff, alpha=2 * norm.sf(z), method="wilson")
    return max(0.0, float(low)), min(1.0, float(high))


def pooled_sizes(strata: np.ndarray, sizes: Mapping[str, int]) -> tuple[np.ndarray, dict[str, int]]:
    """Pool every stratum without an audited row into its neighbour; returns (row strata, sizes)."""
    names = list(sizes)
    present = set(strata.tolist())
    target = {}
    for i, h in enumerate(names):
        if h in present:
            target[h] = h
            continue
        below = [g for g in names[i + 1:] if g in present]
        above = [g for g in reversed(names[:i]) if g in present]
        target[h] = (below or above or [h])[0]
    pooled: dict[str, int] = {}
    for h, size in sizes.items():
        pooled[target[h]] = pooled.get(target[h], 0) + int(size)
    return np.array([target.get(h, h) for h in strata], dtype=object), pooled


def row_weights(strata: np.ndarray, sizes: Mapping[str, int]) -> np.ndarray:
    """Each audited row's weight ``N_h / n_h`` (rows of the split it stands for)."""
    strata, pooled = pooled_sizes(np.asarray(strata, dtype=object), sizes)
    counts = {h: int((strata == h).sum()) for h in pooled}
    return np.array([pooled[h] / counts[h] for h in strata], dtype=float)


def share(strata: np.ndarray, hit: np.ndarray, sizes: Mapping[str, int]) -> Estimate:
    """The post-stratified share of the split's rows with ``hit`` (one bool per audited row)."""
    strata = np.asarray(strata, dtype=object)
    hit = np.asarray(hit, dtype=bool)
    if len(hit) == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, 0.0)
    strata, pooled = pooled_sizes(strata, sizes)
    total = sum(pooled.values())
    value = variance = 0.0
    for h, size in pooled.items():
        in_h = strata == h
        n_h = int(in_h.sum())
        if n_h == 0:
            continue
        p_h = float(hit[in_h].mean())
        weight = size / total
        value += weight * p_h
        if n_h > 1:
            variance += weight**2 * (1 - n_h / size) * p_h * (1 - p_h) / (n_h - 1)
    n = len(hit)
    n_eff = value * (1 - value) / variance if variance > 0 else float(n)
    low, high = wilson(value, n_eff)
    return Estimate(value, low, high, n, n_eff)


def weighted_share(hit: np.ndarray, weights: np.ndarray) -> Estimate:
    """A ratio estimate ``sum(w * hit) / sum(w)`` with Wilson's interval at Kish's effective size."""
    hit = np.asarray(hit, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if len(hit) == 0 or weights.sum() <= 0:
        return Estimate(math.nan, math.nan, math.nan, 0, 0.0)
    value = float((weights * hit).sum() / weights.sum())
    n_eff = float(weights.sum() ** 2 / (weights**2).sum())
    low, high = wilson(value, n_eff)
    return Estimate(value, low, high, len(hit), n_eff)


def top_share(score: np.ndarray, audited: np.ndarray, hit: np.ndarray, weights: np.ndarray, k: float) -> Estimate:
    """Precision among the split's top ``k`` (a fraction) by ``score``: the weighted share of audited
    rows in that top with ``hit``. ``audited`` holds their row ids in the split."""
    score = np.asarray(score, dtype=float)
    n = len(score)
    order = np.lexsort((np.arange(n), -score))
    top = np.zeros(n, dtype=bool)
    top[order[: max(1, math.ceil(k * n))]] = True
    inside = top[np.asarray(audited, dtype=int)]
    return weighted_share(np.asarray(hit)[inside], np.asarray(weights)[inside])


def more_for_half_width(est: Estimate, half_width: float = 0.02) -> int:
    """How many more decisions (at the current design effect) bring the interval to ``±half_width``."""
    if not math.isfinite(est.value) or est.n == 0:
        return 0
    p = min(max(est.value, 1e-3), 1 - 1e-3)
    needed_eff = Z95**2 * p * (1 - p) / half_width**2
    design_effect = est.n / est.n_eff if est.n_eff > 0 else 1.0
    return max(0, math.ceil(needed_eff * design_effect - est.n))


def ranking_quality(score: np.ndarray, hit: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """ROC AUC and average precision of ``score`` for ``hit`` on audited rows (NaN if one class)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    hit = np.asarray(hit, dtype=bool)
    if len(hit) == 0 or hit.all() or not hit.any():
        return {"roc_auc": math.nan, "average_precision": math.nan}
    return {"roc_auc": float(roc_auc_score(hit, score, sample_weight=weights)),
            "average_precision": float(average_precision_score(hit, score, sample_weight=weights))}
