"""``emotion-lens``: one command whose subcommands are the project's entry points.

``emotion-lens <command> [flags]`` runs ``main(flags)`` of the command's module, so each subcommand keeps
the flags of its ``python -m`` form (which still works, as does ``python app.py``). Modules are imported
only when their command runs: importing this module loads nothing beyond the standard library. A new
subcommand is one line of :data:`COMMANDS`.

>>> sorted(COMMANDS)[:3]
['app', 'audit', 'compare']
>>> main(["no-such-command"])
Traceback (most recent call last):
...
SystemExit: 2
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

PROG = "emotion-lens"

# command -> (module whose ``main(argv)`` it runs, one line of help), in the order ``--help`` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "app": ("app", "start the dashboard (python app.py)"),
    "train": ("core.classifier.train", "fine-tune a classifier on a data folder or Hub dataset"),
    "precompute": ("core.analysis.precompute", "compute (or reuse) the cached analysis of one split"),
    "crossval": ("core.analysis.crossval", "out-of-fold probabilities of one split (k-fold cross-validation)"),
    "compare": ("core.audit.compare", "compare two checkpoints on one split"),
    "audit": ("core.audit.__main__", "the blind label audit of one split"),
    "health": ("core.datahealth.run", "the data-health report of a dataset"),
    "signals": ("core.analysis.signals.__main__", "write every ranking signal of one split to parquet"),
    "robustness": ("core.analysis.robustness", "the what-if edits applied to every row of one split"),
    "slices": ("core.analysis.slices", "the error slices of one split"),
    "patterns": ("core.services.patterns_cli", "the suspects of one split grouped by pattern (review by pattern)"),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: one line per command; a command's own flags are its module's to parse."""
    width = max(map(len, COMMANDS)) + 2
    lines = "\n".join(f"  {name:<{width}}{help_line}" for name, (_, help_line) in COMMANDS.items())
    p = argparse.ArgumentParser(prog=PROG, description="Explainability and error analysis of an emotion classifier.",
                                epilog=f"commands:\n{lines}", formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="<command>", required=True,
                           help="the command to run (listed below)")
    for name in COMMANDS:
        sub.add_parser(name, add_help=False)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``emotion-lens <command> [flags]``; returns the command's exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    build_parser().parse_args(argv[:1])  # --help, a missing or unknown command: usage and exit
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(COMMANDS[name][0])
    saved, sys.argv[0] = sys.argv[0], f"{PROG} {name}"  # argparse's default prog: "emotion-lens <command>"
    try:
        return int(module.main(rest) or 0)
    finally:
        sys.argv[0] = saved


if __name__ == "__main__":
    sys.exit(main())
