"""The explainer's budget against its faithfulness, agreement, stability and time: is there a budget that
meets issue 28's targets together?

On ``--texts`` texts of ``--split`` (drawn as :mod:`bench.faithfulness.faithfulness` draws them: same seed, same
first texts), shap's reference (large-budget Partition explainer) and the product's explainer at every
budget of :data:`BUDGETS` explain the class the fp32 model predicts. For each budget it reports:

* comprehensiveness and sufficiency (ERASER's bins, the fp32 model judges, one batched pass per text);
* Spearman with the reference's word values, and whether the top word is the same;
* median seconds per text, and that median as a fraction of the reference's, timed in this run;
* stability on the texts that budget samples: Spearman between seeds 0 and 1, share whose top word changes.

Nothing is chosen here: the table is the trade-off, read against the targets (time at most 1/30 of the
reference, comprehensiveness at least the reference's minus 0.01, seed Spearman at least 0.9).

Usage::

    python bench/faithfulness/faithfulness_budget.py           # 120 validation texts (about 15 minutes on 2 cores)
    python bench/faithfulness/faithfulness_budget.py --quick   # smoke run: 2 texts, two budgets, small reference
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.faithfulness.attributions import judge_probs, text_words, timed  # noqa: E402
from bench.faithfulness.faithfulness import drawn_texts, quiet_seeded_torch, sampled_path  # noqa: E402
from bench.harness import MINILM  # noqa: E402
from bench.speed.explain import large_budget_reference, spearman  # noqa: E402
from core.explanation.faithfulness import score_orders  # noqa: E402

OUT = ROOT / "bench" / "faithfulness" / "results" / "faithfulness_budget.json"
#: name -> ExplainBudget overrides: the default scaled down and up; the larger ones also sample to a higher
#: reliability (the default stops at 0.86, so a larger budget alone would not be spent).
BUDGETS: dict[str, dict[str, Any]] = {
    "x0.25": {"per_token": 2.0, "offset": 8, "min_evals": 8, "max_evals": 300},
    "x0.5": {"per_token": 4.0, "offset": 16, "min_evals": 16, "max_evals": 600},
    "default": {},
    "x2-r0.93": {"per_token": 16.0, "offset": 64, "max_evals": 2400, "max_pairs": 24,
                             "reliability": 0.93},
    "x4-r0.96": {"per_token": 32.0, "offset": 128, "max_evals": 4800, "max_pairs": 48,
                             "reliability": 0.96},
}


def explainers(clf: Any, names: list[str]) -> dict[str, tuple[Any, Any]]:
    """Per budget name, the product's explainer at seed 0 and at seed 1, on the served classifier."""
    from core.explanation.explain import ExplainBudget, TokenShapExplainer

    out = {}
    for name in names:
        pair = tuple(TokenShapExplainer(clf.model, clf.tokenizer, list(clf.labels),
                                        budget=ExplainBudget(**BUDGETS[name], seed=seed)) for seed in (0, 1))
        out[name] = pair
    return out


def word_values(explainer: Any, tw: Any, text: str, target: int) -> tuple[np.ndarray, float]:
    """The explainer's word values toward ``target`` (cache cleared) and the seconds it took."""
    explainer.clear_cache()
    result, seconds = timed(explainer.explain, text)
    return tw.to_words(result.values[:, target]), seconds


