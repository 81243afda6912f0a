"""Out-of-fold probabilities for a split the model trained on: ``python -m core.analysis.crossval``.

A model can memorise the labels it trained on, wrong ones included, so its own (in-sample)
probabilities on its training split understate how suspicious a wrong label is. Cross-validation
gives every row a probability from a model that never saw it:

- ``finetune``: K stratified folds; for each, a model fine-tuned with ``core.classifier.train``'s recipe
  (transformers Trainer) on the other K-1 folds predicts the held-out fold. Each finished fold is
  saved atomically, so an interrupted run resumes where it stopped. Minutes on a GPU; hours on a
  2-core CPU at DistilBERT size.
- ``frozen-head``: the frozen base encoder's [CLS] embeddings and a cross-validated logistic
  regression (scikit-learn ``cross_val_predict``): minutes on a CPU, weaker (cleanlab's text route).

Usage::

    python -m core.analysis.crossval --data ../shared/emotion --split train --base distilbert-base-uncased \\
        --folds 5 --method finetune [--max-train-samples N] [recipe flags of core.classifier.train] [--cache-dir DIR] \\
        [--engine local|ray] [--ray-address ADDRESS]

Writes ``<cache-dir>/oof/<key>/oof.parquet`` (``row_id`` into the split, ``fold``, ``prob_<label>``
per class) and ``meta.json`` beside it; the key hashes the data fingerprint, split, method and
recipe. :func:`find_oof` returns the newest finished table for a data split.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from core.classifier.train import RECIPE_FIELDS, add_recipe_args, load_data
from core.data.splits import DataError, EmotionData, data_fingerprint
from core.files import write_atomic

METHODS = ("finetune", "frozen-head")
OOF_VERSION = 1
TABLE, META, PLAN = "oof.parquet", "meta.json", "plan.json"


def full_recipe(recipe: dict) -> dict:
    """``recipe`` with ``core.classifier.train``'s defaults for missing recipe fields, ``folds`` 5 and no subset."""
    from core.classifier.train import build_parser

    defaults = {k: getattr(build_parser().parse_args([]), k) for k in RECIPE_FIELDS}
    return {**defaults, "folds": 5, "max_train_samples": None, **recipe}


def recipe_key(method: str, recipe: dict) -> dict:
    """The recipe fields that change a method's result (the rest are ignored in the cache key)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    keep = ("base", "folds", "max_train_samples", "seed", "max_length")
    if method == "finetune":
        keep = keep + RECIPE_FIELDS
    return {k: recipe.get(k) for k in sorted(set(keep))}


def oof_path(cache_dir: str | Path, data: EmotionData, split: str, method: str, recipe: dict) -> Path:
    """Where the out-of-fold table of (data, split, method, recipe) lives: ``.../oof/<key>/oof.parquet``."""
    fp = data_fingerprint(data, split)
    raw = json.dumps([OOF_VERSION, fp, split, method, recipe_key(method, full_recipe(recipe))], sort_keys=True)
    key = hashlib.sha256(raw.encode()).hexdigest()[:20]
    return Path(cache_dir).expanduser() / "oof" / key / TABLE


def find_oof(cache_dir: str | Path, data: EmotionData, split: str) -> tuple[pd.DataFrame, dict] | None:
    """The newest finished out-of-fold table for this data and split, and its meta; ``None`` if none."""
    root = Path(cache_dir).expanduser() / "oof"
    if not root.is_dir():
        return None
    fp = data_fingerprint(data, split)
    found = []
    for meta_file in root.glob(f"*/{META}"):
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, ValueError):
            continue
        table_file = meta_file.with_name(TABLE)
        if meta.get("data_fingerprint") == fp and meta.get("split") == split and table_file.is_file():
            found.append((meta.get("finished_at", ""), table_file.stat().st_mtime, table_file, meta))
    for *_, table_file, meta in sorted(found, key=lambda f: f[:2], reverse=True):
        try:
            table = pd.read_parquet(table_file)
        except Exception:  # an unreadable table is skipped, never fatal
            continue
        if len(table) == meta.get("n_rows"):
            return table, meta
    return None


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write a parquet file so a reader never sees half of it (:func:`core.files.write_atomic`)."""
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False), fsync=True)


def stratified_rows(labels: np.ndarray, max_samples: int | None, seed: int) -> np.ndarray:
    """Sorted row ids of a seeded stratified subset of ``max_samples`` rows (all rows when ``None``)."""
    n = len(labels)
    if not max_samples or max_samples >= n:
        return np.arange(n)
    from sklearn.model_selection import train_test_split

    rows, _ = train_test_split(np.arange(n), train_size=max_samples, stratify=labels, random_state=seed)
    return np.sort(rows)


