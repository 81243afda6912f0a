"""How well does each mislabel signal find the label errors this dataset really has?

The ground truth is the blind audit of the train split (``bench/data/emotion_train_audit.csv``,
guideline ``bench/data/audit_guideline.md``): a row is positive when its judgement is ``wrong``. The
audit is cut in two halves by the sample id (``sha256("2029:<id>") % 2``, :func:`half_of`): the
shipped weights (:mod:`core.analysis.signals.shipped`) were chosen on the ``choose`` half, and the
report is computed on the ``report`` half, which nothing was chosen on.

Each signal is one value per train row (higher = more suspect): the analysis table's ``loss`` and
cleanlab's ``mislabel_score`` (in-sample weighting) and ``label_quality``, every column of a signals
file (``python -m core.analysis.signals``), and ``shipped``. For each: ROC AUC and average precision
on the half's uniform rows, and the precision among the split's top 1/5/10% (the half's audited rows
in that top, weighted ``N_h / n_h`` by stratum, :mod:`core.audit.estimate`).

Injected noise (``--injected SEED=insample.npz``): the 4,000-row ``bench/noise/label_noise.py`` subset with
10% confusable flips of that seed, ranked with the in-sample probabilities and [CLS] states of a model
fine-tuned on the noisy labels (``bench/noise/loop_value.py``'s noisy fit): average precision and ROC AUC of
flipped against clean for cleanlab's single methods and the shipped ranking. Seed 20 chose, seed 10
reports. ``--grid`` reruns the weight search of :mod:`core.analysis.signals.shipped` (needs seed 20).

Round 2 (``--round2``, declared and committed before any score of its rows was computed): the audit's
``half == "fresh"`` rows are 200 more uniform rows judged after the shipped weights existed. The weight
search is rerun on *all* round-1 rows (both halves, their uniform rows) and flip seed 20, with a rule
that prefers fewer signals: among the feasible vectors (injected AP at least cleanlab's), those within
0.01 of the best round-1 AUC, then the fewest signals, then the best round-1 AP. Both that vector and the
shipped one (chosen on the choose half) are reported on the fresh rows, which nothing was chosen on.

    python bench/noise/real_noise.py --table .cache/analysis/<key>/table.parquet --signals signals_train.parquet \
        --injected 20=.cache/loop_value/fits/<key>/insample.npz --injected 10=<other fit>/insample.npz
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.analysis.signals.shipped import FAMILIES, WEIGHTS, percentile_rank, shipped_score  # noqa: E402
from core.audit.design import stratum_sizes  # noqa: E402
from core.audit.estimate import ranking_quality, row_weights, top_share  # noqa: E402

AUDIT = Path(__file__).resolve().parents[1] / "data" / "emotion_train_audit.csv"
HALF_SEED = 2029
TOPS = (0.01, 0.05, 0.10)
#: The candidates of the weight search (``--grid``), each weighted 0, 1 or 2.
GRID_SIGNALS = ("neg_parse", "neg_rule", "neg_any", "lex_not_given", "aum", "oof_embed", "mislabel_score",
                "knn_disagree_cls")
CHOOSE_FLIP_SEED, REPORT_FLIP_SEED = 20, 10


def half_of(sample_id: int, seed: int = HALF_SEED) -> str:
    """``choose`` or ``report``: the audit half a sample belongs to, by a hash of its id."""
    digest = int(hashlib.sha256(f"{seed}:{int(sample_id)}".encode()).hexdigest(), 16)
    return "choose" if digest % 2 == 0 else "report"


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


def in_sample_cleanlab(table: pd.DataFrame, names: list[str]) -> np.ndarray:
    """cleanlab's ``mislabel_score`` with the in-sample weighting (the table caches the held-out one)."""
    from core.analysis.mislabels import mislabel_score

    ids = pd.Categorical(table["label"], categories=names).codes.astype(np.int64)
    return mislabel_score(table[[f"prob_{n}" for n in names]].to_numpy(np.float64), ids, source="in-sample")


def load_signals(table_path: str, signals_path: str, names: list[str]) -> pd.DataFrame:
    """One row per train sample: every numeric signal, cleanlab's scores and ``shipped``."""
    table = pd.read_parquet(table_path)
    extra = pd.read_parquet(signals_path).sort_values("sample_id").reset_index(drop=True)
    if len(extra) != len(table) or not (extra["text"].to_numpy() == table["text"].to_numpy()).all():
        raise SystemExit(f"{signals_path}: its rows are not the table's rows")
    frame = pd.DataFrame({"loss": table["loss"].to_numpy(float), "mislabel_score": in_sample_cleanlab(table, names)})
    if "label_quality" in table:
        frame["label_quality"] = -table["label_quality"].to_numpy(float)
    skip = {"sample_id", "text", "label", "pred", "loss", "mislabel_score", "label_quality"}
    for col in extra.columns:
        if col not in skip and pd.api.types.is_numeric_dtype(extra[col]):
            frame[col] = extra[col].to_numpy(float)
    frame["shipped"] = shipped_score(frame)
    return frame


