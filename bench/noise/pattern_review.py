"""Row-by-row queue review against pattern review (spot check, then one bulk action), at equal reviewer actions,
with the committed blind audit of the train split as the oracle, on audited rows only.

    python bench/noise/pattern_review.py --model ../shared/models/emotion-minilm --data ../shared/emotion \
        --cache-dir /work/cache --out bench/noise/results/pattern_review.json
    python bench/noise/pattern_review.py --quick --out /tmp/pattern_review.json   # a planted world, no model

The oracle is ``bench/data/emotion_train_audit.csv`` only (its ``half`` column: the threshold is chosen on the
``choose`` rows, the result reported on the ``report`` and ``fresh`` rows). The simulated reviewer can judge
only audited rows, so its world is the audited rows of one part, each with its pattern
(:meth:`core.services.patterns.PatternService.grouped` on the whole split, the app's defaults):

- **queue**: judge the world's rows most suspect first (``mislabel_score``), one action each; a row judged wrong
  is relabelled to the oracle's class.
- **patterns**: take the patterns largest first; a pattern with more than k rows in the world gets a spot check
  of k random rows of it (k actions, each a judgement like the queue's); when the Wilson lower 95% bound of
  the share whose correct class is the suggested one reaches the threshold, one bulk action relabels its other
  rows to their suggested class. Actions left when no pattern qualifies go to the queue.

Counted per method: wrong labels corrected, right labels broken (a right label changed), other changes (an
ambiguous or non-emotion row relabelled, or a wrong one to another wrong class), and the precision of the bulk
changes. Each draw takes 80% of the world's rows at random (and new spot-check rows); means and 2.5-97.5
percentiles over the draws.

``pattern_audit`` adds what relabelling every pattern to its suggested classes would do to its audited rows (per
pattern and pooled, with a Wilson interval): the audit's strata came from an earlier ranking, so the current
top 10% holds few audited rows and no pattern more than a dozen, fewer than a spot check of k = 10 needs in one
half; where no pattern qualifies, pattern review spends its actions on the queue and equals it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.review.patterns import wilson  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
AUDIT = REPO / "bench" / "data" / "emotion_train_audit.csv"
PARTS = {"choose": ("choose",), "report": ("report", "fresh")}
THRESHOLDS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8)
TARGET_PRECISION = 0.85


@dataclass
class Outcome:
    """What one review did on the world's rows."""

    actions: int = 0
    corrected: int = 0
    broken: int = 0
    other_changes: int = 0
    bulk_changed: int = 0
    bulk_right: int = 0
    patterns_checked: int = 0
    patterns_applied: int = 0

    def judge(self, row: pd.Series) -> None:
        """One row judged by the oracle (one action): a wrong label is corrected."""
        self.actions += 1
        self.corrected += int(row["judgement"] == "wrong")

    def bulk(self, rows: pd.DataFrame) -> None:
        """Rows relabelled to their suggested class in one action."""
        self.actions += 1
        self.patterns_applied += 1
        changed = rows[rows["suggest"] != rows["label"]]
        right = (changed["judgement"] == "wrong") & (changed["correct_label"] == changed["suggest"])
        self.bulk_changed += len(changed)
        self.bulk_right += int(right.sum())
        self.corrected += int(right.sum())
        self.broken += int((changed["judgement"] == "right").sum())
        self.other_changes += int((~right & (changed["judgement"] != "right")).sum())


def queue_review(world: pd.DataFrame, budget: int, outcome: Outcome | None = None,
                 skip: set[int] | frozenset = frozenset()) -> Outcome:
    """Judge the world's rows most suspect first until ``budget`` actions are spent."""
    outcome = outcome or Outcome()
    for sid, row in world.sort_values("score", ascending=False, kind="stable").iterrows():
        if outcome.actions >= budget:
            break
        if sid not in skip:
            outcome.judge(row)
    return outcome


