"""The compare command: two checkpoints on one split, on the given labels and on those corrected by review.

Usage::

    python -m core.review.compare --model A --model B --data D --split validation [--json OUT] [--cache-dir DIR] \
        [--review-db FILE]

Both analyses come from the analysis cache (computed and cached when missing), so comparing two analysed
checkpoints takes seconds. The comparison itself is :func:`core.analysis.compare.compare_tables`; the review
decisions of the split (``--review-db``, default ``<cache-dir>/reviews.sqlite`` when it exists) add the
corrected-label report. The command lives here, above both, because it reads the review database.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from core.analysis.compare import compare_tables, verdict
from core.data.keys import content_key, text_hashes
from core.review.store import ReviewStore, ReviewStoreError

__all__ = ["main", "review_decisions"]


def review_decisions(db: str | Path, meta: dict, table: pd.DataFrame, split: str) -> pd.DataFrame | None:
    """The current review decisions of the analysed split in the SQLite file ``db`` (``None`` when the
    file does not exist), keyed as the service keys them (the split's content key)."""
    if not Path(db).expanduser().is_file():
        return None
    key = meta.get("review_key") or content_key(text_hashes(table["text"].tolist()), split)
    store = ReviewStore(db)
    try:
        return store.latest(key)
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit 2 with one clear line on bad input."""
    from core.analysis.precompute import CLI_ERRORS, analyse_from_settings
    from core.settings import Settings, build_parser

    p = build_parser(description="Compare two checkpoints on one split.", groups=("data", "compute"), skip=("model",))
    p.add_argument("--model", action="append", required=True, help="give twice: --model A --model B")
    p.add_argument("--json", default=None, help="write the report as JSON here")
    p.add_argument("--review-db", default=None,
                   help="review decisions (SQLite); default <cache-dir>/reviews.sqlite when it exists")
    args = p.parse_args(argv)
    if len(args.model) != 2:
        print("error: give exactly two models: --model A --model B", file=sys.stderr)
        return 2
    models, json_out = args.model, args.json
    del args.model, args.json
    settings = Settings.from_namespace(args)
    try:
        tables = []
        for ref in models:
            _, clf, out = analyse_from_settings(settings, model=ref)
            tables.append(out.analysis.table)
            labels = list(clf.labels)
        decisions = review_decisions(settings.review_db_path, out.analysis.meta, tables[0], settings.split)
        report = compare_tables(tables[0], tables[1], labels, decisions=decisions)
    except (*CLI_ERRORS, ValueError, ReviewStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    s = report.summary
    print(f"A = {models[0]}\nB = {models[1]}\n{settings.split}: {s['rows']} rows")
    print(verdict(s))
    print(f"weighted F1 {s['f1_weighted_a']:.4f} -> {s['f1_weighted_b']:.4f} ({s['f1_weighted_delta']:+.4f}); "
          f"agreement {s['agreement']:.4f}")
    print(report.per_class.round(4).to_string())
    if report.corrected is not None:
        c = report.corrected
        print(f"\non the labels corrected by review ({c['decisions']} decisions: {c['relabelled']} relabelled, "
              f"{c['left_out']} left out; {c['rows']} rows):")
        print(verdict(c))
        print(f"weighted F1 {c['f1_weighted_a']:.4f} -> {c['f1_weighted_b']:.4f} ({c['f1_weighted_delta']:+.4f})")
    if report.warning:
        print(f"warning: {report.warning}")
    if json_out:
        Path(json_out).write_text(json.dumps({"model_a": models[0], "model_b": models[1],
                                              "split": settings.split, **report.to_json()}, indent=2))
        print(f"wrote {json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
