"""Rank samples by how likely their given label is wrong.

Signals (each in [0, 1], higher = more suspicious):

- ``self_conf``: 1 minus the model's probability of the given label (a monotone transform of the
  loss, so it ranks samples exactly as the loss does).
- ``knn_disagree``: 1 minus the mean probability, predicted by the model for the sample's
  ``k`` nearest neighbours in [CLS] hidden-state space, of the sample's given label. A mislabeled
  tweet sits among tweets that the model confidently gives another class; a merely hard tweet
  sits among neighbours that agree with its label.

The suspicion score is their weighted mean, ``SELF_WEIGHT * self_conf + (1 - SELF_WEIGHT) *
knn_disagree``. The weight was chosen by measurement with ``bench/label_noise.py`` (README,
"Finding mislabels"): the self-confidence signal alone is what sorting by loss gives; adding the
neighbourhood signal breaks its ties among the many confident-but-wrong predictions.

Example
-------
>>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.85, 0.15]])
>>> hidden = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 1.0]])
>>> scores = suspicion_scores(probs, np.array([0, 0, 1]), hidden, k=1)
>>> int(np.argmax(scores))
2
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SELF_WEIGHT = 0.5
DEFAULT_K = 10


def _check(probs: np.ndarray, labels: np.ndarray, hidden: np.ndarray) -> None:
    if probs.ndim != 2 or labels.shape != (probs.shape[0],) or hidden.shape[0] != probs.shape[0]:
        raise ValueError(
            f"probs must be (N, K), labels (N,), hidden (N, H); got {probs.shape}, {labels.shape}, {hidden.shape}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise ValueError("labels must be integer ids in [0, K)")


def neighbour_indices(hidden: np.ndarray, *, k: int = DEFAULT_K) -> np.ndarray:
    """(N, k) indices of each row's k nearest other rows by cosine distance (itself excluded)."""
    from sklearn.neighbors import NearestNeighbors

    n = hidden.shape[0]
    k = max(0, min(k, n - 1))
    if k == 0:
        return np.zeros((n, 0), dtype=np.int64)
    nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(hidden)
    idx = nn.kneighbors(hidden, return_distance=False)
    # Drop each row itself (usually column 0, but duplicates can reorder ties).
    out = np.array([[j for j in row if j != i][:k] for i, row in enumerate(idx)], dtype=np.int64)
    return out


def suspicion_signals(
    probs: np.ndarray, labels: np.ndarray, hidden: np.ndarray, *, k: int = DEFAULT_K
) -> pd.DataFrame:
    """Per-sample signals: ``self_conf``, ``knn_disagree``, ``margin_given``, and ``suspicion``.

    Parameters
    ----------
    probs : (N, K) out-of-sample probabilities, rows sum to 1, columns in label order.
    labels : (N,) given label ids.
    hidden : (N, H) hidden states used to find neighbours.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    hidden = np.asarray(hidden, dtype=np.float32)
    _check(probs, labels, hidden)
    n = len(labels)
    given = probs[np.arange(n), labels]
    others = probs.copy()
    others[np.arange(n), labels] = -np.inf
    margin_given = given - others.max(axis=1) if probs.shape[1] > 1 else given
    nbrs = neighbour_indices(hidden, k=k)
    if nbrs.shape[1]:
        knn_given = probs[nbrs, labels[:, None]].mean(axis=1)
    else:
        knn_given = given
    frame = pd.DataFrame(
        {"self_conf": 1.0 - given, "knn_disagree": 1.0 - knn_given, "margin_given": margin_given}
    )
    frame["suspicion"] = SELF_WEIGHT * frame["self_conf"] + (1 - SELF_WEIGHT) * frame["knn_disagree"]
    return frame


def suspicion_scores(
    probs: np.ndarray, labels: np.ndarray, hidden: np.ndarray, *, k: int = DEFAULT_K
) -> np.ndarray:
    """(N,) suspicion in [0, 1]; higher means the given label is more likely wrong."""
    return suspicion_signals(probs, labels, hidden, k=k)["suspicion"].to_numpy()
