"""The compare command: two checkpoints on one split, on the given labels, on those corrected by review, and
on the blind audit's labels (the ``audited`` block of ``--json``).

Usage::

    python -m core.audit.compare --model A --model B --data D --split validation [--json OUT] [--cache-dir DIR] \
        [--review-db FILE]

Both analyses come from the analysis cache (computed and cached when missing), so comparing two analysed
checkpoints takes seconds. The comparison itself is :func:`core.analysis.compare.compare_tables`; the review
decisions of the split (``--review-db``, default ``<cache-dir>/reviews.sqlite`` when it exists) add the
corrected-label report; its blind audit judgements, or else an audit CSV (``--audit-csv``, default the
committed ``bench/data/emotion_<split>_audit.csv``), add the audited-label report
(:func:`core.audit.verdict.audited_comparison`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from core.analysis.compare import compare_tables, verdict
from core.audit.auditor import Auditor
from core.audit.importer import audit_decisions
from core.audit.verdict import audited_comparison, verdict_sentence
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


def audited_block(settings, meta: dict, tables: list[pd.DataFrame], labels: list[str], csv: str | None) -> dict:
    """Both models on the split's audited labels (:func:`core.audit.verdict.audited_comparison`), with
    where the judgements came from."""
    hashes = text_hashes(tables[0]["text"].tolist())
    key = meta.get("review_key") or content_key(hashes, settings.split)
    db = Path(settings.review_db_path).expanduser()
    with tempfile.TemporaryDirectory() as folder:
        store = ReviewStore(db if db.is_file() else Path(folder) / "none.sqlite")
        auditor = Auditor(store, key, tables[0], labels=labels, text_hashes=hashes)
        decisions, source = audit_decisions(auditor, settings.split, csv)
        store.close()
    block = audited_comparison(tables[0]["pred"], tables[1]["pred"], tables[0], decisions, labels)
    return {"source": source, **block}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit 2 with one clear line on bad input."""
    from core.analysis.precompute import CLI_ERRORS, analyse_from_settings
    from core.settings import Settings, build_parser

    p = build_parser(description="Compare two checkpoints on one split.", groups=("data", "compute"), skip=("model",))
    p.add_argument("--model", action="append", required=True, help="give twice: --model A --model B")
    p.add_argument("--json", default=None, help="write the report as JSON here")
    p.add_argument("--review-db", default=None,
                   help="review decisions (SQLite); default <cache-dir>/reviews.sqlite when it exists")
    p.add_argument("--audit-csv", default=None, help="blind audit judgements when the review database has none "
                   "(default: the committed audit of the split, if any)")
    args = p.parse_args(argv)
    if len(args.model) != 2:
        print("error: give exactly two models: --model A --model B", file=sys.stderr)
        return 2
    models, json_out, audit_csv = args.model, args.json, args.audit_csv
    del args.model, args.json, args.audit_csv
    settings = Settings.from_namespace(args)
    try:
        tables = []
        for ref in models:
            _, clf, out = analyse_from_settings(settings, model=ref)
            tables.append(out.analysis.table)
            labels = list(clf.labels)
        decisions = review_decisions(settings.review_db_path, out.analysis.meta, tables[0], settings.split)
        report = compare_tables(tables[0], tables[1], labels, decisions=decisions)
        audited = audited_block(settings, out.analysis.meta, tables, labels, audit_csv)
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
    print(f"\non the audited labels ({audited['source']}): {verdict_sentence(audited)}")
    if json_out:
        Path(json_out).write_text(json.dumps({"model_a": models[0], "model_b": models[1], "split": settings.split,
                                              **report.to_json(), "audited": audited}, indent=2, default=float))
        print(f"wrote {json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
