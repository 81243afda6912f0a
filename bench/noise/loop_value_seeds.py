"""``bench/noise/loop_value.py`` over several training seeds and flip seeds: does a cell's gain outlast fine-tune noise?

One fine-tune's validation accuracy moves by 0.02-0.04 from one training seed to the next (measured
with this script), as much as some cells' whole gain. This reads the JSON of several ``loop_value.py``
runs (one per flip seed and training seed, same budgets and rankings) and reports, per flip seed and
pooled over them, for each ranking and budget: the mean accuracy over training seeds, its standard
deviation, the flips fixed, the recovered share of the means, (mean cell - mean noisy) / (mean clean -
mean noisy) over the runs that trained the cell, and the difference from the random ranking's cell of the
same run, with its 95% interval and a sign test. Flip seed 20's flips chose the shipped weights
(``bench/noise/real_noise.py``), so ``--chose`` (default 20) names the group a headline quotes: the flip
seeds that chose nothing (``headline`` in the JSON); the pooled group is kept beside it.

    for t in 42 43 44; do python bench/noise/loop_value.py --flip-seed 20 --train-seed $t --budgets 5 \\
        --rankings shipped,random,loss,oracle --out /tmp/lv/f20t$t.json; done   # and the same for flip seed 21
    python bench/noise/loop_value_seeds.py /tmp/lv/f*t*.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.noise.loop_value import recovered_share  # noqa: E402
from bench.noise.real_noise import CHOOSE_FLIP_SEED  # noqa: E402

OUT = ROOT / "bench" / "noise" / "results" / "loop_value_seeds.json"


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _stats(xs: list[float]) -> dict[str, Any]:
    return {"mean": round(float(np.mean(xs)), 4), "sd": round(float(np.std(xs, ddof=1)), 4) if len(xs) > 1 else None,
            "n": len(xs)}


def groups_of(runs: list[dict[str, Any]], chose: frozenset[int] = frozenset()) -> dict[str, list[dict]]:
    """The runs of each flip seed, all of them pooled, and (where some flip seeds in ``chose`` chose what is
    measured, and several others did not) the runs of the others pooled as ``held_out``."""
    by_flip: dict[int, list[dict]] = defaultdict(list)
    for run in runs:
        by_flip[int(run["flip_seed"])].append(run)
    groups = {str(f): rs for f, rs in sorted(by_flip.items())}
    if len(groups) > 1:
        groups["pooled"] = runs
    held = [f for f in by_flip if f not in chose]
    if chose & set(by_flip) and len(held) > 1:
        groups["held_out"] = [r for r in runs if int(r["flip_seed"]) not in chose]
    return groups


def headline(groups: dict[str, Any], chose: frozenset[int]) -> str:
    """The group a headline should quote: the flip seeds that chose nothing (pooled when several)."""
    if "held_out" in groups:
        return "held_out"
    held = [g for g in groups if g.isdigit() and int(g) not in chose]
    return held[0] if len(held) == 1 else ("pooled" if "pooled" in groups else next(iter(groups)))


def summarise(runs: list[dict[str, Any]], chose: frozenset[int] = frozenset()) -> dict[str, Any]:
    """Per flip seed, pooled (and ``held_out``, :func:`groups_of`): the noisy and clean models and every
    (ranking, budget) cell over training seeds.

    A cell counts a training seed only when that run trained it (accuracy not ``None``)."""
    out: dict[str, Any] = {}
    groups = groups_of(runs, chose)
    for name, rs in groups.items():
        noisy = _stats([r["noisy_model"]["accuracy"] for r in rs])
        clean = _stats([r["clean_model"]["accuracy"] for r in rs])
        acc: dict[tuple[str, str], list[float]] = defaultdict(list)
        fixed: dict[tuple[str, str], list[int]] = defaultdict(list)
        trained: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for r in rs:
            for ranking, cells in r["cells"].items():
                for budget, cell in cells.items():
                    if cell.get("accuracy") is not None:
                        acc[ranking, budget].append(cell["accuracy"])
                        fixed[ranking, budget].append(cell["flipped_in_top"])
                        trained[ranking, budget].append(r)
        cells_out: dict[str, dict[str, Any]] = defaultdict(dict)
        for (ranking, budget), xs in sorted(acc.items()):
            s = _stats(xs)
            # gain and recovered share against the noisy and clean models of the runs that trained this cell
            base = float(np.mean([r["noisy_model"]["accuracy"] for r in trained[ranking, budget]]))
            top = float(np.mean([r["clean_model"]["accuracy"] for r in trained[ranking, budget]]))
            cells_out[ranking][budget] = {**s, "flips_fixed_mean": round(float(np.mean(fixed[ranking, budget])), 1),
                                          "gain": round(s["mean"] - base, 4),
                                          "recovered": _rounded(recovered_share(s["mean"], base, top))}
        out[name] = {"runs": [{"flip_seed": r["flip_seed"], "train_seed": r["train_seed"]} for r in rs],
                     "noisy": noisy, "clean": clean, "lost_to_noise": round(clean["mean"] - noisy["mean"], 4),
                     "cells": dict(cells_out), "paired_with_random": paired_with_random(rs)}
    return out


def paired_with_random(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per ranking and budget: its cell minus the random ranking's cell of the same run (same flip and training
    seed), over the runs where both were trained: mean, sd, n and how many are above zero."""
    diffs: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in runs:
        rand = r["cells"].get("random", {})
        for ranking, cells in r["cells"].items():
            for budget, cell in cells.items():
                other = rand.get(budget, {}).get("accuracy")
                if ranking != "random" and cell.get("accuracy") is not None and other is not None:
                    diffs[ranking, budget].append(cell["accuracy"] - other)
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for (ranking, budget), xs in sorted(diffs.items()):
        out[ranking][budget] = {**_stats(xs), "above_zero": sum(x > 0 for x in xs), **paired_interval(xs)}
    return dict(out)


