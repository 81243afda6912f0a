"""How well does each mislabel signal find the label errors this dataset really has?

The ground truth is the blind audit of the train split (``bench/data/emotion_train_audit.csv``,
guideline ``bench/data/audit_guideline.md``): a row is positive when its judgement is ``wrong``. The
audit is cut in two halves by the sample id (``sha256("2029:<id>") % 2``, :func:`half_of`): the
shipped combination is chosen on the ``choose`` half, and every figure of the report is computed on
the ``report`` half, which nothing was chosen on.

Each signal is one value per train row (higher = more suspect): the analysis table's ``loss``,
``mislabel_score`` and ``label_quality`` (cleanlab), and every column of a signals file written by
``python -m core.analysis.signals`` (``--signals``). For each: ROC AUC and average precision on the
half's uniform rows, and the precision among the split's top 1/5/10% (the half's audited rows in that
top, weighted ``N_h / n_h`` by stratum, :mod:`core.audit.estimate`).

The candidates for the shipped train ranking are each signal alone and the mean percentile rank of
the best ``k`` signals (``k = 2..6``, signals ordered by their AUC on the choose half). The one with
the highest AUC on the choose half's uniform rows is chosen (average precision breaks ties).

    python bench/real_noise.py --table .cache/analysis/<key>/table.parquet --signals signals_train.parquet
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.audit.design import stratum_sizes  # noqa: E402
from core.audit.estimate import ranking_quality, row_weights, top_share  # noqa: E402

AUDIT = Path(__file__).resolve().parent / "data" / "emotion_train_audit.csv"
HALF_SEED = 2029
TOPS = (0.01, 0.05, 0.10)
TARGETS = {"roc_auc": 0.80, "auc_over_loss": 0.15, "precision_top5": 0.50}


def half_of(sample_id: int, seed: int = HALF_SEED) -> str:
    """``choose`` or ``report``: the audit half a sample belongs to, by a hash of its id."""
    digest = int(hashlib.sha256(f"{seed}:{int(sample_id)}".encode()).hexdigest(), 16)
    return "choose" if digest % 2 == 0 else "report"


def percentile_rank(score: np.ndarray) -> np.ndarray:
    """Each row's percentile rank in (0, 1] (ties share their mean rank; NaN ranks lowest)."""
    from scipy.stats import rankdata

    score = np.where(np.isfinite(score), score, -np.inf)
    return rankdata(score) / len(score)


def evaluate(score: np.ndarray, audit: pd.DataFrame, n_split: int) -> dict:
    """One signal on one half of the audit (``audit``: that half's rows)."""
    ids = audit["sample_id"].to_numpy(dtype=int)
    wrong = (audit["judgement"] == "wrong").to_numpy()
    uniform = (audit["sampling"] == "uniform").to_numpy()
    weights = row_weights(audit["stratum"].to_numpy(dtype=object), stratum_sizes(n_split))
    out = {f"precision_top{round(k * 100)}": top_share(score, ids, wrong, weights, k).as_dict() for k in TOPS}
    out.update(ranking_quality(score[ids][uniform], wrong[uniform]))
    out["n_uniform"], out["wrong_uniform"] = int(uniform.sum()), int(wrong[uniform].sum())
    return out


def candidates(signals: dict[str, np.ndarray], order: list[str], max_k: int = 6) -> dict[str, np.ndarray]:
    """Each signal alone, and the mean percentile rank of the first ``k`` of ``order``."""
    out = dict(signals)
    ranks = {name: percentile_rank(s) for name, s in signals.items()}
    for k in range(2, min(max_k, len(order)) + 1):
        out["rank_mean(" + "+".join(order[:k]) + ")"] = np.mean([ranks[n] for n in order[:k]], axis=0)
    return out


def load_signals(table_path: str, signals_path: str | None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    table = pd.read_parquet(table_path)
    signals = {"loss": table["loss"].to_numpy(float), "mislabel_score": table["mislabel_score"].to_numpy(float)}
    if "label_quality" in table:
        signals["label_quality"] = -table["label_quality"].to_numpy(float)
    if signals_path:
        extra = pd.read_parquet(signals_path).sort_values("sample_id")
        if len(extra) != len(table) or not (extra["text"].to_numpy() == table["text"].to_numpy()).all():
            raise SystemExit(f"{signals_path}: its rows are not the table's rows")
        skip = {"sample_id", "text", "label", "loss", "mislabel_score", "label_quality"}
        for col in extra.columns:
            if col not in skip and pd.api.types.is_numeric_dtype(extra[col]):
                signals[col] = extra[col].to_numpy(float)
    return table, signals


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", required=True, help="the train split's cached analysis table (parquet)")
    p.add_argument("--signals", default=None, help="signals file from python -m core.analysis.signals")
    p.add_argument("--audit", default=str(AUDIT))
    p.add_argument("--choose-only", action="store_true", help="evaluate on the choose half only (while developing)")
    p.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "real_noise.json"))
    args = p.parse_args(argv)
    table, signals = load_signals(args.table, args.signals)
    audit = pd.read_csv(args.audit)
    audit = audit[audit["split"] == "train"]
    halves = audit["sample_id"].map(half_of)
    choose, report = audit[halves == "choose"], audit[halves == "report"]
    n = len(table)
    on_choose = {name: evaluate(s, choose, n) for name, s in signals.items()}
    order = sorted(signals, key=lambda s: -np.nan_to_num(on_choose[s]["roc_auc"], nan=-1))
    pool = candidates(signals, order)
    on_choose.update({name: evaluate(s, choose, n) for name, s in pool.items() if name not in on_choose})
    best = max(pool, key=lambda c: (np.nan_to_num(on_choose[c]["roc_auc"], nan=-1),
                                    np.nan_to_num(on_choose[c]["average_precision"], nan=-1)))
    out = {"bench": "real_noise", "audit": str(args.audit), "half_seed": HALF_SEED, "split_rows": n,
           "rows": {"choose": len(choose), "report": len(report)}, "chosen": best, "choose": on_choose}
    if not args.choose_only:
        out["report"] = {name: evaluate(pool[name], report, n) for name in [*signals, best] if name in pool}
        rep, loss = out["report"][best], out["report"]["loss"]
        out["targets"] = {
            "roc_auc": {"value": rep["roc_auc"], "target": TARGETS["roc_auc"], "met": rep["roc_auc"] >= 0.80},
            "auc_over_loss": {"value": rep["roc_auc"] - loss["roc_auc"], "target": 0.15,
                              "met": rep["roc_auc"] - loss["roc_auc"] >= 0.15},
            "precision_top5": {"value": rep["precision_top5"]["value"], "target": 0.50,
                               "met": rep["precision_top5"]["value"] >= 0.50},
        }
    print(json.dumps(out, indent=2))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