def pattern_review(world: pd.DataFrame, order: list[str], budget: int, *, k: int, threshold: float,
                   rng: np.random.Generator) -> Outcome:
    """Spot check then bulk-relabel the patterns in ``order``; the actions left go to the queue."""
    outcome, done = Outcome(), set()
    for pid in order:
        rows = world[world["pattern"] == pid]
        if len(rows) <= k or outcome.actions + k + 1 > budget:
            continue
        outcome.patterns_checked += 1
        spot = rows.loc[rng.choice(rows.index.to_numpy(), size=k, replace=False)]
        for _, row in spot.iterrows():
            outcome.judge(row)
        done.update(spot.index)
        hits = int(((spot["judgement"] == "wrong") & (spot["correct_label"] == spot["suggest"])).sum())
        if wilson(hits, k)[0] >= threshold:
            rest = rows.drop(spot.index)
            outcome.bulk(rest)
            done.update(rest.index)
    return queue_review(world, budget, outcome, skip=done)


def summary(values: list[float]) -> dict:
    """Mean and 2.5-97.5 percentiles of a list of draws."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if not len(arr):
        return {"mean": None, "low": None, "high": None, "draws": 0}
    return {"mean": round(float(arr.mean()), 3), "low": round(float(np.percentile(arr, 2.5)), 3),
            "high": round(float(np.percentile(arr, 97.5)), 3), "draws": int(len(arr))}


def compare(world: pd.DataFrame, order: list[str], *, budget: int, k: int, threshold: float, draws: int,
            seed: int) -> dict:
    """Both reviews over ``draws`` random 80% subsets of ``world``: per method, each count's mean and interval."""
    rng = np.random.default_rng(seed)
    runs: dict[str, list[Outcome]] = {"queue": [], "patterns": []}
    for _ in range(draws):
        sub = world.loc[rng.choice(world.index.to_numpy(), size=int(0.8 * len(world)), replace=False)]
        runs["queue"].append(queue_review(sub, budget))
        runs["patterns"].append(pattern_review(sub, order, budget, k=k, threshold=threshold, rng=rng))
    out = {}
    for method, outcomes in runs.items():
        rows = [asdict(o) for o in outcomes]
        out[method] = {key: summary([r[key] for r in rows]) for key in rows[0]}
        out[method]["bulk_precision"] = summary([r["bulk_right"] / r["bulk_changed"] if r["bulk_changed"] else np.nan
                                                 for r in rows])
        changed, right = sum(r["bulk_changed"] for r in rows), sum(r["bulk_right"] for r in rows)
        out[method]["bulk_precision_pooled"] = round(right / changed, 4) if changed else None
    pairs = zip(runs["patterns"], runs["queue"], strict=True)
    ratio = [p.corrected / q.corrected if q.corrected else np.nan for p, q in pairs]
    out["corrected_ratio"] = summary(ratio)
    return out


def choose_threshold(world: pd.DataFrame, order: list[str], *, budget: int, k: int, draws: int, seed: int) -> dict:
    """On the choose part: per threshold, the pattern review's mean corrected and broken and its pooled bulk
    precision; the chosen one corrects the most among those whose pooled precision is at least the target (else
    the highest threshold)."""
    grid = {}
    for t in THRESHOLDS:
        res = compare(world, order, budget=budget, k=k, threshold=t, draws=draws, seed=seed)["patterns"]
        grid[str(t)] = {"corrected": res["corrected"]["mean"], "broken": res["broken"]["mean"],
                        "bulk_precision_pooled": res["bulk_precision_pooled"],
                        "patterns_applied": res["patterns_applied"]["mean"]}
    ok = [t for t in THRESHOLDS if (grid[str(t)]["bulk_precision_pooled"] or 0) >= TARGET_PRECISION]
    chosen = max(ok, key=lambda t: (grid[str(t)]["corrected"], -t)) if ok else max(THRESHOLDS)
    return {"grid": grid, "chosen": chosen}


