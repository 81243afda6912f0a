"""A judge that learned from emoji, not from emotion words: ``nade`` (a fastText emoji model with
gradient-boosted read-outs of Plutchik's eight basic emotions, trained on social media posts).

Its eight intensities are mapped onto the classes by design, not tuned on any row
(:data:`PLUTCHIK`: ``love`` is Plutchik's trust, ``anger`` takes disgust too, anticipation maps to
no class). ``p = (mapped + PRIOR) / (sum + K * PRIOR)``; columns ``nade_not_given = 1 - p(given)``
and ``nade_suggest`` (argmax). Without the package the column is 0 and the analysis says so.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from core.analysis.signals.registry import SignalFamily, register
from core.analysis.signals.resources import is_installed, nade_identity

#: Class -> the nade emotions whose intensities it sums.
PLUTCHIK: dict[str, tuple[str, ...]] = {"sadness": ("sadness",), "joy": ("joy",), "love": ("trust",),
                                       "anger": ("anger", "disgust"), "fear": ("fear",), "surprise": ("surprise",)}
log = logging.getLogger(__name__)
PRIOR = 0.01
BATCH = 2048


@lru_cache(maxsize=1)
def _model():
    from nade import Nade

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "unpack <emotion> model" on first use
        return Nade()


def intensities(texts: Sequence[str]) -> dict[str, np.ndarray]:
    """nade's eight emotion intensities in [0, 1] for each text (batched)."""
    model, out = _model(), {}
    for start in range(0, len(texts), BATCH):
        chunk = [t if t.strip() else "." for t in texts[start:start + BATCH]]
        for emotion, values in model.predict(chunk).items():
            out.setdefault(emotion, []).append(np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64))
    return {e: np.concatenate(v) for e, v in out.items()}


def class_scores(emotions: dict[str, np.ndarray], class_names: Sequence[str]) -> np.ndarray:
    """(N, K) the class scores :data:`PLUTCHIK` maps nade's intensities to.

    >>> class_scores({"joy": np.array([0.5]), "trust": np.array([0.2])}, ["joy", "love"]).tolist()
    [[0.5, 0.2]]
    """
    unknown = [c for c in class_names if c not in PLUTCHIK]
    if unknown:
        raise ValueError(f"nade has no mapping for the classes {unknown}; mapped: {sorted(PLUTCHIK)}")
    return np.stack([sum(emotions[e] for e in PLUTCHIK[c]) for c in class_names], axis=1)


def nade_judge(texts: Sequence[str], label_ids: np.ndarray, class_names: Sequence[str]) -> dict[str, np.ndarray]:
    """``nade_not_given`` and ``nade_suggest`` (module docstring); zeros and -1 without the package."""
    n = len(texts)
    if n == 0 or not is_installed("nade"):
        return {"nade_not_given": np.zeros(n, dtype=np.float32), "nade_suggest": np.full(n, -1)}
    try:
        scores = class_scores(intensities(list(texts)), class_names)
    except OSError as exc:  # nade unpacks its read-outs into its own folder on first use: a read-only install
        log.warning("the nade emoji model could not load (%s); nade_not_given is 0 for every row", exc)
        return {"nade_not_given": np.zeros(n, dtype=np.float32), "nade_suggest": np.full(n, -1)}
    p = (scores + PRIOR) / (scores.sum(axis=1, keepdims=True) + PRIOR * len(class_names))
    rows = np.arange(n)
    return {"nade_not_given": (1.0 - p[rows, np.asarray(label_ids, dtype=np.int64)]).astype(np.float32),
            "nade_suggest": scores.argmax(axis=1)}


FAMILY = register(SignalFamily(
    name="nade", title="emoji model judge", compute=lambda ctx: nade_judge(ctx.texts, ctx.y, ctx.names),
    optional=("nade",), params=lambda: {"map": PLUTCHIK, "prior": PRIOR, "nade": nade_identity()},
    columns={"nade_not_given": "emoji model disagrees"}))