def injected_frame(seed: int, npz: str, data: str, names: list[str], cache_dir: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The signals of the flipped 4,000-row subset of ``seed`` (and its flip mask), from a noisy fit."""
    from bench.noise.noise_probs import TRAIN_ROWS, noisy_train_subset
    from core.analysis.mislabels import mislabel_score
    from core.analysis.signals import compute_signals

    texts, _, noisy, flipped, subset_names = noisy_train_subset(data, TRAIN_ROWS, seed)
    assert list(subset_names) == names
    with np.load(npz, allow_pickle=False) as z:
        probs, hidden = z["probs"], z["hidden"]
    frame, _ = compute_signals(texts, [names[i] for i in noisy], names, hidden=hidden, cache_dir=cache_dir,
                               families=FAMILIES)
    frame["mislabel_score"] = mislabel_score(probs, noisy, source="in-sample")
    frame["loss"] = -np.log(np.clip(probs[np.arange(len(noisy)), noisy], 1e-12, 1.0))
    frame["normalized_margin"] = mislabel_score(probs, noisy, alpha=1.0)
    frame["shipped"] = shipped_score(frame)
    return frame, flipped


def injected_report(frame: pd.DataFrame, flipped: np.ndarray) -> dict:
    """AP and ROC AUC of flipped against clean for cleanlab's methods and the shipped ranking."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {m: {"roc_auc": round(float(roc_auc_score(flipped, frame[m])), 4),
                "ap": round(float(average_precision_score(flipped, frame[m])), 4)}
            for m in ("loss", "normalized_margin", "mislabel_score", "knn_disagree_cls", "shipped")}


def feasible_vectors(real: pd.DataFrame, rows: pd.DataFrame, inj: pd.DataFrame,
                     flipped: np.ndarray) -> tuple[list[tuple], float, int, int]:
    """Every weight vector in {0, 1, 2} over :data:`GRID_SIGNALS` whose injected AP is at least cleanlab's, with
    its ROC AUC and AP on the uniform rows of ``rows``; also the AP floor, the uniform rows and the wrong ones."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    ids = rows["sample_id"].to_numpy(int)
    uniform = (rows["sampling"] == "uniform").to_numpy()
    wrong = (rows["judgement"] == "wrong").to_numpy()[uniform]
    rr = {c: percentile_rank(real[c].to_numpy())[ids][uniform] for c in GRID_SIGNALS}
    ri = {c: percentile_rank(inj[c].to_numpy()) for c in GRID_SIGNALS}
    floor = average_precision_score(flipped, ri["mislabel_score"])
    found = []
    for ws in itertools.product((0, 1, 2), repeat=len(GRID_SIGNALS)):
        if not any(ws):
            continue
        s_i = sum(w * ri[c] for c, w in zip(GRID_SIGNALS, ws, strict=True))
        if average_precision_score(flipped, s_i) >= floor:
            s_r = sum(w * rr[c] for c, w in zip(GRID_SIGNALS, ws, strict=True))
            found.append((ws, roc_auc_score(wrong, s_r), average_precision_score(wrong, s_r)))
    return found, float(floor), int(uniform.sum()), int(wrong.sum())


def grid(real: pd.DataFrame, choose: pd.DataFrame, inj: pd.DataFrame, flipped: np.ndarray) -> dict:
    """The weight search of :mod:`core.analysis.signals.shipped` (choose half and flip seed 20 only)."""
    rows, floor, _, _ = feasible_vectors(real, choose, inj, flipped)
    best_auc = max(r[1] for r in rows)
    chosen = max((r for r in rows if r[1] >= best_auc - 0.002), key=lambda r: r[2])
    return {"feasible": len(rows), "injected_ap_floor": round(floor, 4), "best_auc": round(best_auc, 4),
            "chosen": dict(zip(GRID_SIGNALS, chosen[0], strict=True)), "chosen_auc": round(chosen[1], 4),
            "chosen_ap": round(chosen[2], 4)}


def sparse_grid(real: pd.DataFrame, rows: pd.DataFrame, inj: pd.DataFrame, flipped: np.ndarray) -> dict:
    """Round 2's weight search on ``rows`` (all round-1 rows): within 0.01 of the best AUC, the fewest signals,
    then the best AP; only vectors whose injected AP (flip seed 20) is at least cleanlab's."""
    found, floor, n_uniform, n_wrong = feasible_vectors(real, rows, inj, flipped)
    best_auc = max(r[1] for r in found)
    near = [r for r in found if r[1] >= best_auc - 0.01]
    chosen = min(near, key=lambda r: (sum(w > 0 for w in r[0]), -r[2]))
    return {"rows": n_uniform, "wrong": n_wrong, "feasible": len(found),
            "injected_ap_floor": round(floor, 4), "best_auc": round(best_auc, 4), "within_0.01": len(near),
            "chosen": {c: w for c, w in zip(GRID_SIGNALS, chosen[0], strict=True) if w},
            "chosen_auc": round(chosen[1], 4), "chosen_ap": round(chosen[2], 4)}


