"""How well do loss and the suspicion score find flipped labels?

Flips ``--fraction`` of the analysed split's labels to another class at random, writes the noisy
split to a temporary folder, rebuilds the analysis on it (a fresh cache, so the model really runs),
and prints JSON: for loss alone and for the suspicion score, the ROC AUC of separating flipped from
clean samples, and precision and recall at k = number of flips. A sweep over the suspicion weight
shows how the combination was chosen.

    python bench/label_noise.py --model ../shared/models/emotion-minilm --data ../shared/emotion \
        --fraction 0.05 --seed 1
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data import load_splits, write_split  # noqa: E402
from core.model import load_classifier  # noqa: E402
from core.precompute import analyse_split  # noqa: E402

WEIGHTS = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0)


def flip_labels(labels: np.ndarray, n_classes: int, *, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels with ``fraction`` of rows moved to a different random class, and the flipped rows' mask."""
    rng = np.random.default_rng(seed)
    n_flip = int(round(fraction * len(labels)))
    rows = rng.choice(len(labels), size=n_flip, replace=False)
    noisy = labels.copy()
    noisy[rows] = (labels[rows] + rng.integers(1, n_classes, size=n_flip)) % n_classes
    flipped = np.zeros(len(labels), dtype=bool)
    flipped[rows] = True
    return noisy, flipped


def ranking_scores(score: np.ndarray, flipped: np.ndarray) -> dict[str, float]:
    """ROC AUC, and precision and recall at k = number of flipped rows."""
    from sklearn.metrics import roc_auc_score

    k = int(flipped.sum())
    top = np.argsort(-score, kind="stable")[:k]
    hits = int(flipped[top].sum())
    return {"roc_auc": float(roc_auc_score(flipped, score)), "precision_at_k": hits / max(k, 1),
            "recall_at_k": hits / max(k, 1), "k": k}


def run(model: str, data_dir: str, *, fraction: float, seed: int, split: str, max_rows: int | None,
        text_column: str | None = None, label_column: str | None = None) -> dict:
    """Flip, rebuild, score; returns the JSON-ready report."""
    data = load_splits(data_dir, splits=(split,), text_column=text_column, label_column=label_column)
    names = data.label_names
    texts = data[split].texts[:max_rows] if max_rows else data[split].texts
    labels = data[split].labels[: len(texts)]
    noisy, flipped = flip_labels(labels, len(names), fraction=fraction, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "noisy"
        folder.mkdir()
        import pandas as pd

        write_split(pd.DataFrame({"text": texts, "label": [names[i] for i in noisy]}), folder / f"{split}.txt",
                    fmt="txt", label_names=names)
        noisy_data = load_splits(folder, splits=(split,), label_names=names)
        clf = load_classifier(model, data_labels=names)
        start = time.perf_counter()
        out = analyse_split(clf, noisy_data, split, cache_dir=Path(tmp) / "cache", show_progress=False)
        seconds = time.perf_counter() - start
    table = out.analysis.table
    if len(table) != len(texts):
        raise RuntimeError(f"noisy split lost rows: {len(table)} of {len(texts)}")
    sweep = {}
    for w in WEIGHTS:
        score = table["loss"].to_numpy() + w * table["knn_disagree"].to_numpy()
        sweep[f"{w:.2f}"] = round(ranking_scores(score, flipped)["roc_auc"], 4)
    return {
        "model": model, "data": data_dir, "split": split, "rows": len(table), "fraction": fraction, "seed": seed,
        "flipped": int(flipped.sum()), "analysis_seconds": round(seconds, 1),
        "loss": ranking_scores(table["loss"].to_numpy(), flipped),
        "suspicion": ranking_scores(table["suspicion"].to_numpy(), flipped),
        "knn_weight_sweep_auc": sweep,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one JSON object."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--fraction", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--split", default="validation")
    p.add_argument("--max-rows", type=int, default=None, help="analyse only the first N rows (quick runs)")
    p.add_argument("--text-column", default=None, help="text column of CSV/parquet data (default: text)")
    p.add_argument("--label-column", default=None, help="label column of CSV/parquet data (default: label)")
    args = p.parse_args(argv)
    if not 0 < args.fraction < 1:
        p.error("--fraction must be between 0 and 1")
    report = run(args.model, args.data, fraction=args.fraction, seed=args.seed, split=args.split,
                 max_rows=args.max_rows, text_column=args.text_column, label_column=args.label_column)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
