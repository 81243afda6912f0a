"""Does a 95% confidence mean 95%? Reliability, expected calibration error and temperature scaling.

* Expected calibration error (ECE): the predictions are put into ``bins`` equal-width confidence
  bins ``(lo, hi]`` (a confidence of exactly 0 goes to the first); ECE is the share-weighted mean
  of ``|accuracy - mean confidence|`` over the bins. Overall it uses the top class's probability;
  per class (one-vs-rest) it uses ``p_k`` against "the given label is k".
* Temperature scaling divides the log-probabilities by one ``T`` fitted to minimise the negative
  log-likelihood. A ``T`` fitted on the split it is shown on flatters that split, so the report
  says so, and also gives the held-out answer: ``T`` fitted on one half (seeded, stratified) and
  ECE measured on the other half, both ways round.

The bins are not scikit-learn's ``calibration_curve``: it returns the non-empty bins' accuracy and
mean confidence but not their counts, which ECE weighs by and the reliability plot sizes its points
by, so using it would bin twice; importing scikit-learn also costs about 2 s of the Overview tab. The
two agree on every non-empty bin away from the edges (``tests/core/test_calibration.py``); at an edge
this module's bins are ``(lo, hi]`` and scikit-learn's ``[lo, hi)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CalibrationReport", "apply_temperature", "calibration_report", "classwise_ece", "ece",
           "fit_temperature", "reliability"]

BINS = 15


def _check(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probs, dtype=float)
    labels = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or labels.shape != (probs.shape[0],):
        raise ValueError(f"probs must be (N, K) and labels (N,); got {probs.shape} and {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise ValueError(f"labels must be class ids in 0..{probs.shape[1] - 1}")
    return probs, labels


def _bin_ids(conf: np.ndarray, bins: int) -> np.ndarray:
    return np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)


def reliability(confidence: np.ndarray, correct: np.ndarray, *, bins: int = BINS) -> pd.DataFrame:
    """One row per bin: ``lo``, ``hi``, ``n``, mean ``confidence`` and ``accuracy`` (NaN in empty bins)."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    ids = _bin_ids(confidence, bins)
    n = np.bincount(ids, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(ids, weights=confidence, minlength=bins) / n
        acc = np.bincount(ids, weights=correct, minlength=bins) / n
    edges = np.linspace(0.0, 1.0, bins + 1)
    return pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "n": n, "confidence": conf, "accuracy": acc})


def _ece_of(table: pd.DataFrame) -> float:
    total = table["n"].sum()
    if total == 0:
        return float("nan")
    full = table[table["n"] > 0]
    return float((full["n"] * (full["accuracy"] - full["confidence"]).abs()).sum() / total)


def ece(probs: np.ndarray, labels: np.ndarray, *, bins: int = BINS) -> float:
    """Top-label expected calibration error of ``(N, K)`` probabilities for given class ids ``labels``."""
    probs, labels = _check(probs, labels)
    return _ece_of(reliability(probs.max(axis=1), probs.argmax(axis=1) == labels, bins=bins))


def classwise_ece(probs: np.ndarray, labels: np.ndarray, k: int, *, bins: int = BINS) -> float:
    """One-vs-rest ECE of class ``k``: ``p_k`` against "the label is k"."""
    probs, labels = _check(probs, labels)
    return _ece_of(reliability(probs[:, k], labels == k, bins=bins))


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(probs) / T)``: the same ranking, sharper (T < 1) or flatter (T > 1)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    logp = np.log(np.clip(np.asarray(probs, dtype=float), 1e-12, 1.0)) / float(temperature)
    logp -= logp.max(axis=1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=1, keepdims=True)


