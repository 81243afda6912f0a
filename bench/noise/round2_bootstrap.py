"""Round 2's ROC AUCs with 95% bootstrap intervals: the shipped mix, in-sample loss and cleanlab on the audit's
200 fresh uniform rows, and the paired difference shipped - loss.

The scores come from the train split's cached analysis table (``--table``: it carries the signal columns and
the shipped ``mislabel_score``, :func:`core.analysis.precompute.analyse_split`); the fresh rows' scores are kept
in the results JSON, so ``--rows`` recomputes the intervals from the committed file alone. The intervals are
``scipy.stats.bootstrap`` (BCa by default, rows resampled with their judgement, seeded).

    python bench/noise/round2_bootstrap.py --table .cache/analysis/<key>/table.parquet   # from the analysis
    python bench/noise/round2_bootstrap.py --rows bench/noise/results/real_noise_round2_bootstrap.json
    python bench/noise/round2_bootstrap.py --table <table> --audit bench/data/emotion_train_audit_round3.csv \
        --half round3 --out bench/noise/results/real_noise_round3_bootstrap.json   # round 3, held out
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.noise.real_noise import AUDIT, in_sample_cleanlab  # noqa: E402
from core.analysis.signals.shipped import shipped_score  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "real_noise_round2_bootstrap.json"
NAMES = ["sadness", "joy", "love", "anger", "fear", "surprise"]
SCORES = ("shipped", "loss", "mislabel_score")


def auc(wrong: np.ndarray, score: np.ndarray, axis: int = -1) -> np.ndarray:
    """ROC AUC of ``score`` for ``wrong`` (Mann-Whitney from average ranks, equal to scikit-learn's with ties),
    along ``axis`` so that ``scipy.stats.bootstrap`` can pass a batch of resamples."""
    wrong = np.asarray(wrong, dtype=float)
    ranks = stats.rankdata(score, axis=axis)
    n_pos = wrong.sum(axis=axis)
    n_neg = wrong.shape[axis] - n_pos
    return ((ranks * wrong).sum(axis=axis) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def fresh_rows(table_path: str, audit_path: str, half: str = "fresh") -> list[dict]:
    """The audit's uniform rows of one round (``half``) with their judgement and each score of :data:`SCORES`."""
    table = pd.read_parquet(table_path)
    audit = pd.read_csv(audit_path)
    audit = audit[(audit["split"] == "train") & (audit["half"] == half) & (audit["sampling"] == "uniform")]
    ids = audit["sample_id"].to_numpy(int)
    scores = {"shipped": np.asarray(shipped_score(table), float), "loss": table["loss"].to_numpy(float),
              "mislabel_score": in_sample_cleanlab(table, NAMES)}
    wrong = (audit["judgement"] == "wrong").to_numpy()
    return [{"sample_id": int(i), "wrong": bool(w), **{k: float(v[i]) for k, v in scores.items()}}
            for i, w in zip(ids, wrong, strict=True)]


def analysis_of(table: Path) -> dict | None:
    """What identifies the analysis the scores came from (its ``meta.json`` beside the table), if there."""
    meta = table.with_name("meta.json")
    if not meta.is_file():
        return None
    m = json.loads(meta.read_text())
    return {k: m.get(k) for k in ("model", "model_fingerprint", "data_fingerprint", "split", "ranking", "backend",
                                  "created")}


def interval(statistic, data: tuple[np.ndarray, ...], seed: int, resamples: int, method: str = "BCa") -> dict:
    """The statistic and its 95% bootstrap interval (``method``: scipy's ``BCa`` or ``percentile``), rows resampled
    together."""
    res = stats.bootstrap(data, statistic, paired=True, vectorized=True, n_resamples=resamples,
                          confidence_level=0.95, method=method, random_state=np.random.default_rng(seed))
    return {"value": round(float(statistic(*data)), 4), "low": round(float(res.confidence_interval.low), 4),
            "high": round(float(res.confidence_interval.high), 4)}


def summarise(rows: list[dict], seed: int = 0, resamples: int = 10_000, method: str = "BCa") -> dict:
    """Each score's ROC AUC and the paired difference shipped - loss, with their intervals."""
    wrong = np.array([r["wrong"] for r in rows], dtype=float)
    cols = {k: np.array([r[k] for r in rows], dtype=float) for k in SCORES}
    out = {k: interval(auc, (wrong, cols[k]), seed, resamples, method) for k in SCORES}

    def gap(w: np.ndarray, a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return auc(w, a, axis=axis) - auc(w, b, axis=axis)

    out["shipped_minus_loss"] = interval(gap, (wrong, cols["shipped"], cols["loss"]), seed, resamples, method)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--table", help="the train split's cached analysis table (parquet, with the signal columns)")
    src.add_argument("--rows", type=Path, help="a results JSON of this script: recompute from its rows")
    p.add_argument("--audit", default=str(AUDIT))
    p.add_argument("--half", default="fresh", help="the round to score: fresh (round 2) or round3 (with --audit "
                   "bench/data/emotion_train_audit_round3.csv)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resamples", type=int, default=10_000)
    p.add_argument("--method", choices=("BCa", "percentile"), default="BCa", help="scipy's interval method")
    p.add_argument("--out", type=Path, default=OUT, help=f"JSON file (default {OUT.relative_to(OUT.parents[3])})")
    args = p.parse_args(argv)
    if args.rows:
        given = json.loads(args.rows.read_text())
        rows, analysis = given["rows"], given.get("analysis")
    else:
        rows, analysis = fresh_rows(args.table, args.audit, args.half), analysis_of(Path(args.table))
    if not rows or all(r["wrong"] for r in rows) or not any(r["wrong"] for r in rows):
        p.error("the rows need both wrong and other judgements")
    report = {"bench": "real_noise_round2_bootstrap", "half": args.half, "rows_judged": len(rows),
              "wrong": sum(r["wrong"] for r in rows), "analysis": analysis,
              "method": f"scipy.stats.bootstrap, {args.method}, paired rows",
              "seed": args.seed, "resamples": args.resamples,
              "roc_auc": summarise(rows, args.seed, args.resamples, args.method), "rows": rows}
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
