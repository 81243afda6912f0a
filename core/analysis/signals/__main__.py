"""Write every ranking signal of one split to a parquet file.

Usage::

    python -m core.analysis.signals --model ../shared/models/emotion-minilm --data ../shared/emotion \
        --split train --out /tmp/signals_train.parquet [--cache-dir DIR] [--limit N] [--families a,b]

One row per sample: ``sample_id``, ``text``, ``label``, the model's ``pred`` and in-sample ``loss``,
the cached analysis's ``mislabel_score`` (for comparison), and one column per signal. The model
pass comes from the cached analysis (:func:`core.analysis.precompute.analyse_split`, with the
app's settings, so the same entry as ``python -m core.analysis.precompute``); with
``--limit`` only the first N rows are used and the model runs on them directly.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def build_parser() -> argparse.ArgumentParser:
    """The app's options (:func:`core.settings.build_parser`: model, data, split, cache, backend) and this tool's."""
    from core.analysis.signals.compute import FAMILIES
    from core.settings import build_parser as settings_parser

    p = settings_parser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="parquet file to write")
    p.add_argument("--limit", type=int, default=None, help="only the first N rows (no cached analysis)")
    p.add_argument("--families", default=",".join(FAMILIES), help=f"comma-separated subset of {','.join(FAMILIES)}")
    return p


def _model_pass(clf, data, split: str, limit: int | None, cache_dir):
    """The split's analysis table and [CLS] states (cached; recomputed on the first ``limit`` rows)."""
    from core.analysis.precompute import analyse_split, remap_label_ids
    from core.analysis.table import compute_analysis

    if limit is None:
        out = analyse_split(clf, data, split, cache_dir=cache_dir, show_progress=False)
        return out.analysis.table, np.asarray(out.analysis.hidden)
    ids = remap_label_ids(data, split, clf.labels)[:limit]
    result = compute_analysis(clf, data[split].texts[:limit], ids)
    return result.table, result.hidden


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit code 2 with one clear line on bad input."""
    from core.analysis.signals.compute import compute_signals
    from core.analysis.table import probs_of
    from core.classifier.model import ModelError, load_classifier
    from core.data.splits import DataError, load_splits
    from core.settings import Settings

    args = build_parser().parse_args(argv)
    settings = Settings.from_namespace(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if args.limit is not None and args.limit < 10:
        print("error: --limit must be at least 10 (5 folds need rows of every class)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        data = load_splits(settings.data, splits=(settings.split,), text_column=settings.text_column,
                           label_column=settings.label_column)
        clf = load_classifier(settings.model, data_labels=data.label_names, max_length=settings.max_length,
                              label_origin=data.label_origin, backend=settings.backend, cache_dir=settings.cache_dir)
        table, hidden = _model_pass(clf, data, settings.split, args.limit, settings.cache_dir)
        families = [f for f in args.families.split(",") if f]
        texts, labels = table["text"].tolist(), table["label"].tolist()
        signals, seconds = compute_signals(texts, labels, clf.labels, hidden=hidden, classifier=clf,
                                           base_probs=probs_of(table, clf.labels), cache_dir=settings.cache_dir,
                                           families=families, verbose=True)
    except (DataError, ModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = table[["text", "label", "pred", "loss", "mislabel_score"]].copy()
    out.insert(0, "sample_id", np.arange(len(out), dtype=np.int64))
    out = out.join(signals)
    target = Path(args.out).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    out.to_parquet(tmp, index=False)
    tmp.replace(target)  # a reader polling the file never sees it half-written
    print(json.dumps({"out": str(args.out), "rows": len(out), "columns": list(out.columns),
                      "seconds": seconds, "total_seconds": round(time.perf_counter() - start, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
