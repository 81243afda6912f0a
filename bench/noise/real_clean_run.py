"""The runs and the report of ``bench/noise/real_clean.py`` (its docstring fixes the analysis)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.noise.noise_probs import TRAIN_RECIPE, minilm_base
from bench.noise.real_clean import (
    AUDITS,
    EVAL_SPLITS,
    ROWS,
    SUGGEST,
    condition_labels,
    fit_folder,
    fit_one,
    subset,
)


@dataclass
class Setup:
    base: str
    recipe: dict
    names: list[str]
    texts: list[str]
    labels: np.ndarray
    score: np.ndarray
    suggest: np.ndarray
    audited_fix: dict[int, int]
    evals: dict[str, list[str]]
    eval_labels: dict[str, np.ndarray]
    full: bool = True


def _ranking_table(args: argparse.Namespace, n_train: int) -> pd.DataFrame:
    if args.quick:  # smoke: a seeded stand-in for the ranking; never reported
        rng = np.random.default_rng(0)
        return pd.DataFrame({"mislabel_score": rng.random(n_train), SUGGEST: rng.integers(0, 6, n_train)})
    if args.table:
        return pd.read_parquet(args.table, columns=["mislabel_score", SUGGEST])
    from core.analysis.precompute import analyse_split
    from core.classifier.model import load_classifier
    from core.data.splits import load_splits

    data = load_splits(args.data, splits=("train",))
    clf = load_classifier(args.model, data_labels=data.label_names, cache_dir=args.cache_dir)
    return analyse_split(clf, data, "train", cache_dir=args.cache_dir).analysis.table


def build(args: argparse.Namespace) -> Setup:
    """The subset, its ranking and suggestions, the audited corrections and the evaluation splits."""
    from bench.noise.loop_value import tiny_base
    from core.data.splits import load_splits

    data = load_splits(args.data, splits=("train", *EVAL_SPLITS))
    names = list(data.label_names)
    train = data["train"]
    audit = pd.read_csv(AUDITS / "emotion_train_audit.csv", keep_default_na=False)
    rows = subset(len(train.texts), audit["sample_id"].to_numpy(dtype=np.int64), 120 if args.quick else ROWS)
    table = _ranking_table(args, len(train.texts))
    suggest = table[SUGGEST].to_numpy()
    suggest = suggest if np.issubdtype(suggest.dtype, np.integer) else np.array([names.index(s) for s in suggest])
    position = {int(r): i for i, r in enumerate(rows)}
    wrong = audit[audit["judgement"] == "wrong"]
    fix = {position[int(s)]: names.index(c) for s, c in zip(wrong["sample_id"], wrong["correct_label"], strict=True)
           if int(s) in position}
    recipe = dict(TRAIN_RECIPE)
    if args.quick:
        recipe.update(epochs=1.0, max_length=32, batch_size=16)
        base = tiny_base(Path(args.work_dir) / "tiny_base")
    else:
        recipe["warmup_steps"] = int(np.ceil(0.1 * np.ceil(len(rows) / recipe["batch_size"]) * recipe["epochs"]))
        base = minilm_base()
    cut = 50 if args.quick else None
    evals = {s: list(data[s].texts[:cut]) for s in EVAL_SPLITS}
    return Setup(base, recipe, names, [train.texts[i] for i in rows], train.labels[rows].astype(np.int64),
                 table["mislabel_score"].to_numpy(dtype=float)[rows], suggest[rows].astype(np.int64), fix, evals,
                 {s: data[s].labels[:cut].astype(np.int64) for s in EVAL_SPLITS}, full=not args.quick)


def fits(setup: Setup, args: argparse.Namespace, *, train: bool) -> dict[tuple[str, int], dict]:
    """Every (condition, seed) model's probabilities on the evaluation splits (trained when ``train``)."""
    out = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        for name in args.conditions.split(","):
            keep, labels, counts = condition_labels(name, setup.labels, setup.score, setup.suggest, setup.audited_fix)
            recipe = {**setup.recipe, "seed": seed}
            texts = [t for t, k in zip(setup.texts, keep, strict=True) if k]
            work = Path(args.work_dir)
            if train:
                print(f"fit {name} seed {seed} ({len(texts)} rows)", flush=True)
                fit_one(work, setup.base, recipe, texts, labels[keep], setup.names, setup.evals)
            folder = fit_folder(work, setup.base, recipe, texts, labels[keep], setup.evals)
            if (folder / "preds.npz").is_file():
                z = np.load(folder / "preds.npz")
                out[(name, seed)] = {"probs": {s: z[s] for s in setup.evals}, "counts": counts,
                                     **json.loads((folder / "fit.json").read_text())}
    return out


def run(args: argparse.Namespace) -> dict | None:
    setup = build(args)
    done = fits(setup, args, train=args.fit or args.quick)
    if not (args.report or args.quick):
        return None
    from bench.noise.real_clean_report import report

    result = report(setup, done, args)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))
    return result