def paired_interval(xs: list[float]) -> dict[str, Any]:
    """The 95% t-interval of the mean paired difference, and the two-sided sign test's p (ties dropped);
    empty below two runs.

    >>> paired_interval([0.01, 0.02, 0.03])
    {'ci95': [-0.0048, 0.0448], 'sign_test_p': 0.25}
    """
    if len(xs) < 2:
        return {}
    from scipy import stats

    mean, sem = float(np.mean(xs)), float(stats.sem(xs))
    half = float(stats.t.ppf(0.975, len(xs) - 1)) * sem
    signs = [x for x in xs if x != 0]
    p = float(stats.binomtest(sum(x > 0 for x in signs), len(signs)).pvalue) if signs else 1.0
    return {"ci95": [round(mean - half, 4), round(mean + half, 4)], "sign_test_p": round(p, 4)}


def markdown(summary: dict[str, Any]) -> str:
    """One table per group: ranking x budget, mean accuracy ± sd (n), recovered share."""
    lines = []
    for name, g in summary.items():
        lines.append(f"flip seed {name}: noisy {g['noisy']['mean']} ± {g['noisy']['sd']}, clean {g['clean']['mean']}"
                     f" ± {g['clean']['sd']} ({g['noisy']['n']} training seeds)")
        for ranking, cells in g["cells"].items():
            row = "; ".join(f"{b}: {c['mean']} ± {c['sd']} (n={c['n']}, {c['flips_fixed_mean']} flips), "
                            f"recovered {c['recovered']}" for b, c in cells.items())
            lines.append(f"  {ranking}: {row}")
        for ranking, cells in g["paired_with_random"].items():
            row = "; ".join(f"{b}: {c['mean']:+.4f} ± {c['sd']} (above zero in {c['above_zero']} of {c['n']}"
                            f"; 95% CI {c.get('ci95')}, sign test p {c.get('sign_test_p')})" for b, c in cells.items())
            lines.append(f"  {ranking} minus random, same run: {row}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="JSON files written by bench/noise/loop_value.py --out")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--chose", default=str(CHOOSE_FLIP_SEED), metavar="SEEDS",
                   help="comma-separated flip seeds whose flips chose the shipped weights, kept out of the headline "
                        f"(default {CHOOSE_FLIP_SEED}, bench/noise/real_noise.py's; --chose '' for none)")
    args = p.parse_args(argv)
    runs = []
    for path in args.runs:
        try:
            run = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            p.error(f"{path}: not a loop_value JSON ({exc})")
        if run.get("bench") != "loop_value" or run.get("quick") is None:
            p.error(f"{path}: not a loop_value JSON (no 'bench': 'loop_value')")
        runs.append(run)
    if len({json.dumps({k: v for k, v in r["recipe"].items() if k != "seed"}, sort_keys=True) for r in runs}) > 1:
        p.error("the runs used different recipes; only the training seed may differ")
    try:
        chose = frozenset(int(s) for s in args.chose.split(",") if s.strip())
    except ValueError:
        p.error(f"--chose: comma-separated flip seeds, not {args.chose!r}")
    groups = summarise(runs, chose)
    summary = {"files": [str(x) for x in args.runs], "chose_flip_seeds": sorted(chose),
               "headline": headline(groups, chose), "groups": groups}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"headline: flip seed {summary['headline']} (flip seeds {sorted(chose)} chose the shipped weights)")
    print(markdown(summary["groups"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
