"""Build (or reuse) the data-health report of a dataset, with or without a model.

Usage::

    python -m core.datahealth --data ../shared/emotion [--model ../shared/models/emotion-minilm] \
        [--splits train validation test] [--json OUT] [--cache-dir DIR] [--top 5]

With ``--model`` every split is analysed first (or its cached analysis reused,
:func:`core.analysis.precompute.analyse_split`), which adds outliers, near-duplicate conflicts and
each split's metrics with and without its leaked rows. Prints the counts per kind and split and the
first rows of each list; ``--json`` writes the whole report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.datahealth.report import DataHealthReport, compute_report, load_cached, report_key, save_cached


def data_health(data, *, splits: Sequence[str] | None = None, classifier=None, analyses: Mapping | None = None,
                cache_dir: str | Path | None = None, batch_size: int = 64,
                show_progress: bool = False) -> tuple[DataHealthReport, bool]:
    """``(report, reused)`` for the loaded ``data`` (:class:`core.data.splits.EmotionData`).

    ``classifier``: a loaded model; its (cached) analyses of the splits add the model's checks.
    ``analyses``: split -> analyses already loaded (objects with ``table``, ``hidden`` and ``meta``),
    used instead of ``classifier``. ``cache_dir``: where the analyses live; the report is cached beside
    them (``None``: no cache).
    """
    from core.data.splits import data_fingerprint

    splits = list(splits or data.splits)
    unknown = [s for s in splits if s not in data.splits]
    if unknown:
        raise ValueError(f"splits {unknown} are not loaded; have {sorted(data.splits)}")
    if analyses is None and classifier is not None:
        from core.analysis.precompute import analyse_split

        analyses = {s: analyse_split(classifier, data, s, cache_dir=cache_dir, batch_size=batch_size,
                                     show_progress=show_progress).analysis for s in splits}
    labels = list(analyses[splits[0]].meta.get("labels") or data.label_names) if analyses else list(data.label_names)
    metas = {s: a.meta for s, a in analyses.items()} if analyses else None
    key = report_key({s: data_fingerprint(data, s) for s in splits}, metas, labels)
    if cache_dir is not None:
        cached = load_cached(cache_dir, key)
        if cached is not None:
            return cached, True
    frames = {s: data.frame(s) for s in splits}
    model = next(iter(analyses.values())).meta.get("model") if analyses else None
    report = compute_report(frames, labels, analyses=analyses, model=model,
                            embeddings=_sentence_embeddings(frames, cache_dir) if analyses else None)
    if cache_dir is not None:
        try:
            save_cached(cache_dir, key, report)
        except OSError:
            pass  # a read-only cache: the report is still returned
    return report, False


def _sentence_embeddings(frames: Mapping, cache_dir) -> dict | None:
    """Each split's sentence embeddings (cached with the signals'), or ``None`` when the encoder is not installed."""
    from importlib.util import find_spec

    from core.analysis.signals.encoder import encoder_path
    from core.analysis.similar import sentence_embeddings

    try:
        encoder_path()
    except ModuleNotFoundError:
        return None
    if find_spec("sentence_transformers") is None:
        return None
    return {s: sentence_embeddings(f["text"].astype(str).tolist(), cache_dir=cache_dir) for s, f in frames.items()}


def _print(report: DataHealthReport, top: int) -> None:
    counts = report.counts()
    print(f"rows: {report.rows}")
    for kind, per in counts.items():
        print(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in per.items()))
    for s, m in report.metrics.items():
        print(f"{s}: accuracy {m['accuracy']:.4f} on {m['rows']} rows; {m['accuracy_kept']:.4f} on the "
              f"{m['rows_kept']} rows without leaked ones (weighted F1 {m['f1_weighted']:.4f} -> "
              f"{m['f1_weighted_kept']:.4f})")
    for p in report.label_sets:
        print(f"label set: {p}")
    show = {"leakage": ["kind", "split", "sample_id", "other_split", "other_id", "same_label", "text"],
            "conflicts": ["kind", "split", "sample_ids", "labels", "text"],
            "outliers": ["split", "sample_id", "label", "outlier_score", "text"],
            "non_emotion": ["split", "sample_id", "reasons", "text"]}
    for name, cols in show.items():
        frame = getattr(report, name)
        if len(frame):
            print(f"\n{name} (first {min(top, len(frame))} of {len(frame)}):")
            print(frame[cols].head(top).to_string(index=False, max_colwidth=70))
    print(f"\n{report.balance.to_string(index=False)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit 2 with one clear line on bad input."""
    from core.classifier.model import ModelError, load_classifier
    from core.data.splits import SPLITS, DataError, load_splits
    from core.settings import Settings, default_cache_dir

    prog = None if sys.argv[0].startswith("emotion-lens") else "python -m core.datahealth"  # emotion-lens: argv[0]
    p = argparse.ArgumentParser(prog=prog, description="Data-health report of a dataset.")
    p.add_argument("--data", required=True, help="folder of split files, or a Hub dataset id")
    p.add_argument("--model", default=None, help="fine-tuned classifier: adds outliers, near duplicates, metrics")
    p.add_argument("--splits", nargs="+", default=list(SPLITS))
    p.add_argument("--json", default=None, help="write the whole report as JSON here")
    p.add_argument("--cache-dir", default=str(default_cache_dir()))
    p.add_argument("--backend", default=Settings().backend, help="inference backend (as for the analysis cache)")
    p.add_argument("--top", type=int, default=5, help="rows of each list to print")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--text-column", default=None)
    p.add_argument("--label-column", default=None)
    args = p.parse_args(argv)
    try:
        data = load_splits(args.data, splits=args.splits, text_column=args.text_column, label_column=args.label_column)
        clf = (load_classifier(args.model, data_labels=data.label_names, label_origin=data.label_origin,
                              backend=args.backend, cache_dir=args.cache_dir)
               if args.model else None)
        report, reused = data_health(data, splits=args.splits, classifier=clf, cache_dir=args.cache_dir,
                                     batch_size=args.batch_size, show_progress=True)
    except (DataError, ModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"data health of {args.data}{' with ' + args.model if args.model else ''} "
          f"({'reused from the cache' if reused else f'{report.seconds:.1f} s'})")
    _print(report, args.top)
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=1))
        print(f"wrote {args.json}")
    return 0
