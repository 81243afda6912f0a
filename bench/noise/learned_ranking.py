"""The learned error model (:mod:`core.audit.error_model`): chosen on the committed train audit, reported on
round 3.

``--choose``: every candidate (estimator x weighting of the audit's design x evidence set) is scored by
repeated 5-fold cross-validation on the committed audit's 620 judgements (``bench/data/emotion_train_audit.csv``):
ROC AUC of wrong against the rest on the out-of-fold uniform rows, mean over 5 fold seeds. Nothing of round 3
is read. The suggested class is chosen the same way, on the audited-wrong rows of that audit.

``--report``: the chosen model fitted on all 620 judgements ranks the split; on round 3
(``bench/data/emotion_train_audit_round3.csv``, 200 uniform rows judged blind and committed before any fit saw
them) it reports ROC AUC with a BCa bootstrap interval for the learned ranking, the fixed mix, loss, cleanlab
and each signal, the precision among the split's top 5% and the suggested class's accuracy on the wrong rows.

    python bench/noise/learned_ranking.py --table <cache>/analysis/<key>/table.parquet --cache-dir <cache> --choose
    python bench/noise/learned_ranking.py --table <...> --cache-dir <cache> --report \
        --out bench/noise/results/learned_ranking.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.noise.real_noise import in_sample_cleanlab  # noqa: E402
from bench.noise.round2_bootstrap import auc, interval  # noqa: E402
from core.analysis.signals.compute import compute_signals  # noqa: E402
from core.analysis.signals.shipped import WEIGHTS, shipped_score  # noqa: E402
from core.audit import error_model as em  # noqa: E402
from core.audit.evidence import SIGNALS, evidence_columns, evidence_matrix  # noqa: E402
from core.audit.suggest import SUGGEST_COLUMNS, fit_suggester, vote_suggestion  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
NAMES = ["sadness", "joy", "love", "anger", "fear", "surprise"]
EXTRA_FAMILIES = ("zero_shot", "nade", "target", "knn")
SETS = {"fixed_mix_signals": list(WEIGHTS), "all": list(SIGNALS),
        "all_but_knn_cls": [c for c in SIGNALS if c != "knn_disagree_cls"],
        "fixed_mix_signals+judges": [*WEIGHTS, "zs_not_given", "nade_not_given", "knn_disagree_enc"]}


def load(table_path: str, cache_dir: str | None) -> pd.DataFrame:
    """The train analysis table with the evidence families the shipped analysis may not hold."""
    table = pd.read_parquet(table_path)
    todo = [f for f in EXTRA_FAMILIES]
    cols, _ = compute_signals(table["text"].tolist(), table["label"].astype(str).tolist(), NAMES,
                              cache_dir=cache_dir, families=todo, verbose=True)
    for c in cols.columns:
        if c not in table or c.startswith(("zs_", "nade_", "cue_", "knn_enc")):
            table[c] = cols[c].to_numpy()
    table.index = pd.RangeIndex(len(table))
    return table


def audit_rows(path: Path) -> pd.DataFrame:
    a = pd.read_csv(path)
    return a[a["split"] == "train"].reset_index(drop=True)


def cv_auc(evidence: pd.DataFrame, judged: pd.DataFrame, kind: str, seeds=range(5)) -> float:
    cols = list(evidence.columns)
    return float(np.mean([em.held_out_quality(evidence, judged, kind=kind, seed=s, columns=cols).get("roc_auc")
                          for s in seeds]))


def choose(table: pd.DataFrame) -> dict:
    audit = audit_rows(DATA / "emotion_train_audit.csv")
    rows = []
    for set_name, cols in SETS.items():
        evidence = evidence_matrix(table, NAMES, evidence_columns(table, cols))
        for weighting in ("equal", "design"):
            judged = em.judgements_frame(audit, None, weighting=weighting)
            for kind in em.KINDS:
                score = cv_auc(evidence, judged, kind)
                rows.append({"evidence": set_name, "weighting": weighting, "kind": kind, "cv_roc_auc": round(score, 4)})
                print(json.dumps(rows[-1]), flush=True)
    best = max(rows, key=lambda r: r["cv_roc_auc"])
    wrong = audit[audit["judgement"] == "wrong"]
    sugg = {"vote": float(np.mean(vote_suggestion(table.loc[wrong["sample_id"]]) == wrong["correct_label"].to_numpy()))}
    sugg["learned_cv"] = fit_suggester(table, wrong, NAMES, cv=True)
    return {"candidates": rows, "best": best, "suggestion_cv_accuracy": sugg}


def _signal_scores(table: pd.DataFrame, learned: np.ndarray) -> dict[str, np.ndarray]:
    out = {"learned": learned, "fixed_mix": np.asarray(shipped_score(table), float),
           "loss": table["loss"].to_numpy(float), "cleanlab_in_sample": in_sample_cleanlab(table, NAMES)}
    out.update({c: table[c].to_numpy(float) for c in SIGNALS if c in table})
    return out


def report(table: pd.DataFrame, set_name: str, kind: str, weighting: str) -> dict:
    from statsmodels.stats.proportion import proportion_confint

    audit = audit_rows(DATA / "emotion_train_audit.csv")
    fresh = audit_rows(DATA / "emotion_train_audit_round3.csv")
    fresh = fresh[fresh["sampling"] == "uniform"]
    evidence = evidence_matrix(table, NAMES, evidence_columns(table, SETS[set_name]))
    judged = em.judgements_frame(audit, None, weighting=weighting)
    model = em.fit_error_model(evidence, judged, kind=kind, columns=list(evidence.columns))
    scores = _signal_scores(table, model.score(evidence))
    ids, wrong = fresh["sample_id"].to_numpy(int), (fresh["judgement"] == "wrong").to_numpy()
    out = {"evidence": set_name, "kind": kind, "weighting": weighting, "fit_on": len(judged),
           "fit_wrong": int(judged["wrong"].sum()), "round3_rows": len(ids), "round3_wrong": int(wrong.sum()),
           "weights": model.weights(), "roc_auc": {}, "top5": {}}
    for name, s in scores.items():
        out["roc_auc"][name] = interval(auc, (wrong.astype(float), s[ids]), seed=0, resamples=5000)
        cut = np.quantile(s, 0.95)
        top = s[ids] >= cut
        hits, n = int(wrong[top].sum()), int(top.sum())
        lo, hi = proportion_confint(hits, n, method="wilson") if n else (np.nan, np.nan)
        out["top5"][name] = {"rows": n, "wrong": hits, "precision": round(hits / n, 3) if n else None,
                             "ci": [round(lo, 3), round(hi, 3)]}
    wrong_rows = fresh[wrong]
    suggester = fit_suggester(table, audit[audit["judgement"] == "wrong"], NAMES)
    truth = wrong_rows["correct_label"].to_numpy()
    got = suggester(table.loc[wrong_rows["sample_id"].to_numpy()])
    vote = vote_suggestion(table.loc[wrong_rows["sample_id"].to_numpy()])
    out["suggestion_accuracy_round3_wrong"] = {
        "learned": round(float(np.mean(got == truth)), 3), "vote": round(float(np.mean(vote == truth)), 3),
        "model_prediction": round(float(np.mean(table.loc[wrong_rows["sample_id"], "pred"].to_numpy() == truth)), 3),
        "rows": len(truth), "columns": list(SUGGEST_COLUMNS)}
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", required=True)
    p.add_argument("--cache-dir")
    p.add_argument("--choose", action="store_true")
    p.add_argument("--report", action="store_true")
    p.add_argument("--evidence", default="fixed_mix_signals", choices=list(SETS))
    p.add_argument("--kind", default=em.KIND, choices=list(em.KINDS))
    p.add_argument("--weighting", default=em.WEIGHTING, choices=["equal", "design"])
    p.add_argument("--out")
    args = p.parse_args(argv)
    table = load(args.table, args.cache_dir)
    emit(choose(table) if args.choose else report(table, args.evidence, args.kind, args.weighting), args.out)


def emit(result: dict, out: str | None) -> None:
    """Print ``result`` as JSON, and write it to ``out`` when given."""
    text = json.dumps(result, indent=1)
    if out:
        Path(out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
