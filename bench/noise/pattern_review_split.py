"""The split-wide estimate of :mod:`bench.noise.pattern_review`: reviewers act on the whole train split, the audit
estimates what their actions did there.

The audited rows are too few for a spot check of k rows inside one pattern (the largest pattern of the train
split holds 12 audited rows), so here the oracle plays two parts, on separate halves of the audit:

- the spot check: the k judgements of a pattern are drawn, with replacement, from the pattern's audited rows of
  the ``spot`` part (a random sample of the pattern's rows, within each stratum);
- the score: what a bulk relabel does to the whole pattern, and what the queue's first rows are, is estimated
  from the ``score`` part's audited rows, each standing for ``weight`` rows of its stratum (the stratum's rows
  over the part's audited rows of that stratum).

Queue review judges the split's first ``budget`` rows by ``mislabel_score``; pattern review spends k + 1
actions per pattern (largest first; one with no audited row in the spot part is passed over), then the queue
without the relabelled patterns' rows. Counts are estimates of rows of the whole split.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from bench.noise.pattern_review import Outcome, summary
from core.review.patterns import wilson


def part_weights(world: pd.DataFrame, part: pd.Index) -> pd.Series:
    """Each row of ``part``: its stratum's rows (the audit's weights summed) over the part's rows of that stratum."""
    sizes = world.groupby("stratum")["weight"].sum()
    counts = world.loc[part].groupby("stratum").size()
    strata = world.loc[part, "stratum"]
    return strata.map(sizes) / strata.map(counts)


def split_review(spot: pd.DataFrame, scored: pd.DataFrame, order: list[str], sizes: dict[str, int], *, budget: int,
                 k: int, threshold: float, rng: np.random.Generator, queue_only: bool = False) -> Outcome:
    """One draw: the queue alone (``queue_only``) or patterns then the queue; counts estimated on the split."""
    outcome, applied = Outcome(), set()
    for pid in [] if queue_only else order:
        pool = spot[spot["pattern"] == pid]
        if pool.empty or outcome.actions + k + 1 > budget:
            continue
        outcome.patterns_checked += 1
        drawn = pool.iloc[rng.integers(0, len(pool), size=k)]
        outcome.actions += k
        outcome.corrected += k * float((pool["judgement"] == "wrong").mean())
        hits = int(((drawn["judgement"] == "wrong") & (drawn["correct_label"] == drawn["suggest"])).sum())
        if wilson(hits, k)[0] < threshold:
            continue
        outcome.actions += 1
        outcome.patterns_applied += 1
        applied.add(pid)
        rows = scored[(scored["pattern"] == pid) & (scored["suggest"] != scored["label"])]
        scale = max(0.0, 1 - k / max(sizes.get(pid, k), 1))  # the spot-checked rows were judged, not bulk-changed
        w = rows["w"] * scale
        right = (rows["judgement"] == "wrong") & (rows["correct_label"] == rows["suggest"])
        outcome.bulk_changed += float(w.sum())
        outcome.bulk_right += float(w[right].sum())
        outcome.corrected += float(w[right].sum())
        outcome.broken += float(w[rows["judgement"] == "right"].sum())
        outcome.other_changes += float(w[~right & (rows["judgement"] != "right")].sum())
    left = budget - outcome.actions
    free = scored[~scored["pattern"].isin(applied)]
    reached = free[free["queue_rank"] - free["ahead"].map(lambda a: sum(a.get(p, 0) for p in applied)) < left]
    outcome.actions += left
    outcome.corrected += float((reached["w"] * (reached["judgement"] == "wrong")).sum())
    return outcome


def compare_split(world: pd.DataFrame, table_rank: pd.Series, pattern_of: pd.Series, order: list[str], *,
                  spot_part: pd.Index, score_part: pd.Index, budget: int, k: int, threshold: float, draws: int,
                  seed: int) -> dict:
    """Both reviews over ``draws`` bootstrap resamples of the score part (and new spot-check draws)."""
    rng = np.random.default_rng(seed)
    sizes = pattern_of[pattern_of != ""].value_counts().to_dict()
    scored = world.loc[score_part].assign(w=part_weights(world, score_part),
                                          queue_rank=table_rank.reindex(score_part).to_numpy())
    # how many rows of each pattern rank ahead of each scored row (they leave the queue when relabelled)
    ranked = pattern_of.to_frame("pattern").assign(rank=table_rank)
    scored["ahead"] = [ranked[(ranked["rank"] < r) & (ranked["pattern"] != "")]["pattern"].value_counts().to_dict()
                       for r in scored["queue_rank"]]
    spot = world.loc[spot_part]
    runs: dict[str, list[dict]] = {"queue": [], "patterns": []}
    for _ in range(draws):
        boot = scored.iloc[rng.integers(0, len(scored), size=len(scored))]
        runs["queue"].append(asdict(split_review(spot, boot, order, sizes, budget=budget, k=k, threshold=threshold,
                                                 rng=rng, queue_only=True)))
        runs["patterns"].append(asdict(split_review(spot, boot, order, sizes, budget=budget, k=k,
                                                    threshold=threshold, rng=rng)))
    out = {m: {key: summary([r[key] for r in rows]) for key in rows[0]} for m, rows in runs.items()}
    for m, rows in runs.items():
        out[m]["bulk_precision"] = summary([r["bulk_right"] / r["bulk_changed"] if r["bulk_changed"] else np.nan
                                            for r in rows])
    pairs = zip(runs["patterns"], runs["queue"], strict=True)
    out["corrected_ratio"] = summary([p["corrected"] / q["corrected"] if q["corrected"] else np.nan for p, q in pairs])
    return out
