"""The audit's design: strata of a ranking score, the blind draw, and judgements as review decisions.

A split of ``N`` rows is cut into strata by the rank of a score (higher = more suspect): the top 1%,
the next 4%, the next 15% and the rest. A *uniform* draw takes rows in a seeded random order of the
whole split; a *stratified* draw oversamples the top, taking the next row of the stratum that is
furthest below its share (a third each of the top three strata). Either way each row's stratum is
recorded with its judgement, so the estimate (:mod:`core.audit.estimate`) can weight every row by
``N_h / n_h`` whatever mix of draws produced it.

>>> import numpy as np
>>> strata_of(np.array([0.9, 0.1, 0.5, 0.7]), fractions=(("top", 0.25), ("rest", 1.0)))
array(['top', 'rest', 'rest', 'rest'], dtype=object)
>>> judgement_action("wrong"), action_judgement("relabel")
('relabel', 'wrong')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

SAMPLINGS: tuple[str, ...] = ("uniform", "stratified")
#: Stratum name -> the share of the split's rows, by rank of the score, up to and including it.
STRATA: tuple[tuple[str, float], ...] = (("top1", 0.01), ("top5", 0.05), ("top20", 0.20), ("rest", 1.0))
#: The strata a stratified draw takes rows from, each an equal share.
OVERSAMPLED: tuple[str, ...] = ("top1", "top5", "top20")
JUDGEMENTS: tuple[str, ...] = ("right", "wrong", "ambiguous", "not_emotion")
_ACTION = {"right": "keep", "wrong": "relabel", "ambiguous": "ambiguous", "not_emotion": "not_emotion"}
_JUDGEMENT = {v: k for k, v in _ACTION.items()}
DEFAULT_SEED = 2026


def judgement_action(judgement: str) -> str:
    """The review action a judgement is stored as (``wrong`` is a relabel to the correct class)."""
    if judgement not in _ACTION:
        raise ValueError(f"unknown judgement {judgement!r}; choose one of {list(JUDGEMENTS)}")
    return _ACTION[judgement]


def action_judgement(action: str) -> str:
    """The judgement a stored review action stands for."""
    return _JUDGEMENT[action]


def strata_of(score: np.ndarray, fractions: Sequence[tuple[str, float]] = STRATA) -> np.ndarray:
    """Each row's stratum name by the rank of ``score`` (descending; ties by row order)."""
    n = len(score)
    order = np.lexsort((np.arange(n), -np.asarray(score, dtype=float)))
    names = np.empty(n, dtype=object)
    start = 0
    for name, share in fractions:
        stop = n if share >= 1.0 else min(n, math.ceil(share * n))
        names[order[start:stop]] = name
        start = stop
    return names


def stratum_sizes(n: int, fractions: Sequence[tuple[str, float]] = STRATA) -> dict[str, int]:
    """``N_h`` of each stratum for a split of ``n`` rows (what :func:`strata_of` assigns)."""
    sizes, start = {}, 0
    for name, share in fractions:
        stop = n if share >= 1.0 else min(n, math.ceil(share * n))
        sizes[name] = stop - start
        start = stop
    return sizes


@dataclass(frozen=True)
class Draw:
    """One row to judge: only what a blind reader may see, and how it was drawn."""

    sample_id: int
    text: str
    label: str
    sampling: str
    stratum: str

    @property
    def audit(self) -> str:
        """The ``audit`` field its decision is stored with: ``"<sampling>:<stratum>"``."""
        return f"{self.sampling}:{self.stratum}"


def next_ids(strata: np.ndarray, decided: Iterable[int], stratified_counts: dict[str, int], *,
             sampling: str, n: int = 1, seed: int = DEFAULT_SEED) -> list[int]:
    """The next ``n`` undecided row ids of a draw.

    ``uniform``: a seeded permutation of every row. ``stratified``: repeatedly the stratum of
    :data:`OVERSAMPLED` with the fewest stratified decisions so far (``stratified_counts``), and in
    it the next undecided row of a seeded permutation of that stratum.
    """
    if sampling not in SAMPLINGS:
        raise ValueError(f"unknown sampling {sampling!r}; choose one of {list(SAMPLINGS)}")
    strata = np.asarray(strata, dtype=object)
    order = np.random.default_rng(seed).permutation(len(strata))
    order = order[~np.isin(order, np.fromiter((int(i) for i in decided), dtype=np.int64))]
    if sampling == "uniform":
        return [int(i) for i in order[:n]]
    counts = {h: int(stratified_counts.get(h, 0)) for h in OVERSAMPLED}
    queues = {h: list(order[strata[order] == h][:n]) for h in OVERSAMPLED}
    out: list[int] = []
    while len(out) < n:
        open_ = [h for h in OVERSAMPLED if queues[h]]
        if not open_:
            break
        h = min(open_, key=lambda s: (counts[s], OVERSAMPLED.index(s)))
        out.append(int(queues[h].pop(0)))
        counts[h] += 1
    return out


def parse_audit(audit: str) -> tuple[str, str]:
    """``"stratified:top5"`` -> ``("stratified", "top5")``."""
    sampling, _, stratum = str(audit).partition(":")
    return sampling, stratum
