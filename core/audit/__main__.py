"""``python -m core.audit --data D --split S --review-db DB [--model M] [--cache-dir C] [--json OUT]``:
print the audit report of one split (the analysis is reused from the cache, or computed)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    defaults = Settings()
    p = argparse.ArgumentParser(prog="python -m core.audit", description=__doc__.split(":")[0])
    p.add_argument("--model", default=defaults.model, help="Hub id or local folder of the classifier")
    p.add_argument("--data", default=defaults.data, help="Hub id or local data folder")
    p.add_argument("--split", default="train", help="the audited split")
    p.add_argument("--review-db", required=True, help="the SQLite file holding the audit decisions")
    p.add_argument("--cache-dir", default=defaults.cache_dir, help="folder of the cached analysis")
    p.add_argument("--text-column", default=None)
    p.add_argument("--label-column", default=None)
    p.add_argument("--json", default=None, help="also write the report as JSON to this file")
    return p


def load_analysis(model: str, data: str, split: str, *, cache_dir: str | None, text_column: str | None = None,
                  label_column: str | None = None):
    """The split's cached analysis table, its review key and the model's label names."""
    from core.analysis.precompute import analyse_split
    from core.classifier.model import load_classifier
    from core.data.splits import load_splits
    from core.review.keys import content_key, text_hashes

    loaded = load_splits(data, splits=(split,), text_column=text_column, label_column=label_column)
    clf = load_classifier(model, data_labels=loaded.label_names, label_origin=loaded.label_origin,
                          cache_dir=cache_dir)
    analysis = analyse_split(clf, loaded, split, cache_dir=cache_dir, show_progress=False).analysis
    table = analysis.table
    key = analysis.meta.get("review_key") or content_key(text_hashes(table["text"].tolist()), split)
    return table, key, list(clf.labels)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from core.audit.auditor import Auditor
    from core.audit.report import audit_report, format_report
    from core.classifier.model import ModelError
    from core.data.splits import DataError
    from core.review.store import ReviewStore

    if not Path(args.review_db).is_file():
        print(f"{args.review_db}: no such review database", file=sys.stderr)
        return 2
    try:
        table, key, labels = load_analysis(args.model, args.data, args.split, cache_dir=args.cache_dir,
                                           text_column=args.text_column, label_column=args.label_column)
    except (DataError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = audit_report(Auditor(ReviewStore(args.review_db), key, table, labels=labels))
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