def load_world(model: str, data: str, cache_dir: str) -> tuple[pd.DataFrame, list[str], pd.DataFrame, pd.DataFrame]:
    """``(world, pattern order, pattern table, split)``: every audited train row with its score, given label, oracle
    judgement, stratum, pattern and suggested class; the patterns largest first; the app's pattern table (audited
    precision from the same audit file); every split row's queue ``rank`` (0 = most suspect) and ``pattern``."""
    import tempfile

    from core.review.patterns import pattern_table, row_suggestions
    from core.services.emotion import EmotionService
    from core.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(model=model, data=data, split="train", splits=("train",), cache_dir=Path(cache_dir),
                            review_db=Path(folder) / "none.sqlite")
        svc = EmotionService.load(settings, show_progress=False, defer_model=True)
        grouped = svc.patterns.grouped("train")
        table = svc.analyses.analysis("train").table
        labels = svc.analyses.analysis("train").labels
    audit = pd.read_csv(AUDIT)
    audit = audit[audit["split"] == "train"].drop_duplicates("sample_id").set_index("sample_id")
    same = [str(table["text"].iat[i]).strip() == str(t).strip() and table["label"].iat[i] == g
            for i, t, g in zip(audit.index, audit["text"], audit["given_label"], strict=True)]
    if not all(same):
        raise SystemExit(f"{len(same) - sum(same)} audited rows differ from the analysed split's text or label")
    rows = table.loc[audit.index]
    suggest = pd.Series(row_suggestions(rows, labels), index=audit.index)
    suggest.update(grouped.rows["suggest"].reindex(audit.index).dropna())
    world = pd.DataFrame({"score": rows["mislabel_score"].to_numpy(), "label": audit["given_label"],
                          "judgement": audit["judgement"], "correct_label": audit["correct_label"],
                          "half": audit["half"], "weight": audit["weight"], "stratum": audit["stratum"],
                          "pattern": grouped.rows["pattern"].reindex(audit.index).fillna(""), "suggest": suggest})
    judged = audit.reset_index()[["sample_id", "judgement", "correct_label"]]
    patterns = pattern_table(grouped, judged)
    order = np.argsort(-table["mislabel_score"].to_numpy(dtype=np.float64), kind="stable")
    rank = pd.Series(np.empty(len(table), dtype=np.int64), index=table.index)
    rank.iloc[order] = np.arange(len(table))
    split = pd.DataFrame({"rank": rank, "pattern": grouped.rows["pattern"].reindex(table.index).fillna("")})
    return world, patterns["pattern"].tolist(), patterns, split


