"""Compare two checkpoints on the same rows: metrics and deltas, McNemar's test, what changed.

Usage::

    python -m core.analysis.compare --model A --model B --data D --split validation [--json OUT] [--cache-dir DIR]

Both analyses come from the analysis cache (computed and cached when missing), so comparing two
analysed checkpoints takes seconds.

The paired significance test is McNemar's exact test: on the rows where exactly one model is right
(``b`` rows only A gets right, ``c`` only B), the two-sided binomial test of ``min(b, c)`` out of
``b + c`` at p = 0.5 (``scipy.stats.binomtest``).

Example
-------
>>> import pandas as pd
>>> a = pd.DataFrame({"text": ["x", "y", "z"], "label": ["joy", "joy", "love"], "pred": ["joy", "love", "joy"]})
>>> b = a.assign(pred=["joy", "joy", "love"])
>>> r = compare_tables(a, b, ["joy", "love"])
>>> r.summary["accuracy_a"], r.summary["accuracy_b"], r.summary["fixed"], r.summary["broken"]
(0.3333333333333333, 1.0, 2, 0)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.analysis import metrics

#: Groups of rows whose prediction changed between model A and model B.
CHANGE_GROUPS: tuple[str, ...] = ("fixed", "broken", "changed, still wrong")


@dataclass
class CompareReport:
    """Everything the Compare view and ``core.analysis.compare`` show.

    Attributes
    ----------
    summary : accuracy and weighted F1 of both models and their deltas (B - A), agreement rate,
        discordant counts and McNemar's p-value, counts of each change group.
    per_class : one row per label: precision, recall, F1 and support of A and B and the deltas.
    confusion_a, confusion_b : (K, K) confusion matrices (rows true, columns predicted).
    changed : rows whose prediction changed: ``sample_id, text, label, pred_a, pred_b, group``,
        plus both models' probability of the given label.
    """

    labels: list[str]
    summary: dict
    per_class: pd.DataFrame
    confusion_a: np.ndarray
    confusion_b: np.ndarray
    changed: pd.DataFrame

    @property
    def confusion_delta(self) -> np.ndarray:
        """B's confusion matrix minus A's."""
        return self.confusion_b - self.confusion_a

    def cell_changes(self, true_label: str, pred_label: str) -> pd.DataFrame:
        """Changed rows of one cell of the difference matrix: true ``true_label``, and predicted
        ``pred_label`` by either model."""
        c = self.changed
        return c[(c["label"] == true_label) & ((c["pred_a"] == pred_label) | (c["pred_b"] == pred_label))]

    def to_json(self) -> dict:
        """A JSON-able dict (the changed rows without their texts)."""
        return {
            "labels": self.labels, "summary": self.summary,
            "per_class": self.per_class.reset_index().to_dict(orient="records"),
            "confusion_a": self.confusion_a.tolist(), "confusion_b": self.confusion_b.tolist(),
            "confusion_delta": self.confusion_delta.tolist(),
            "changed": self.changed.drop(columns=["text"]).to_dict(orient="records"),
        }


def mcnemar_exact(a_right: np.ndarray, b_right: np.ndarray) -> tuple[int, int, float]:
    """``(b, c, p)``: rows only A gets right, rows only B gets right, and the exact two-sided p-value."""
    from scipy.stats import binomtest

    a_right, b_right = np.asarray(a_right, bool), np.asarray(b_right, bool)
    b = int((a_right & ~b_right).sum())
    c = int((~a_right & b_right).sum())
    p = 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5).pvalue)
    return b, c, p


def compare_tables(table_a: pd.DataFrame, table_b: pd.DataFrame, labels: Sequence[str]) -> CompareReport:
    """Compare two analysis tables of the same split (same rows, same order).

    Raises :class:`ValueError` when the tables are not the same rows.
    """
    labels = list(labels)
    if len(table_a) != len(table_b) or not table_a["text"].reset_index(drop=True).equals(
            table_b["text"].reset_index(drop=True)):
        raise ValueError("the two analyses are not of the same rows (different texts or order)")
    y = table_a["label"].astype(str).to_numpy()
    pa, pb = table_a["pred"].astype(str).to_numpy(), table_b["pred"].astype(str).to_numpy()
    a_right, b_right = pa == y, pb == y
    b, c, p = mcnemar_exact(a_right, b_right)
    matrix_a = metrics.confusion_matrix_of(pd.DataFrame({"label": y, "pred": pa}), labels)
    matrix_b = metrics.confusion_matrix_of(pd.DataFrame({"label": y, "pred": pb}), labels)
    sa, sb = metrics.summary(matrix_a), metrics.summary(matrix_b)
    acc_a, acc_b, f1_a, f1_b = sa["accuracy"], sb["accuracy"], sa["f1_weighted"], sb["f1_weighted"]
    ca, cb = metrics.per_class(matrix_a, labels), metrics.per_class(matrix_b, labels)
    per_class = pd.concat({"a": ca, "b": cb, "delta": (cb - ca).drop(columns="support")}, axis=1)
    per_class.columns = [f"{metric}_{who}" for who, metric in per_class.columns]
    moved = pa != pb
    group = np.where(b_right, "fixed", np.where(a_right, "broken", "changed, still wrong"))
    ids = np.flatnonzero(moved)
    changed = pd.DataFrame({
        "sample_id": ids, "text": table_a["text"].to_numpy()[ids], "label": y[ids],
        "pred_a": pa[ids], "pred_b": pb[ids], "group": group[ids],
    })
    for name, table in (("a", table_a), ("b", table_b)):
        cols = [f"prob_{x}" for x in labels]
        if set(cols) <= set(table.columns):
            probs = table[cols].to_numpy(dtype=np.float64)[ids]
            given = np.array([labels.index(v) for v in y[ids]], dtype=np.int64)
            changed[f"p_label_{name}"] = np.round(probs[np.arange(len(ids)), given], 4) if len(ids) else []
    counts = changed["group"].value_counts()
    summary = {
        "rows": int(len(y)), "accuracy_a": acc_a, "accuracy_b": acc_b, "accuracy_delta": acc_b - acc_a,
        "f1_weighted_a": f1_a, "f1_weighted_b": f1_b, "f1_weighted_delta": f1_b - f1_a,
        "agreement": float(1.0 - moved.mean()) if len(y) else 1.0,
        "only_a_right": b, "only_b_right": c, "mcnemar_p": p,
        **{g.replace(", ", "_").replace(" ", "_"): int(counts.get(g, 0)) for g in CHANGE_GROUPS},
    }
    return CompareReport(labels, summary, per_class, matrix_a, matrix_b, changed)


def verdict(summary: dict, *, alpha: float = 0.05) -> str:
    """One sentence: which model is more accurate, and whether the difference is significant."""
    d = summary["accuracy_delta"]
    if summary["only_a_right"] + summary["only_b_right"] == 0:
        return "The two models make the same right and wrong calls on every row."
    better = "B" if d > 0 else "A" if d < 0 else "neither"
    sig = "significant" if summary["mcnemar_p"] < alpha else "not significant"
    return (f"Accuracy {summary['accuracy_a']:.4f} (A) vs {summary['accuracy_b']:.4f} (B): {better} is better by "
            f"{abs(d):.4f}; McNemar p = {summary['mcnemar_p']:.3g} ({sig} at {alpha}); "
            f"{summary['fixed']} fixed, {summary['broken']} broken.")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit 2 with one clear line on bad input."""
    from core.analysis.precompute import analyse_split
    from core.classifier.model import ModelError, load_classifier
    from core.data.splits import DataError, load_splits
    from core.settings import default_cache_dir

    p = argparse.ArgumentParser(description="Compare two checkpoints on one split.")
    p.add_argument("--model", action="append", required=True, help="give twice: --model A --model B")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="validation")
    p.add_argument("--json", default=None, help="write the report as JSON here")
    p.add_argument("--cache-dir", default=str(default_cache_dir()))
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--text-column", default=None, help="text column of CSV/parquet data (default: text)")
    p.add_argument("--label-column", default=None, help="label column of CSV/parquet data (default: label)")
    args = p.parse_args(argv)
    if len(args.model) != 2:
        print("error: give exactly two models: --model A --model B", file=sys.stderr)
        return 2
    try:
        data = load_splits(args.data, splits=(args.split,), text_column=args.text_column,
                           label_column=args.label_column)
        tables = []
        for ref in args.model:
            clf = load_classifier(ref, data_labels=data.label_names, max_length=args.max_length,
                                  label_origin=data.label_origin)
            out = analyse_split(clf, data, args.split, cache_dir=args.cache_dir, batch_size=args.batch_size)
            tables.append(out.analysis.table)
            labels = list(clf.labels)
        report = compare_tables(tables[0], tables[1], labels)
    except (DataError, ModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    s = report.summary
    print(f"A = {args.model[0]}\nB = {args.model[1]}\n{args.split}: {s['rows']} rows")
    print(verdict(s))
    print(f"weighted F1 {s['f1_weighted_a']:.4f} -> {s['f1_weighted_b']:.4f} ({s['f1_weighted_delta']:+.4f}); "
          f"agreement {s['agreement']:.4f}")
    print(report.per_class.round(4).to_string())
    if args.json:
        Path(args.json).write_text(json.dumps({"model_a": args.model[0], "model_b": args.model[1],
                                               "split": args.split, **report.to_json()}, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