def mix(real: pd.DataFrame, weights: dict) -> np.ndarray:
    """A weighted mean of percentile ranks (as :func:`core.analysis.signals.shipped.shipped_score`)."""
    return shipped_score(real, {c: float(w) for c, w in weights.items()})


def round2(real: pd.DataFrame, audit: pd.DataFrame, frames: dict) -> dict:
    """The sparse search on round 1, then every signal, the shipped mix and the new choice on the fresh rows."""
    first, fresh = audit[audit["half"] != "fresh"], audit[audit["half"] == "fresh"]
    search = sparse_grid(real, first, *frames[CHOOSE_FLIP_SEED])
    n = len(real)
    scored = real.assign(round1_choice=mix(real, search["chosen"]))
    out = {"search_round1": search, "fresh_rows": len(fresh),
           "fresh": {c: evaluate(scored[c].to_numpy(), fresh, n) for c in scored.columns}}
    if REPORT_FLIP_SEED in frames:
        inj, flipped = frames[REPORT_FLIP_SEED]
        inj = inj.assign(round1_choice=mix(inj, search["chosen"]))
        from sklearn.metrics import average_precision_score
        out["injected_seed10_ap"] = {m: round(float(average_precision_score(flipped, inj[m])), 4)
                                     for m in ("mislabel_score", "shipped", "round1_choice")}
    out["targets_fresh"] = {name: targets({"shipped": out["fresh"][name], "loss": out["fresh"]["loss"]})
                            for name in ("shipped", "round1_choice")}
    return out


def targets(report: dict) -> dict:
    rep, loss = report["shipped"], report["loss"]
    return {"roc_auc >= 0.80": rep["roc_auc"] >= 0.80,
            "auc over loss >= 0.15": rep["roc_auc"] - loss["roc_auc"] >= 0.15,
            "precision top 5% >= 0.50": rep["precision_top5"]["value"] >= 0.50}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", required=True, help="the train split's cached analysis table (parquet)")
    p.add_argument("--signals", required=True, help="signals file from python -m core.analysis.signals")
    p.add_argument("--audit", default=str(AUDIT))
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[3] / "shared" / "emotion"))
    p.add_argument("--cache-dir", default=".cache")
    p.add_argument("--injected", action="append", default=[], help="SEED=insample.npz of a noisy fit (repeatable)")
    p.add_argument("--grid", action="store_true", help="rerun the weight search (needs --injected 20=...)")
    p.add_argument("--round2", action="store_true", help="search on all round-1 rows, report on the fresh rows")
    p.add_argument("--choose-only", action="store_true", help="evaluate on the choose half only (while developing)")
    p.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "real_noise.json"))
    args = p.parse_args(argv)
    given = {int(item.split("=", 1)[0]) for item in args.injected if "=" in item}
    if (args.round2 or args.grid) and CHOOSE_FLIP_SEED not in given:
        p.error(f"--round2 and --grid search weights on injected flips: pass "
                f"--injected {CHOOSE_FLIP_SEED}=<insample.npz>")
    names = ["sadness", "joy", "love", "anger", "fear", "surprise"]
    real = load_signals(args.table, args.signals, names)
    audit = pd.read_csv(args.audit)
    audit = audit[audit["split"] == "train"]
    if args.round2:
        frames = {int(k): injected_frame(int(k), v, args.data, names, args.cache_dir)
                  for k, v in (item.split("=", 1) for item in args.injected)}
        out2 = round2(real, audit, frames)
        print(json.dumps(out2, indent=2))
        Path(args.json).with_name("real_noise_round2.json").write_text(json.dumps(out2, indent=2))
        return 0
    audit = audit[audit["half"] != "fresh"]
    halves = audit["sample_id"].map(half_of)
    choose, report = audit[halves == "choose"], audit[halves == "report"]
    n = len(real)
    out = {"bench": "real_noise", "audit": Path(args.audit).name, "half_seed": HALF_SEED, "split_rows": n,
           "rows": {"choose": len(choose), "report": len(report)}, "shipped_weights": WEIGHTS,
           "choose": {c: evaluate(real[c].to_numpy(), choose, n) for c in real.columns}}
    injected = {int(k): v for k, v in (item.split("=", 1) for item in args.injected)}
    frames = {seed: injected_frame(seed, path, args.data, names, args.cache_dir) for seed, path in injected.items()}
    if args.grid:
        out["grid"] = grid(real, choose, *frames[CHOOSE_FLIP_SEED])
    if not args.choose_only:
        out["report"] = {c: evaluate(real[c].to_numpy(), report, n) for c in real.columns}
        out["targets"] = targets(out["report"])
    out["injected"] = {f"flip_seed_{seed}": injected_report(*frames[seed])
                       for seed in sorted(frames) if not args.choose_only or seed == CHOOSE_FLIP_SEED}
    print(json.dumps(out, indent=2))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
