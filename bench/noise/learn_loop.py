"""A simulated reviewer walks the queue 25 rows at a time; the learned ranking refits after each batch.

The oracle is the committed train audit (``bench/data/emotion_train_audit.csv``), restricted to its audited
rows: the pool is those 620 rows, a row's judgement is revealed when the reviewer takes it. Each draw starts
from ``--start`` random uniform audit rows judged (the same for every ranking of that draw). Then the
reviewer takes the top ``--batch`` unreviewed pool rows of a ranking, up to ``--decisions``:

- ``learned``: :mod:`core.audit.error_model` refitted on the start rows (as uniform audit rows) and every
  decision so far (as queue decisions, weight :data:`~core.audit.error_model.QUEUE_WEIGHT`);
- ``fixed_mix``: the shipped weighted mix (:mod:`core.analysis.signals.shipped`), never refitted;
- ``loss``: the in-sample loss; ``random``: a seeded shuffle.

Reported: wrong labels found against decisions made, mean and 95% percentile interval over draws, and the
ratio learned / fixed mix at each point. ``--choose-queue-weight`` scores candidate queue weights on draw seeds
0-9; the report uses seeds 10 and up.

    python bench/noise/learn_loop.py --table <cache>/analysis/<key>/table.parquet --cache-dir <cache> \
        --draws 20 --out bench/noise/results/learn_loop.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.noise.learned_ranking import NAMES, SETS, audit_rows, emit, load  # noqa: E402
from core.analysis.signals.shipped import shipped_score  # noqa: E402
from core.audit import error_model as em  # noqa: E402
from core.audit.evidence import evidence_columns, evidence_matrix  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
RANKINGS = ("learned", "fixed_mix", "loss", "random")
REPORT_SEED0 = 10


def walk(ranking: str, pool: pd.DataFrame, start: np.ndarray, evidence: pd.DataFrame, static: dict, *,
         batch: int, decisions: int, seed: int, queue_weight: float) -> list[int]:
    """Cumulative wrong labels found after each batch of one walk."""
    judged_ids = set(start.tolist())
    taken: list[int] = []
    found, curve = 0, []
    rng = np.random.default_rng(seed)
    shuffle = rng.permutation(len(pool))
    while len(taken) < decisions:
        left = pool[~pool["sample_id"].isin(judged_ids)]
        if ranking == "learned":
            audit = pool[pool["sample_id"].isin(start)].assign(sampling="uniform", weight=1.0)
            queue = pool[pool["sample_id"].isin(taken)].assign(
                action=lambda f: np.where(f["judgement"] == "wrong", "relabel", "keep"))
            judged = em.judgements_frame(audit, queue, queue_weight=queue_weight)
            ids = left["sample_id"].to_numpy()
            score = static["fixed_mix"][ids] if em.enough(judged) else \
                em.fit_error_model(evidence, judged, columns=list(evidence.columns)).score(evidence.loc[ids])
        elif ranking == "random":
            score = -shuffle[left.index.to_numpy()].astype(float)
        else:
            score = static[ranking][left["sample_id"].to_numpy()]
        pick = left.iloc[np.argsort(-score, kind="stable")[:batch]]
        taken.extend(pick["sample_id"].tolist())
        judged_ids.update(pick["sample_id"].tolist())
        found += int((pick["judgement"] == "wrong").sum())
        curve.append(found)
    return curve


def run(table: pd.DataFrame, *, draws: range, start_n: int, batch: int, decisions: int, evidence_set: str,
        queue_weight: float) -> dict:
    pool = audit_rows(DATA / "emotion_train_audit.csv").reset_index(drop=True)
    evidence = evidence_matrix(table, NAMES, evidence_columns(table, SETS[evidence_set]))
    static = {"fixed_mix": np.asarray(shipped_score(table), float), "loss": table["loss"].to_numpy(float)}
    uniform = pool[pool["sampling"] == "uniform"]["sample_id"].to_numpy()
    curves = {r: [] for r in RANKINGS}
    for d in draws:
        start = np.random.default_rng(1000 + d).choice(uniform, start_n, replace=False)
        for r in RANKINGS:
            curves[r].append(walk(r, pool, start, evidence, static, batch=batch, decisions=decisions, seed=d,
                                  queue_weight=queue_weight))
    steps = [batch * (i + 1) for i in range(len(curves["learned"][0]))]
    out = {"decisions": steps, "draws": len(draws), "draw_seeds": [draws.start, draws.stop - 1], "start_rows": start_n,
           "batch": batch, "queue_weight": queue_weight, "evidence": evidence_set, "pool": len(pool),
           "pool_wrong": int((pool["judgement"] == "wrong").sum()), "curves": {}}
    for r, cs in curves.items():
        a = np.asarray(cs, dtype=float)
        out["curves"][r] = {"mean": a.mean(axis=0).round(2).tolist(),
                            "low": np.percentile(a, 2.5, axis=0).round(1).tolist(),
                            "high": np.percentile(a, 97.5, axis=0).round(1).tolist()}
    ratio = np.asarray(curves["learned"], float) / np.maximum(np.asarray(curves["fixed_mix"], float), 1)
    out["ratio_learned_over_fixed"] = {"mean": ratio.mean(axis=0).round(3).tolist(),
                                       "low": np.percentile(ratio, 2.5, axis=0).round(3).tolist(),
                                       "high": np.percentile(ratio, 97.5, axis=0).round(3).tolist()}
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", required=True)
    p.add_argument("--cache-dir")
    p.add_argument("--draws", type=int, default=20)
    p.add_argument("--start", type=int, default=50)
    p.add_argument("--batch", type=int, default=em.REFIT_EVERY)
    p.add_argument("--decisions", type=int, default=200)
    p.add_argument("--evidence", default="fixed_mix_signals", choices=list(SETS))
    p.add_argument("--queue-weight", type=float, default=em.QUEUE_WEIGHT)
    p.add_argument("--choose-queue-weight", action="store_true")
    p.add_argument("--out")
    args = p.parse_args(argv)
    table = load(args.table, args.cache_dir)
    kw = dict(start_n=args.start, batch=args.batch, decisions=args.decisions, evidence_set=args.evidence)
    if args.choose_queue_weight:
        result = {"choose_on_draw_seeds": [0, REPORT_SEED0 - 1], "candidates": {
            str(w): run(table, draws=range(REPORT_SEED0), queue_weight=w, **kw)["curves"]["learned"]["mean"][-1]
            for w in (0.25, 0.5, 1.0)}}
    else:
        result = run(table, draws=range(REPORT_SEED0, REPORT_SEED0 + args.draws), queue_weight=args.queue_weight, **kw)
    emit(result, args.out)


if __name__ == "__main__":
    main()