def _nll(probs: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    p = apply_temperature(probs, temperature)[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(p, 1e-12, 1.0)).mean())


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The ``T`` in [0.05, 20] that minimises the negative log-likelihood (bounded scalar search on log T)."""
    from scipy.optimize import minimize_scalar

    probs, labels = _check(probs, labels)
    if not len(labels):
        raise ValueError("cannot fit a temperature on no rows")
    res = minimize_scalar(lambda t: _nll(probs, labels, float(np.exp(t))), bounds=(np.log(0.05), np.log(20.0)),
                          method="bounded", options={"xatol": 1e-4})
    return float(np.exp(res.x))


@dataclass
class CalibrationReport:
    """Calibration of one model on one split.

    Attributes
    ----------
    ece, per_class : ECE overall and one-vs-rest per class name, before any temperature.
    reliability : the overall reliability table (:func:`reliability`).
    temperature : ``T`` fitted on this whole split; ``ece_scaled`` / ``reliability_scaled`` after it
        (in-sample: the same rows chose ``T``).
    heldout_ece, heldout_ece_scaled : ECE on held-out halves before and after a ``T`` fitted on the
        other half (the two halves averaged); the honest estimate of what temperature buys.
    heldout_temperatures : the two half-split temperatures.
    """

    n: int
    bins: int
    ece: float
    per_class: dict[str, float]
    reliability: pd.DataFrame
    temperature: float
    ece_scaled: float
    per_class_scaled: dict[str, float]
    reliability_scaled: pd.DataFrame
    heldout_ece: float
    heldout_ece_scaled: float
    heldout_temperatures: tuple[float, float]

    def summary(self) -> pd.DataFrame:
        """ECE per class and overall, before and after the fitted temperature (in percent)."""
        names = ["all", *self.per_class]
        before = [self.ece, *self.per_class.values()]
        after = [self.ece_scaled, *self.per_class_scaled.values()]
        return pd.DataFrame({"class": names, "ECE %": np.round(100 * np.asarray(before), 2),
                             f"ECE % at T={self.temperature:.2f} (fitted on this split)":
                                 np.round(100 * np.asarray(after), 2)})


def _halves(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    first = np.zeros(len(labels), dtype=bool)
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        rng.shuffle(idx)
        first[idx[: len(idx) // 2]] = True
    return np.flatnonzero(first), np.flatnonzero(~first)


def calibration_report(probs: np.ndarray, labels: np.ndarray, names: Sequence[str], *, bins: int = BINS,
                       seed: int = 0) -> CalibrationReport:
    """The :class:`CalibrationReport` of ``(N, K)`` probabilities for given class ids ``labels``."""
    probs, labels = _check(probs, labels)
    names = list(names)
    if len(names) != probs.shape[1]:
        raise ValueError(f"{len(names)} names for {probs.shape[1]} classes")
    t = fit_temperature(probs, labels)
    scaled = apply_temperature(probs, t)
    a, b = _halves(labels, seed)
    held, held_scaled, temps = [], [], []
    for fit_on, test_on in ((a, b), (b, a)):
        th = fit_temperature(probs[fit_on], labels[fit_on])
        temps.append(th)
        held.append(ece(probs[test_on], labels[test_on], bins=bins))
        held_scaled.append(ece(apply_temperature(probs[test_on], th), labels[test_on], bins=bins))
    return CalibrationReport(
        n=len(labels), bins=bins, ece=ece(probs, labels, bins=bins),
        per_class={n: classwise_ece(probs, labels, k, bins=bins) for k, n in enumerate(names)},
        reliability=reliability(probs.max(axis=1), probs.argmax(axis=1) == labels, bins=bins),
        temperature=t, ece_scaled=ece(scaled, labels, bins=bins),
        per_class_scaled={n: classwise_ece(scaled, labels, k, bins=bins) for k, n in enumerate(names)},
        reliability_scaled=reliability(scaled.max(axis=1), scaled.argmax(axis=1) == labels, bins=bins),
        heldout_ece=float(np.mean(held)), heldout_ece_scaled=float(np.mean(held_scaled)),
        heldout_temperatures=(temps[0], temps[1]),
    )