def planted_world(seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """A world for ``--quick``: patterns ``a`` (60 rows, 95% wrong with the suggested class right), ``b`` (60, 40%)
    and ``c`` (40, 90%), and 120 rows in no pattern (30% wrong); halves alternate."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, n, p in (("a", 60, 0.95), ("b", 60, 0.4), ("c", 40, 0.9), ("", 120, 0.3)):
        wrong = rng.random(n) < p
        parts.append(pd.DataFrame({"score": rng.random(n), "label": "anger", "pattern": name,
                                   "judgement": np.where(wrong, "wrong", "right"),
                                   "correct_label": np.where(wrong, "joy", None), "suggest": "joy"}))
    world = pd.concat(parts, ignore_index=True)
    world["half"] = np.where(np.arange(len(world)) % 2 == 0, "choose", "report")
    world["weight"] = 1.0
    return world, ["a", "b", "c"]


def run(world: pd.DataFrame, order: list[str], *, budget: int, k: int, draws: int, seed: int) -> dict:
    """Choose the threshold on the choose part, report both reviews on the report part."""
    parts = {name: world[world["half"].isin(halves)] for name, halves in PARTS.items()}
    chosen = choose_threshold(parts["choose"], order, budget=budget, k=k, draws=draws, seed=seed)
    report = compare(parts["report"], order, budget=budget, k=k, threshold=chosen["chosen"], draws=draws,
                     seed=seed + 1)
    return {"budget": budget, "k": k, "draws": draws, "threshold": chosen["chosen"], "choose": chosen,
            "report": report, "rows": {name: int(len(part)) for name, part in parts.items()},
            "wrong": {name: int((part["judgement"] == "wrong").sum()) for name, part in parts.items()}}


def pattern_audit(world: pd.DataFrame) -> dict:
    """What a bulk relabel of every pattern to its suggested classes would do to the audited rows it touches:
    per pattern (with at least one audited row) and pooled, the audited rows, those judged wrong, those whose
    correct class is the suggested one (the relabel's precision, with its Wilson interval) and right labels broken."""
    rows = world[world["pattern"] != ""]
    right = (rows["judgement"] == "wrong") & (rows["correct_label"] == rows["suggest"])
    per = rows.assign(relabel_right=right, wrong=rows["judgement"] == "wrong", broken=rows["judgement"] == "right")
    table = per.groupby("pattern").agg(audited=("label", "size"), wrong=("wrong", "sum"),
                                       relabel_right=("relabel_right", "sum"), broken=("broken", "sum"))
    table = table.sort_values("audited", ascending=False)
    n, hits = int(table["audited"].sum()), int(table["relabel_right"].sum())
    low, high = wilson(hits, n)
    return {"pooled": {"audited": n, "wrong": int(table["wrong"].sum()), "relabel_right": hits,
                       "broken": int(table["broken"].sum()), "relabel_precision": round(hits / n, 4) if n else None,
                       "low": round(low, 4), "high": round(high, 4)},
            "largest_audited": int(table["audited"].max()) if len(table) else 0,
            "patterns": table.reset_index().head(15).astype(object).to_dict(orient="records")}


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write the JSON result."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="../shared/models/emotion-minilm")
    p.add_argument("--data", default="../shared/emotion")
    p.add_argument("--cache-dir", default=str(REPO / ".cache"))
    p.add_argument("--budget", type=int, default=100, help="reviewer actions per method")
    p.add_argument("--k", type=int, nargs="+", default=[10], help="spot-check rows (one run per value)")
    p.add_argument("--draws", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a planted world, no model or analysis")
    p.add_argument("--out", default=str(REPO / "bench" / "noise" / "results" / "pattern_review.json"))
    args = p.parse_args(argv)
    result: dict = {"oracle": "planted (--quick)" if args.quick else str(AUDIT.relative_to(REPO)),
                    "command": "python bench/noise/pattern_review.py " + " ".join(sys.argv[1:] if argv is None
                                                                                  else argv)}
    if args.quick:
        world, order = planted_world(args.seed)
    else:
        world, order, patterns, _ = load_world(args.model, args.data, args.cache_dir)
        shown = patterns.head(20).round({"precision": 3, "low": 3, "high": 3})
        result["train_patterns"] = {"n_patterns": len(patterns), "n_rows": int(patterns["size"].sum()),
                                    "top": shown.astype(object).where(shown.notna(), None).to_dict(orient="records")}
    result["runs"] = [run(world, order, budget=args.budget, k=k, draws=args.draws, seed=args.seed) for k in args.k]
    result["pattern_audit"] = pattern_audit(world)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    for r in result["runs"]:
        rep = r["report"]
        print(f"k={r['k']} threshold={r['threshold']}: queue corrected {rep['queue']['corrected']['mean']} "
              f"broken {rep['queue']['broken']['mean']}; patterns corrected {rep['patterns']['corrected']['mean']} "
              f"broken {rep['patterns']['broken']['mean']} bulk precision {rep['patterns']['bulk_precision_pooled']}")
    pooled = result["pattern_audit"]["pooled"]
    print(f"relabelling every pattern to its suggested class: {pooled['relabel_right']} of {pooled['audited']} audited "
          f"rows right ({pooled['low']:.2f}-{pooled['high']:.2f}), {pooled['broken']} right labels broken")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