def one_text(judge: Any, tok: Any, labels: list[str], pairs: dict[str, tuple[Any, Any]], text: str,
             ref_max_evals: int) -> dict[str, Any]:
    """Reference and every budget on ``text``: scores, agreement, time and (where sampled) stability."""
    def predict(texts: list[str]) -> np.ndarray:
        return judge_probs(judge, tok, texts)

    tw = text_words(tok, text)
    target = int(np.argmax(predict([text])[0]))
    ref, ref_s = timed(large_budget_reference, judge, tok, labels, text, ref_max_evals)
    values, rec = {"reference": tw.to_words(ref[:, target])}, {"text": text, "words": len(tw.words), "budgets": {}}
    rec["budgets"]["reference"] = {"seconds": ref_s}
    for name, (seed0, seed1) in pairs.items():
        values[name], seconds = word_values(seed0, tw, text, target)
        row = {"seconds": seconds, "spearman_ref": spearman(values[name], values["reference"]),
               "same_top_ref": bool(np.argmax(values[name]) == np.argmax(values["reference"]))}
        if sampled_path(seed0, text):
            other, _ = word_values(seed1, tw, text, target)
            row["stability"] = {"spearman": spearman(values[name], other),
                                "top_changed": bool(np.argmax(values[name]) != np.argmax(other))}
        rec["budgets"][name] = row
    names = list(values)
    orders = [np.argsort(-values[n], kind="stable") for n in names]
    p_text, without, only = score_orders(text, tw.spans, orders, predict, target)
    for j, n in enumerate(names):
        rec["budgets"][n]["comprehensiveness"] = float(np.mean(p_text - without[j]))
        rec["budgets"][n]["sufficiency"] = float(np.mean(p_text - only[j]))
    return rec


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per budget: means over texts, median seconds, the fraction of the reference's median, stability."""
    ref_median = float(np.median([r["budgets"]["reference"]["seconds"] for r in records]))
    out = {}
    for name in records[0]["budgets"]:
        rows = [r["budgets"][name] for r in records]
        median = float(np.median([row["seconds"] for row in rows]))
        row: dict[str, Any] = {
            "comprehensiveness": round(float(np.mean([x["comprehensiveness"] for x in rows])), 4),
            "sufficiency": round(float(np.mean([x["sufficiency"] for x in rows])), 4),
            "median_s": round(median, 4), "fraction_of_reference": round(median / ref_median, 4)}
        if name != "reference":
            row["spearman_ref"] = round(float(np.mean([x["spearman_ref"] for x in rows])), 4)
            row["same_top_ref"] = round(float(np.mean([x["same_top_ref"] for x in rows])), 4)
            stab = [x["stability"] for x in rows if "stability" in x]
            row["sampled_texts"] = len(stab)
            if stab:
                row["seed_spearman"] = round(float(np.mean([s["spearman"] for s in stab])), 4)
                row["top_word_changed"] = round(float(np.mean([s["top_changed"] for s in stab])), 4)
        out[name] = row
    return out


def meets(table: dict[str, Any]) -> dict[str, dict[str, bool]]:
    """Per budget, issue 28's targets that concern the budget."""
    ref = table["reference"]
    return {name: {"time <= reference / 30": row["fraction_of_reference"] <= 1 / 30,
                   "comprehensiveness >= reference - 0.01": row["comprehensiveness"] >= ref["comprehensiveness"] - 0.01,
                   "sufficiency <= reference + 0.01": row["sufficiency"] <= ref["sufficiency"] + 0.01,
                   "seed spearman >= 0.9": row.get("seed_spearman", 1.0) >= 0.9}
            for name, row in table.items() if name != "reference"}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", default="validation", choices=("train", "validation", "test"))
    p.add_argument("--texts", type=int, default=120)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ref-max-evals", type=int, default=6000)
    p.add_argument("--budgets", default=None, help="comma-separated names of BUDGETS (default: all)")
    p.add_argument("--backend", default=None, help="the served backend (default: the app's)")
    p.add_argument("--out", type=Path, default=None, help=f"JSON file (default {OUT.relative_to(ROOT)})")
    p.add_argument("--quick", action="store_true", help="2 texts, two budgets, small reference, no file unless --out")
    args = p.parse_args(argv)
    if args.quick:
        args.texts, args.ref_max_evals = 2, 300
        args.budgets = args.budgets or "x0.25,default"
    elif args.out is None:
        args.out = OUT
    args.budgets = args.budgets or ",".join(BUDGETS)
    return args


def main(argv: list[str] | None = None) -> int:
    import transformers

    from core.classifier.model import load_classifier
    from core.settings import Settings

    args = parse(argv)
    names = [n.strip() for n in args.budgets.split(",") if n.strip()]
    if unknown := [n for n in names if n not in BUDGETS]:
        print(f"unknown budget(s) {unknown}; choose from {list(BUDGETS)}", file=sys.stderr)
        return 2
    threads = quiet_seeded_torch()
    clf = load_classifier(MINILM, backend=args.backend or Settings().backend)
    judge = transformers.AutoModelForSequenceClassification.from_pretrained(MINILM).eval()
    pairs = explainers(clf, names)
    start, records = time.perf_counter(), []
    for i, text in enumerate(drawn_texts(args.split, args.texts, args.seed)):
        records.append(one_text(judge, clf.tokenizer, list(clf.labels), pairs, text, args.ref_max_evals))
        print(f"[{i + 1}/{args.texts}] {records[-1]['words']} words", file=sys.stderr, flush=True)
    table = summary(records)
    from core.explanation.explain import ExplainBudget

    report = {"bench": "faithfulness_budget", "split": args.split, "seed": args.seed, "texts": len(records),
              "torch_threads": threads, "backend": clf.backend.name, "ref_max_evals": args.ref_max_evals,
              "budgets": {n: dataclasses.asdict(ExplainBudget(**BUDGETS[n])) for n in names},
              "minutes": round((time.perf_counter() - start) / 60, 1), "table": table, "targets": meets(table),
              "per_text": records}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "per_text"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
