"""Injected label noise for ``bench/noise/label_noise.py`` and the scripts built on it: the emotion classes,
the confusable-flip matrix and :func:`flip_labels`.

Noise kinds:

- ``uniform``: a flipped row moves to any other class with equal probability.
- ``confusable``: a flipped row moves to a class an annotator (or a hashtag) could plausibly have
  given instead, drawn from :data:`CONFUSABLE`.
"""

from __future__ import annotations

import numpy as np

LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")
# Rows: true class, columns: the class a confusable flip moves it to (emotion label order).
CONFUSABLE = np.array([
    #  sad  joy  love anger fear surprise
    [0.0, 0.0, 0.0, 0.5, 0.5, 0.0],  # sadness -> anger | fear
    [0.0, 0.0, 0.7, 0.0, 0.0, 0.3],  # joy -> love | surprise
    [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],  # love -> joy
    [0.5, 0.0, 0.0, 0.0, 0.5, 0.0],  # anger -> sadness | fear
    [0.5, 0.0, 0.0, 0.0, 0.0, 0.5],  # fear -> sadness | surprise
    [0.0, 0.5, 0.0, 0.0, 0.5, 0.0],  # surprise -> joy | fear
])
KINDS = ("uniform", "confusable")


def flip_labels(labels: np.ndarray, n_classes: int, *, fraction: float, seed: int,
                kind: str = "uniform") -> tuple[np.ndarray, np.ndarray]:
    """Labels with ``fraction`` of rows moved to another class, and the flipped rows' mask.

    ``uniform`` moves a row to any other class; ``confusable`` draws the new class from
    :data:`CONFUSABLE` (six emotion classes only).
    """
    rng = np.random.default_rng(seed)
    n_flip = int(round(fraction * len(labels)))
    rows = rng.choice(len(labels), size=n_flip, replace=False)
    noisy = labels.copy()
    if kind == "uniform":
        noisy[rows] = (labels[rows] + rng.integers(1, n_classes, size=n_flip)) % n_classes
    elif kind == "confusable":
        if n_classes != len(CONFUSABLE):
            raise ValueError(f"confusable noise is defined for the {len(CONFUSABLE)} emotion classes")
        noisy[rows] = [rng.choice(n_classes, p=CONFUSABLE[y]) for y in labels[rows]]
    else:
        raise ValueError(f"unknown noise kind {kind!r}; choose one of {KINDS}")
    flipped = np.zeros(len(labels), dtype=bool)
    flipped[rows] = True
    return noisy, flipped
