"""What the faithfulness line costs the live explanation, for each number of random orders in its baseline.

The line (:func:`core.explanation.faithfulness.with_faithfulness`) scores the explained words and a
random-words baseline of ``random_orders`` random orders in one batched forward pass; fewer orders mean
fewer edited texts in that pass, and a noisier baseline, so a wider "weak" margin. For each number of
orders in ``--orders`` this prints, on ``--texts`` texts of ``--split`` drawn with ``--seed``:

* the margin fitted for that many orders on ``--margin-texts`` *train* texts (``bench/faithfulness/faithfulness.py``'s
  ``fit_margin``; a different draw from the texts timed when ``--split train``: seed + 1);
* the p50 of the live explanation (explain + words) and of the same with the line, and what the line adds;
* the share of explanations marked weak, and the mean gap between comprehensiveness and the baseline.

Every text is explained once; the lines of each number of orders run on it one after the other, in an
order that alternates from text to text, on the served classifier (as the app runs them).

    python bench/faithfulness/faithfulness_line.py --split train --texts 100          # choose (train texts)
    python bench/faithfulness/faithfulness_line.py --split validation --texts 300     # report (validation texts)
    python bench/faithfulness/faithfulness_line.py --quick                            # smoke: 3 texts, 10 margin texts
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.faithfulness.attributions import timed  # noqa: E402
from bench.faithfulness.faithfulness import MINILM, drawn_texts, fit_margin, load, quiet_seeded_torch  # noqa: E402

OUT = ROOT / "bench" / "faithfulness" / "results" / "faithfulness_line.json"


def line_cost(texts: list[str], orders: list[int], margins: dict[int, float], backend: str | None) -> dict[str, Any]:
    """Per number of orders: p50 seconds of the live explanation with and without the line, weak share, gap."""
    from core.explanation.faithfulness import one_pass, with_faithfulness
    from core.explanation.words import explanation_from_attribution

    methods, clf, _ = load(MINILM, backend, ref_max_evals=10, lime_samples=10)
    predict = one_pass(clf)
    live: list[float] = []
    lines: dict[int, list[float]] = {k: [] for k in orders}
    scores: dict[int, list[Any]] = {k: [] for k in orders}
    for i, text in enumerate(texts):
        methods.explainer.clear_cache()
        start = time.perf_counter()
        exp = explanation_from_attribution(methods.explainer.explain(text), clf.tokenizer)
        live.append(time.perf_counter() - start)
        for k in (orders if i % 2 == 0 else orders[::-1]):
            scored, seconds = timed(with_faithfulness, exp, predict, random_orders=k, margin=margins[k])
            lines[k].append(seconds)
            scores[k].append(scored.faithfulness)
        print(f"[{i + 1}/{len(texts)}] live {live[-1]:.3f} s, line "
              + ", ".join(f"{k} orders {lines[k][-1]:.3f} s" for k in orders), file=sys.stderr, flush=True)
    p50 = float(np.median(live))
    out: dict[str, Any] = {"live_p50_s": round(p50, 4), "orders": {}}
    for k in orders:
        with_line = float(np.median(np.add(live, lines[k])))
        faith = [f for f in scores[k] if f is not None]
        out["orders"][str(k)] = {
            "margin": margins[k], "line_p50_s": round(float(np.median(lines[k])), 4),
            "live_with_line_p50_s": round(with_line, 4), "added": round(with_line / p50 - 1, 4),
            "weak_share": round(float(np.mean([f.weak for f in faith])), 4),
            "gap_to_random_mean": round(float(np.mean([f.comprehensiveness - f.random_comprehensiveness
                                                       for f in faith])), 4)}
    return out


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", default="validation", choices=("train", "validation", "test"))
    p.add_argument("--texts", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--orders", default="4,2", help="comma-separated numbers of random orders to compare")
    p.add_argument("--margin-texts", type=int, default=120, help="train texts each margin is fitted on")
    p.add_argument("--backend", default=None, help="the served backend (default: the app's)")
    p.add_argument("--out", type=Path, default=None, help=f"JSON file (default {OUT.relative_to(ROOT)})")
    p.add_argument("--quick", action="store_true", help="3 texts, 10 margin texts, no file unless --out")
    args = p.parse_args(argv)
    try:
        args.orders = [int(k) for k in args.orders.split(",") if k.strip()]
    except ValueError:
        p.error("--orders: comma-separated whole numbers, e.g. 4,2")
    if not args.orders or min(args.orders) < 1:
        p.error("--orders: at least one number, each at least 1")
    if args.quick:
        args.texts, args.margin_texts = 3, 10
    elif args.out is None:
        args.out = OUT
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    threads = quiet_seeded_torch()
    margin_seed = args.seed + 1 if args.split == "train" else args.seed
    fits = {k: fit_margin(args.margin_texts, margin_seed, orders=k) for k in args.orders}
    report: dict[str, Any] = {"split": args.split, "texts": args.texts, "seed": args.seed,
                              "torch_threads": threads, "margins_fitted_on": fits,
                              "date": time.strftime("%Y-%m-%d")}
    report.update(line_cost(drawn_texts(args.split, args.texts, args.seed), args.orders,
                            {k: fits[k]["margin_q95"] for k in args.orders}, args.backend))
    report["target"] = {str(k): v["added"] <= 0.25 for k, v in report["orders"].items()}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
