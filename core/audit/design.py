"""The audit's design: strata of a ranking score, the blind draw, and judgements as review decisions.

A split of ``N`` rows is cut into strata by the rank of a score (higher = more suspect): the top 1%,
the next 4%, the next 15% and the rest. A *uniform* draw takes rows in a seeded random order of the
whole split; a *stratified* draw oversamples the top, taking the next row of the stratum that is
furthest below its share (a third each of the top three strata). Either way each row's stratum is
recorded with its judgement, tagged with the digest of the ranking that defined the strata
(:func:`design_digest`), so the estimate (:mod:`core.audit.estimate`) weights every row by ``N_h / n_h``
of one design, computed when it estimates, never stored. Without a ranking (an audit run from the data
alone) every row is in the one stratum ``all``.

>>> import numpy as np
>>> strata_of(np.array([0.9, 0.1, 0.5, 0.7]), fractions=(("top", 0.25), ("rest", 1.0)))
array(['top', 'rest', 'rest', 'rest'], dtype=object)
>>> judgement_action("wrong"), action_judgement("relabel")
('relabel', 'wrong')
>>> audit_tag("stratified", "top5", "0123456789ab"), parse_audit("uniform:rest")
('stratified:top5@0123456789ab', ('uniform', 'rest', None))
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.review.decision import AUDIT_STRATA, parse_audit_tag

SAMPLINGS: tuple[str, ...] = ("uniform", "stratified")
#: Stratum name -> the share of the split's rows, by rank of the score, up to and including it.
STRATA: tuple[tuple[str, float], ...] = (("top1", 0.01), ("top5", 0.05), ("top20", 0.20), ("rest", 1.0))
#: The strata a stratified draw takes rows from, each an equal share.
OVERSAMPLED: tuple[str, ...] = ("top1", "top5", "top20")
JUDGEMENTS: tuple[str, ...] = ("right", "wrong", "ambiguous", "not_emotion")
_ACTION = {"right": "keep", "wrong": "relabel", "ambiguous": "ambiguous", "not_emotion": "not_emotion"}
_JUDGEMENT = {v: k for k, v in _ACTION.items()}
DEFAULT_SEED = 2026
#: The one stratum of a draw made without a ranking.
ALL = "all"
assert {name for name, _ in STRATA} | {ALL} == set(AUDIT_STRATA), "the review layer's audit tags name these strata"


def design_digest(strata: np.ndarray) -> str:
    """12 hex digits naming a partition of the split into strata (which row is in which stratum)."""
    return hashlib.sha256("\n".join(map(str, strata)).encode()).hexdigest()[:12]


def audit_tag(sampling: str, stratum: str, digest: str | None) -> str:
    """The ``audit`` field of a judgement: ``"<sampling>:<stratum>[@<digest>]"``."""
    return f"{sampling}:{stratum}" + (f"@{digest}" if digest else "")


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
    """One row to judge: only what a blind reader may see (not even its stratum, which would tell how the
    ranking sees it), how it was drawn, and the token its judgement must carry."""

    token: str
    sample_id: int
    text: str
    label: str
    sampling: str


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


def parse_audit(audit: str) -> tuple[str, str, str | None]:
    """``"stratified:top5@<digest>"`` -> ``("stratified", "top5", "<digest>")`` (raises ``ValueError``)."""
    return parse_audit_tag(audit)


@dataclass(frozen=True)
class Design:
    """Which judgements an estimate uses and how: each judged row's stratum (meaningful where ``used``),
    the strata sizes ``N_h`` and a sentence saying what was done."""

    used: np.ndarray
    strata: np.ndarray
    sizes: dict[str, int]
    note: str


def resolve_design(n: int, sampling: Sequence[str], stored: Sequence[str], digests: Sequence[str | None],
                   current: np.ndarray | None, current_digest: str | None) -> Design:
    """The design behind the blind judgements of a split of ``n`` rows (one entry per judged row).

    ``current`` is each judged row's stratum under the ranking shown now (``None`` without a ranking).
    Stratified rows all drawn from the current ranking: every row takes its current stratum. All rows
    drawn under one other ranking (or before digests were recorded): their recorded strata. Otherwise
    (uniform rows only, or stratified rows of several rankings) the uniform rows alone, a simple random
    sample, post-stratified by the current ranking where there is one; the note counts what is left out.
    """
    sampling = np.asarray(sampling, dtype=object)
    stored = np.asarray(stored, dtype=object)
    digests = np.array([d or "" for d in digests], dtype=object)
    stratified = sampling == "stratified"
    designs = set(digests[stratified].tolist())
    if stratified.any() and current is not None and designs == {current_digest}:
        return Design(np.ones(len(sampling), bool), np.asarray(current, dtype=object), stratum_sizes(n),
                      "uniform and stratified draws, strata of the ranking shown now")
    named = bool(np.isin(stored, [name for name, _ in STRATA]).all())
    if stratified.any() and len(designs) == 1 and set(digests.tolist()) == designs and named:
        which = next(iter(designs)) or "recorded before rankings had digests"
        return Design(np.ones(len(sampling), bool), stored, stratum_sizes(n),
                      f"uniform and stratified draws, strata of the ranking they were drawn under ({which})")
    left = int(stratified.sum())
    note = "uniform draws" + (f" only ({left} stratified judgements from other or several rankings left out)"
                              if left else "")
    if current is None:
        return Design(~stratified, np.full(len(sampling), ALL, dtype=object), {ALL: n}, note)
    return Design(~stratified, np.asarray(current, dtype=object), stratum_sizes(n),
                  note + ", post-stratified by the ranking shown now")
