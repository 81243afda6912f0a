"""``python -m core.audit --data D --split S --review-db DB [--model M] [--cache-dir C] [--json OUT]``:
print the audit report of one split (the analysis is reused from the cache the app uses, or computed)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.settings import Settings, build_parser


def parser() -> argparse.ArgumentParser:
    """The command line: the data and compute flags of :func:`core.settings.build_parser`, ``--split`` train."""
    p = build_parser(description="Print the blind audit report of one split.", groups=("data", "compute"))
    p.add_argument("--review-db", required=True, help="the SQLite file holding the audit decisions")
    p.add_argument("--json", default=None, help="also write the report as JSON to this file")
    p.set_defaults(split="train")  # the audit is of the split the model trained on, unless told otherwise
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from core.analysis.precompute import CLI_ERRORS, analyse_from_settings
    from core.audit.auditor import Auditor
    from core.audit.report import audit_report, format_report
    from core.data.keys import content_key, text_hashes
    from core.review.store import ReviewStore

    if not Path(args.review_db).is_file():
        print(f"error: {args.review_db}: no such review database", file=sys.stderr)
        return 2
    json_out = args.json
    settings = Settings.from_namespace(args)
    try:
        _, clf, out = analyse_from_settings(settings, show_progress=False)
    except CLI_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table, meta = out.analysis.table, out.analysis.meta
    key = meta.get("review_key") or content_key(text_hashes(table["text"].tolist()), settings.split)
    report = audit_report(Auditor(ReviewStore(args.review_db), key, table, labels=list(clf.labels)))
    print(format_report(report))
    if json_out:
        Path(json_out).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
