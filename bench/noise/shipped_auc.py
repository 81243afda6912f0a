"""The shipped ranking's ROC AUC on the committed train audit, from one train analysis table: the check that a
change in how the signals are computed (issue 39: the encoder in bf16, the parse of fewer rows) leaves the
ranking's quality where it was.

The table is a train analysis's ``table.parquet`` (its ``mislabel_score`` is the shipped ranking,
:mod:`core.analysis.signals.shipped`). Scored with :func:`bench.noise.real_noise.evaluate` on the audit's
uniform rows: the ``report`` and ``choose`` halves of round 1, both together, and round 2's fresh rows.
Several tables (``--table NAME=PATH``, e.g. before and after) give one JSON with the differences to the first,
and how each signal's ranks agree with the first's (Spearman, overlap of the top 5%, identical or not).

    python bench/noise/shipped_auc.py --table before=B/table.parquet --table after=A/table.parquet \
        --out bench/noise/results/shipped_auc_issue39.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.noise.real_noise import AUDIT, evaluate, half_of  # noqa: E402


def audit_parts(audit_path: Path = AUDIT) -> dict[str, pd.DataFrame]:
    """The train audit's rows by part: ``report``, ``choose``, ``round1`` (both) and ``fresh`` (round 2)."""
    audit = pd.read_csv(audit_path)
    audit = audit[audit["split"] == "train"]
    first = audit[audit["half"] != "fresh"]
    halves = first["sample_id"].map(half_of)
    return {"report": first[halves == "report"], "choose": first[halves == "choose"], "round1": first,
            "fresh": audit[audit["half"] == "fresh"]}


def shipped_auc(table_path: Path, parts: dict[str, pd.DataFrame]) -> dict:
    """ROC AUC and average precision of the table's stored shipped ranking on each audit part."""
    table = pd.read_parquet(table_path)
    score = table["mislabel_score"].to_numpy(float)
    out = {}
    for name, rows in parts.items():
        got = evaluate(score, rows, len(table))
        out[name] = {"roc_auc": round(float(got["roc_auc"]), 4), "ap": round(float(got["average_precision"]), 4),
                     "n_uniform": got["n_uniform"], "wrong_uniform": got["wrong_uniform"]}
    return out


#: The signal columns compared between tables (:func:`rank_agreement`), and the stored shipped ranking.
COMPARED = ("mislabel_score", "neg_parse", "neg_rule", "neg_any", "lex_not_given", "knn_disagree_cls",
            "knn_disagree_enc", "oof_embed", "aum")


def rank_agreement(first: Path, other: Path, top: float = 0.05) -> dict:
    """Per column of :data:`COMPARED`: Spearman's rho between two tables of the same rows, the share of the
    first's top ``top`` rows that are in the other's, and whether the values are identical."""
    from scipy.stats import spearmanr

    a, b = pd.read_parquet(first), pd.read_parquet(other)
    if not (a["text"].to_numpy() == b["text"].to_numpy()).all():
        raise SystemExit(f"{first} and {other} do not hold the same rows")
    n = max(1, round(top * len(a)))
    out = {}
    for col in [c for c in COMPARED if c in a and c in b]:
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        overlap = len(set(x.argsort(kind="stable")[-n:]) & set(y.argsort(kind="stable")[-n:])) / n
        out[col] = {"spearman": round(float(spearmanr(x, y).statistic), 4), f"top{round(top * 100)}_overlap":
                    round(overlap, 4), "identical": bool((x == y).all())}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--table", action="append", required=True, help="NAME=PATH of a train table.parquet (repeatable)")
    p.add_argument("--out", type=Path, help="JSON file to write")
    args = p.parse_args(argv)
    parts = audit_parts()
    tables = dict(item.split("=", 1) for item in args.table)
    report = {name: shipped_auc(Path(path), parts) for name, path in tables.items()}
    first = next(iter(report))
    diff = {name: {part: round(got[part]["roc_auc"] - report[first][part]["roc_auc"], 4) for part in got}
            for name, got in report.items() if name != first}
    ranks = {name: rank_agreement(Path(tables[first]), Path(path)) for name, path in tables.items() if name != first}
    out = {"bench": "shipped_auc", "audit": AUDIT.name, "tables": tables, "auc": report, "auc_minus_" + first: diff,
           "ranks_against_" + first: ranks}
    print(json.dumps(out, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
