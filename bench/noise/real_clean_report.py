"""The report of ``bench/noise/real_clean.py``: every model on the given and on the audited labels, the paired
differences against ``given`` and whether the two orders of the conditions disagree (analysis fixed in
``real_clean``'s docstring)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.noise.real_clean import load_audit
from core.audit.verdict import audited_metrics, audited_rows

BOOTSTRAP, BOOT_SEED = 1000, 0


def _given(pred: np.ndarray, labels: np.ndarray) -> dict:
    from sklearn.metrics import f1_score

    return {"accuracy": float(np.mean(pred == labels)), "macro_f1": float(f1_score(labels, pred, average="macro"))}


def _paired(truth: np.ndarray, preds: dict[int, np.ndarray], base: dict[int, np.ndarray]) -> dict:
    """Seed-mean accuracy difference on audited rows, with a row-bootstrap interval (seeds kept)."""
    seeds = sorted(set(preds) & set(base))
    if not seeds:
        return {}
    right = np.stack([preds[s] == truth for s in seeds]).astype(float)
    right0 = np.stack([base[s] == truth for s in seeds]).astype(float)
    diff = (right - right0).mean(axis=0)
    rng = np.random.default_rng(BOOT_SEED)
    boot = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(BOOTSTRAP)]
    per_seed = (right - right0).mean(axis=1)
    return {"value": float(diff.mean()), "low": float(np.percentile(boot, 2.5)),
            "high": float(np.percentile(boot, 97.5)), "per_seed": [round(float(x), 4) for x in per_seed],
            "seeds": seeds, "rows": int(len(diff))}


def _split_block(setup, done: dict, split: str, conditions: list[str]) -> dict:
    names = np.array(setup.names, dtype=object)
    labels = setup.eval_labels[split]
    table = pd.DataFrame({"text": setup.evals[split], "label": names[labels]})
    decisions = load_audit(split, setup.evals[split]) if setup.full else None  # a smoke run scores no audit
    block: dict = {"given": {}, "audited": {}, "paired_vs_given": {}}
    preds = {key: names[v["probs"][split].argmax(1)] for key, v in done.items()}
    for cond in conditions:
        runs = {seed: p for (c, seed), p in preds.items() if c == cond}
        if not runs:
            continue
        given = [_given(p, names[labels]) for p in runs.values()]
        block["given"][cond] = {k: float(np.mean([g[k] for g in given])) for k in ("accuracy", "macro_f1")}
        block["given"][cond]["per_seed_accuracy"] = [round(g["accuracy"], 4) for g in given]
        if decisions is None:
            continue
        metrics = [audited_metrics(p, table, decisions, setup.names) for p in runs.values()]
        block["audited"][cond] = {k: float(np.mean([m[k]["value"] for m in metrics]))
                                  for k in ("accuracy", "macro_f1", "wrong_rows_fixed")}
        block["audited"][cond]["per_seed"] = [{k: m[k] for k in ("accuracy", "macro_f1", "wrong_rows_fixed")}
                                              for m in metrics]
        block["audited"][cond].update(rows=metrics[0]["rows"], set_apart=metrics[0]["set_apart"])
        ids, truth, _, _ = audited_rows(table, decisions)
        base = {seed: p[ids] for (c, seed), p in preds.items() if c == "given"}
        if cond != "given":
            block["paired_vs_given"][cond] = _paired(truth, {s: p[ids] for s, p in runs.items()}, base)
    return block


def _orders(block: dict) -> dict:
    from scipy.stats import kendalltau

    common = [c for c in block["given"] if c in block["audited"]]
    if len(common) < 3:
        return {}
    given = [block["given"][c]["accuracy"] for c in common]
    audited = [block["audited"][c]["accuracy"] for c in common]
    tau = kendalltau(given, audited).statistic
    return {"by_given": sorted(common, key=lambda c: -block["given"][c]["accuracy"]),
            "by_audited": sorted(common, key=lambda c: -block["audited"][c]["accuracy"]),
            "kendall_tau": None if math.isnan(tau) else float(tau)}


def report(setup, done: dict, args) -> dict:
    conditions = args.conditions.split(",")
    splits = {s: _split_block(setup, done, s, conditions) for s in setup.evals}
    for block in splits.values():
        block["orders"] = _orders(block)
    counts = {c: v["counts"] for (c, _), v in done.items()}
    seconds = [v["train_seconds"] for v in done.values()]
    summary = {s: {c: {"given_acc": round(b["given"][c]["accuracy"], 4),
                       **({"audited_acc": round(b["audited"][c]["accuracy"], 4)} if c in b["audited"] else {}),
                       **({"delta": {k: round(v, 4) for k, v in b["paired_vs_given"][c].items() if k in
                                     ("value", "low", "high")}} if c in b["paired_vs_given"] else {})}
                   for c in b["given"]} for s, b in splits.items()}
    return {"recipe": setup.recipe, "train_rows": len(setup.texts), "audited_fixes": len(setup.audited_fix),
            "seeds": args.seeds, "models": len(done), "condition_counts": counts,
            "median_train_seconds": float(np.median(seconds)) if seconds else None, "quick": bool(args.quick),
            "splits": splits, "summary": summary}
