"""``emotion-lens patterns`` (``python -m core.services.patterns_cli``): the pattern table of a split.

    emotion-lens patterns --model ../shared/models/emotion-minilm --data ../shared/emotion --split train \
        --cache-dir .cache [--top 10] [--rows PATTERN_ID] [--json patterns.json]

Audited precision comes from the review database's blind judgements of the split, else the committed audit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.data.text_input import InputError


def format_table(table: pd.DataFrame, top: int | None = None) -> str:
    """The pattern table as text: size, audited precision with its interval, mixes."""
    shown = table.head(top) if top else table
    cols = ["pattern", "name", "size", "given", "suggested", "audited", "precision", "low", "high"]
    return shown[cols].to_string(index=False, float_format=lambda x: f"{x:.2f}", max_colwidth=40)


def main(argv=None) -> int:
    """``emotion-lens patterns``: print the pattern table of a split (``--rows ID``: one pattern's rows)."""
    import json
    import sys

    from core.services.emotion import EmotionService
    from core.services.startup import start_errors
    from core.settings import Settings, build_parser

    prog = "python -m core.services.patterns_cli"
    p = build_parser(description="The suspects of a split grouped by pattern.", groups=("data", "app"))
    p.prog = sys.argv[0] if sys.argv[0].startswith("emotion-lens") else prog
    p.add_argument("--top", type=int, default=0, help="print the largest TOP patterns only")
    p.add_argument("--rows", default=None, help="print the rows of this pattern id instead")
    p.add_argument("--json", default=None, help="also write the table as JSON to this file")
    p.set_defaults(split="train")
    args = p.parse_args(argv)
    settings = Settings.from_namespace(args)
    settings = Settings(**{**settings.__dict__, "splits": (settings.split,)})
    try:
        svc = EmotionService.load(settings, show_progress=False, defer_model=True)
        if args.rows:
            print(svc.patterns.pattern_rows(args.rows, settings.split).to_string(index=False, max_colwidth=80))
            return 0
        table = svc.patterns.patterns(settings.split)
    except (*start_errors(), InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(table, args.top or None))
    if args.json:
        Path(args.json).write_text(json.dumps(table.to_dict(orient="records"), indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