def fold_plan(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """(N,) fold id of each row: seeded stratified K folds."""
    from sklearn.model_selection import StratifiedKFold

    if folds < 2:
        raise ValueError(f"--folds must be at least 2 (got {folds})")
    if len(labels) < folds:
        raise ValueError(f"{len(labels)} rows cannot be split into {folds} folds")
    plan = np.full(len(labels), -1, dtype=np.int64)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, held) in enumerate(skf.split(np.zeros(len(labels)), labels)):
        plan[held] = k
    return plan


def _prob_frame(row_ids: np.ndarray, fold: np.ndarray, probs: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame({"row_id": row_ids.astype(np.int64), "fold": fold.astype(np.int64)})
    for j, name in enumerate(names):
        frame[f"prob_{name}"] = probs[:, j].astype(np.float32)
    return frame


def _fit_fold(k: int, folder: Path, texts: list[str], labels: np.ndarray, row_ids: np.ndarray, plan: np.ndarray,
              names: Sequence[str], recipe: dict, progress: bool) -> int:
    """Fine-tune on every fold but ``k``, predict fold ``k`` and save it atomically; returns ``k``."""
    from core.classifier.train import fine_tune, predict_probs

    folds_dir = folder / "folds"
    start = time.perf_counter()
    train_idx, held_idx = np.flatnonzero(plan != k), np.flatnonzero(plan == k)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        trainer, tokenizer, _ = fine_tune(recipe["base"], [texts[i] for i in train_idx], labels[train_idx], names,
                                          recipe, output_dir=tmp, logging_steps=50, disable_tqdm=not progress)
        probs = predict_probs(trainer, tokenizer, [texts[i] for i in held_idx], recipe["max_length"])
    seconds = time.perf_counter() - start
    (folds_dir / f"fold_{k}.json").write_text(json.dumps({"fold": k, "seconds": round(seconds, 1),
                                                          "train_rows": int(len(train_idx)),
                                                          "held_rows": int(len(held_idx))}))
    _write_atomic(_prob_frame(row_ids[held_idx], plan[held_idx], probs, names), folds_dir / f"fold_{k}.parquet")
    return k


def _finetune_folds(folder: Path, texts: list[str], labels: np.ndarray, row_ids: np.ndarray, plan: np.ndarray,
                    names: Sequence[str], recipe: dict, *, progress: bool,
                    on_fold_done: Callable[[int], None] | None, engine: str = "local",
                    ray_address: str | None = None) -> tuple[pd.DataFrame, list[float]]:
    """Fine-tune one model per fold (resuming finished folds from disk); returns the table and fold seconds.

    ``engine="ray"``: each missing fold is a Ray task (one GPU each where the cluster has GPUs) that
    writes its own fold files, so a run interrupted on Ray resumes like a local one.
    """
    from tqdm.auto import tqdm

    folds_dir = folder / "folds"
    folds_dir.mkdir(parents=True, exist_ok=True)
    k_total = int(plan.max()) + 1
    done = {k for k in range(k_total) if (folds_dir / f"fold_{k}.parquet").is_file()}
    bar = tqdm(total=k_total, initial=len(done), desc="crossval folds", unit="fold", disable=not progress)
    todo = [k for k in range(k_total) if k not in done]
    shared = (folder, texts, labels, row_ids, plan, names, recipe, False)
    if engine == "ray":
        from core.analysis.ray_engine import run_tasks

        finished = run_tasks(_fit_fold, todo, shared, address=ray_address)
    else:
        finished = (_fit_fold(k, *shared[:-1], progress) for k in todo)
    for k in finished:
        bar.update(1)
        if on_fold_done is not None:
            on_fold_done(k)
    bar.close()
    parts = [pd.read_parquet(folds_dir / f"fold_{k}.parquet") for k in range(k_total)]
    seconds = []
    for k in range(k_total):
        info = folds_dir / f"fold_{k}.json"
        seconds.append(json.loads(info.read_text())["seconds"] if info.is_file() else float("nan"))
    return pd.concat(parts, ignore_index=True).sort_values("row_id", kind="stable").reset_index(drop=True), seconds


def _frozen_head(texts: list[str], labels: np.ndarray, row_ids: np.ndarray, plan: np.ndarray,
                 names: Sequence[str], recipe: dict) -> tuple[pd.DataFrame, list[float]]:
    """Frozen [CLS] embeddings and a cross-validated logistic regression over the same folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import PredefinedSplit, cross_val_predict

    from core.classifier.train import frozen_cls_features

    start = time.perf_counter()
    features = frozen_cls_features(recipe["base"], texts, len(names), max_length=recipe["max_length"])
    present = np.unique(labels)
    raw = cross_val_predict(LogisticRegression(max_iter=2000), features, labels, cv=PredefinedSplit(plan),
                            method="predict_proba")
    probs = np.zeros((len(labels), len(names)), dtype=np.float64)
    probs[:, present] = raw
    seconds = (time.perf_counter() - start) / (int(plan.max()) + 1)
    return _prob_frame(row_ids, plan, probs, names), [round(seconds, 1)] * (int(plan.max()) + 1)


def run_crossval(data: EmotionData, split: str, *, base: str, method: str = "finetune", folds: int = 5,
                 recipe: dict | None = None, max_train_samples: int | None = None,
                 cache_dir: str | Path = ".cache", progress: bool = True,
                 on_fold_done: Callable[[int], None] | None = None, engine: str = "local",
                 ray_address: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Out-of-fold probabilities of ``split``; returns ``(table, meta)`` and writes them under ``cache_dir``.

    ``recipe`` holds ``core.classifier.train``'s recipe fields
    (:data:`core.classifier.train.RECIPE_FIELDS`; defaults from its parser). A finished table with the
    same key is returned as it is; finished folds of an
    interrupted run are reused. ``on_fold_done(k)`` is called after each newly finished fold.
    ``engine="ray"`` fine-tunes the folds as Ray tasks (a new local Ray unless ``ray_address``).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    full = full_recipe({**{k: v for k, v in (recipe or {}).items() if k in RECIPE_FIELDS},
                        "base": str(base), "folds": int(folds), "max_train_samples": max_train_samples})
    table_path = oof_path(cache_dir, data, split, method, full)
    folder = table_path.parent
    names = list(data.label_names)
    if table_path.is_file() and (folder / META).is_file():
        meta = json.loads((folder / META).read_text())
        table = pd.read_parquet(table_path)
        if len(table) == meta.get("n_rows"):
            return table, meta
    folder.mkdir(parents=True, exist_ok=True)
    source = data[split]
    row_ids = stratified_rows(source.labels, max_train_samples, full["seed"])
    texts = [source.texts[i] for i in row_ids]
    labels = np.asarray(source.labels[row_ids], dtype=np.int64)
    plan = fold_plan(labels, folds, full["seed"])
    plan_file = folder / PLAN
    plan_record = {"row_id": row_ids.tolist(), "fold": plan.tolist()}
    if plan_file.is_file() and json.loads(plan_file.read_text()) != plan_record:
        raise RuntimeError(f"{plan_file}: the saved fold plan differs from this run's; delete {folder} to restart")
    plan_file.write_text(json.dumps(plan_record))
    if method == "finetune":
        if progress:
            print(f"core.analysis.crossval: fine-tuning {folds} models of {full['base']} on about "
                  f"{len(labels) * (folds - 1) // folds} rows each, {full['epochs']} epochs. On a CPU this takes "
                  "hours at DistilBERT size (tens of minutes per fold on 2 cores even for MiniLM); a GPU needs "
                  f"minutes. Finished folds are kept in {folder / 'folds'}, so an interrupted run resumes.",
                  file=sys.stderr)
        table, seconds = _finetune_folds(folder, texts, labels, row_ids, plan, names, full, progress=progress,
                                         on_fold_done=on_fold_done, engine=engine, ray_address=ray_address)
    else:
        table, seconds = _frozen_head(texts, labels, row_ids, plan, names, full)
    meta = {"version": OOF_VERSION, "data_fingerprint": data_fingerprint(data, split), "split": split,
            "method": method, "recipe": recipe_key(method, full), "labels": names, "n_rows": int(len(table)),
            "folds": int(folds), "fold_seconds": seconds,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _write_atomic(table, table_path)
    write_atomic(folder / META, lambda tmp: tmp.write_text(json.dumps(meta, indent=2, sort_keys=True)))
    return table, meta


def build_parser() -> argparse.ArgumentParser:
    """The command line: data, split, method, folds, cache folder, and ``core.classifier.train``'s recipe flags."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="Hub id or local folder of split files")
    p.add_argument("--split", default="train")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--method", choices=METHODS, default="finetune")
    p.add_argument("--cache-dir", default=".cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--engine", choices=["local", "ray"], default="local", help="ray: each fold a Ray task")
    p.add_argument("--ray-address", default=None, help="a Ray cluster (default: start a local Ray)")
    add_recipe_args(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    args = build_parser().parse_args(argv)
    try:
        data = load_data(args.data, (args.split,), text_column=args.text_column, label_column=args.label_column)
        recipe = {k: getattr(args, k) for k in RECIPE_FIELDS}
        start = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # the Trainer logs to stdout; stdout is for the JSON
            table, meta = run_crossval(data, args.split, base=args.base, method=args.method, folds=args.folds,
                                       recipe=recipe, max_train_samples=args.max_train_samples,
                                       cache_dir=args.cache_dir, progress=not args.quiet, engine=args.engine,
                                       ray_address=args.ray_address)
    except (DataError, ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = oof_path(args.cache_dir, data, args.split, args.method, {**recipe, "base": args.base, "folds": args.folds,
                                                                      "max_train_samples": args.max_train_samples})
    print(json.dumps({"table": str(path), "rows": len(table), "method": meta["method"],
                      "fold_seconds": meta["fold_seconds"], "seconds": round(time.perf_counter() - start, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
