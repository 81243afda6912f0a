"""The blind audit from the command line (``emotion-lens audit`` or ``python -m core.audit``).

    python -m core.audit draw   --data D --split S --review-db DB [--n 25] [--sampling uniform] [--no-model]
    python -m core.audit judge  --data D --split S --review-db DB --file judgements.jsonl --reviewer NAME
    python -m core.audit revise --data D --split S --review-db DB --sample-id I --judgement J --reason R
    python -m core.audit report --data D --split S --review-db DB [--json OUT]
    python -m core.audit export --data D --split S --review-db DB --out audit.csv
    python -m core.audit import --data D --split S --review-db DB --csv audit.csv

``draw`` prints one JSON line per row to judge: its draw token, sample id, text and given label, nothing
of the model. ``judge`` records judgements against those tokens (JSON lines with ``token``,
``judgement``, and for ``wrong`` the ``correct_label`` and a ``reason``), each token once; it prints
nothing of the model unless ``--reveal``. With ``--no-model`` the split alone is read (uniform draws,
no ranking); otherwise the model's cached analysis gives the ranking. A bare ``python -m core.audit
--data ...`` is ``report``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.settings import Settings, build_parser

COMMANDS = ("draw", "judge", "revise", "report", "export", "import")


def parser(command: str = "report") -> argparse.ArgumentParser:
    """The flags of one subcommand: the data and compute flags of :func:`core.settings.build_parser`."""
    p = build_parser(description=f"Blind audit: {command}.", groups=("data", "compute"))
    base = sys.argv[0] if sys.argv[0].startswith("emotion-lens") else "python -m core.audit"
    p.prog = f"{base} {command}"
    p.add_argument("--review-db", required=True, help="the SQLite file holding the audit decisions")
    p.add_argument("--no-model", action="store_true", help="read the split alone (no ranking: uniform draws only)")
    p.add_argument("--reviewer", default="", help="the name recorded with each judgement")
    if command == "draw":
        p.add_argument("--n", type=int, default=25, help="rows to draw (earlier draws not yet judged come first)")
        p.add_argument("--sampling", default="uniform", choices=("uniform", "stratified"))
    elif command == "judge":
        p.add_argument("--file", required=True, help="JSON lines: token, judgement, correct_label, reason ('-': stdin)")
        p.add_argument("--reveal", action="store_true", help="print what the model says of each row once judged")
    elif command == "revise":
        p.add_argument("--sample-id", type=int, required=True)
        p.add_argument("--judgement", required=True)
        p.add_argument("--correct-label", default=None)
        p.add_argument("--reason", required=True, help="why the revealed judgement is corrected")
    elif command in ("report", "export"):
        p.add_argument("--json" if command == "report" else "--out", default=None,
                       help="also write the report as JSON here" if command == "report" else "the CSV to write")
    elif command == "import":
        p.add_argument("--csv", required=True, help="an audit CSV with the committed audits' columns")
    p.set_defaults(split="train")  # the audit is of the split the model trained on, unless told otherwise
    return p


def _auditor(args):
    """The split's :class:`~core.audit.auditor.Auditor` (from the data alone, or the model's analysis)."""
    from core.audit.auditor import Auditor
    from core.data.keys import content_key, text_hashes
    from core.review.store import ReviewStore

    settings = Settings.from_namespace(args)
    if args.no_model:
        from core.data.splits import load_splits

        data = load_splits(settings.data, splits=(settings.split,), text_column=settings.text_column,
                           label_column=settings.label_column)
        table, labels = data.frame(settings.split), list(data.label_names)
        key = None
    else:
        from core.analysis.precompute import analyse_from_settings

        _, clf, out = analyse_from_settings(settings, show_progress=False)
        table, labels, key = out.analysis.table, list(clf.labels), out.analysis.meta.get("review_key")
    hashes = text_hashes(table["text"].tolist())
    key = key or content_key(hashes, settings.split)
    return Auditor(ReviewStore(args.review_db), key, table, labels=labels, text_hashes=hashes)


def _judge(auditor, args) -> int:
    from core.audit.auditor import AuditError

    lines = sys.stdin if args.file == "-" else Path(args.file).open(encoding="utf-8")
    recorded = refused = 0
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            reveal = auditor.decide(item["token"], item["judgement"], correct_label=item.get("correct_label"),
                                    reason=item.get("reason") or "", reviewer=args.reviewer)
        except (AuditError, KeyError, TypeError, ValueError) as exc:
            refused += 1
            print(f"line {n}: refused: {exc}", file=sys.stderr)
            continue
        recorded += 1
        if args.reveal:
            print(json.dumps(reveal, default=str))
    print(f"{recorded} judgements recorded, {refused} refused", file=sys.stderr)
    return 0 if refused == 0 else 1


def _run(command: str, args) -> int:
    from core.audit.report import audit_report, format_report

    auditor = _auditor(args)
    if command == "draw":
        for d in auditor.next(args.sampling, n=args.n):
            print(json.dumps({"token": d.token, "sample_id": d.sample_id, "label": d.label, "text": d.text},
                             ensure_ascii=False))
        return 0
    if command == "judge":
        return _judge(auditor, args)
    if command == "revise":
        auditor.revise(args.sample_id, args.judgement, correct_label=args.correct_label, reason=args.reason,
                       reviewer=args.reviewer)
        print(f"revision of sample {args.sample_id} recorded (the estimates keep the blind judgement)")
        return 0
    if command == "export":
        frame = auditor.frame(args.split)
        frame.to_csv(args.out or sys.stdout, index=False)
        print(f"{len(frame)} judgements written", file=sys.stderr)
        return 0
    if command == "import":
        from core.audit.importer import import_audit_csv

        print(import_audit_csv(auditor, args.csv, split=args.split, reviewer=args.reviewer or "audit import").line())
        return 0
    report = audit_report(auditor)
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "report"
    args = parser(command).parse_args(argv)
    from core.analysis.precompute import CLI_ERRORS
    from core.audit.auditor import AuditError

    if command != "import" and not Path(args.review_db).is_file() and command in ("report", "export"):
        print(f"error: {args.review_db}: no such review database", file=sys.stderr)
        return 2
    try:
        return _run(command, args)
    except (*CLI_ERRORS, AuditError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
