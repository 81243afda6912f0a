"""Compare two checkpoints on the same rows: metrics and deltas, McNemar's test, what changed.

The command (:mod:`core.audit.compare`: ``python -m core.audit.compare --model A --model B ...``) takes
both analyses from the analysis cache and the decisions from the review database.

When review decisions exist for the split (``decisions=``), the metrics
and McNemar's test are reported twice: on the original labels and on the labels as corrected by the
reviewers (:func:`corrected_labels`: a relabel takes its new label; rows marked ambiguous or
not_emotion leave the corrected evaluation), with a warning when the better model differs.

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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.classifier import metrics

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
    corrected : with review decisions, :func:`paired_summary` on the corrected labels plus
        ``decisions``, ``relabelled`` and ``left_out`` counts; ``None`` without decisions.
    warning : a sentence when the better model on the corrected labels is not the better one on the
        original labels; ``None`` otherwise.
    """

    labels: list[str]
    summary: dict
    per_class: pd.DataFrame
    confusion_a: np.ndarray
    confusion_b: np.ndarray
    changed: pd.DataFrame
    corrected: dict | None = None
    warning: str | None = None

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
            "corrected": self.corrected, "warning": self.warning,
        }


def mcnemar_exact(a_right: np.ndarray, b_right: np.ndarray) -> tuple[int, int, float]:
    """``(b, c, p)``: rows only A gets right, rows only B gets right, and the exact two-sided p-value."""
    from scipy.stats import binomtest

    a_right, b_right = np.asarray(a_right, bool), np.asarray(b_right, bool)
    b = int((a_right & ~b_right).sum())
    c = int((~a_right & b_right).sum())
    p = 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5).pvalue)
    return b, c, p


def paired_summary(y: np.ndarray, pa: np.ndarray, pb: np.ndarray, labels: Sequence[str]) -> dict:
    """Accuracy and weighted F1 of both models and their deltas (B - A), and McNemar's exact test, on
    labels ``y`` (names): ``rows, accuracy_a, accuracy_b, accuracy_delta, f1_weighted_a, f1_weighted_b,
    f1_weighted_delta, only_a_right, only_b_right, mcnemar_p, better`` (``"A"``, ``"B"`` or ``"neither"``)."""
    if not len(y):
        return {"rows": 0, "accuracy_a": float("nan"), "accuracy_b": float("nan"), "accuracy_delta": 0.0,
                "f1_weighted_a": float("nan"), "f1_weighted_b": float("nan"), "f1_weighted_delta": 0.0,
                "only_a_right": 0, "only_b_right": 0, "mcnemar_p": 1.0, "better": "neither"}
    b, c, p = mcnemar_exact(pa == y, pb == y)
    sa = metrics.summary(metrics.confusion_matrix_of(pd.DataFrame({"label": y, "pred": pa}), list(labels)))
    sb = metrics.summary(metrics.confusion_matrix_of(pd.DataFrame({"label": y, "pred": pb}), list(labels)))
    acc_a, acc_b, f1_a, f1_b = sa["accuracy"], sb["accuracy"], sa["f1_weighted"], sb["f1_weighted"]
    return {"rows": int(len(y)), "accuracy_a": acc_a, "accuracy_b": acc_b, "accuracy_delta": acc_b - acc_a,
            "f1_weighted_a": f1_a, "f1_weighted_b": f1_b, "f1_weighted_delta": f1_b - f1_a,
            "only_a_right": b, "only_b_right": c, "mcnemar_p": p,
            "better": "B" if acc_b > acc_a else "A" if acc_a > acc_b else "neither"}


def corrected_labels(table: pd.DataFrame, decisions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(labels, keep, counts)``: the table's labels as corrected by review ``decisions``
    (as :meth:`core.review.store.ReviewStore.latest` returns them): a ``relabel`` takes its ``new_label``; ``ambiguous``
    and ``not_emotion`` rows are left out (``keep`` False); ``keep`` leaves the label.

    Decisions with a ``text_hash`` are matched to rows by :func:`core.data.keys.align` (a decision
    whose text is no longer in the split is ignored); ``counts``: ``decisions`` (used), ``relabelled``,
    ``left_out``.
    """
    from core.data.keys import align, text_hashes

    labels = table["label"].astype(str).to_numpy().astype(object)
    keep = np.ones(len(table), dtype=bool)
    if decisions is None or not len(decisions):
        return labels, keep, {"decisions": 0, "relabelled": 0, "left_out": 0}
    if "text_hash" in decisions:
        rows = align(decisions, text_hashes(table["text"].tolist()))["row"].to_numpy()
    else:
        rows = decisions["sample_id"].to_numpy(dtype=np.int64)
        rows = np.where((rows >= 0) & (rows < len(table)), rows, -1)
    used = rows >= 0
    actions = decisions["action"].to_numpy()[used]
    rows = rows[used].astype(np.int64)
    relabel = actions == "relabel"
    labels[rows[relabel]] = decisions["new_label"].to_numpy()[used][relabel]
    keep[rows[np.isin(actions, ["ambiguous", "not_emotion"])]] = False
    return labels, keep, {"decisions": int(used.sum()), "relabelled": int(relabel.sum()),
                          "left_out": int((~keep).sum())}


def compare_tables(table_a: pd.DataFrame, table_b: pd.DataFrame, labels: Sequence[str], *,
                   decisions: pd.DataFrame | None = None) -> CompareReport:
    """Compare two analysis tables of the same split (same rows, same order).

    ``decisions``: the split's current review decisions (as :meth:`core.review.store.ReviewStore.latest` returns them);
    when there are any, :attr:`CompareReport.corrected` holds the comparison on the corrected labels.
    Raises :class:`ValueError` when the tables are not the same rows.
    """
    labels = list(labels)
    if len(table_a) != len(table_b) or not table_a["text"].reset_index(drop=True).equals(
            table_b["text"].reset_index(drop=True)):
        raise ValueError("the two analyses are not of the same rows (different texts or order)")
    y = table_a["label"].astype(str).to_numpy()
    pa, pb = table_a["pred"].astype(str).to_numpy(), table_b["pred"].astype(str).to_numpy()
    a_right, b_right = pa == y, pb == y
    matrix_a = metrics.confusion_matrix_of(pd.DataFrame({"label": y, "pred": pa}), labels)
    matrix_b = metrics.confusion_matrix_of(pd.DataFrame({"label": y, "pred": pb}), labels)
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
        **paired_summary(y, pa, pb, labels), "agreement": float(1.0 - moved.mean()) if len(y) else 1.0,
        **{g.replace(", ", "_").replace(" ", "_"): int(counts.get(g, 0)) for g in CHANGE_GROUPS},
    }
    report = CompareReport(labels, summary, per_class, matrix_a, matrix_b, changed)
    if decisions is not None and len(decisions):
        fixed, keep, counts_ = corrected_labels(table_a, decisions)
        report.corrected = {**paired_summary(fixed[keep], pa[keep], pb[keep], labels), **counts_}
        report.warning = winner_warning(summary, report.corrected)
    return report


def winner_warning(original: dict, corrected: dict) -> str | None:
    """A sentence when the better model (by accuracy) differs between the original and the corrected labels."""
    if original["better"] == corrected["better"]:
        return None
    return (f"The better model changes with the review: {original['better']} on the original labels "
            f"(accuracy {original['accuracy_a']:.4f} vs {original['accuracy_b']:.4f}), {corrected['better']} on the "
            f"corrected labels ({corrected['accuracy_a']:.4f} vs {corrected['accuracy_b']:.4f}; "
            f"{corrected['relabelled']} relabelled, {corrected['left_out']} left out).")


def verdict(summary: dict, *, alpha: float = 0.05) -> str:
    """One sentence: which model is more accurate, and whether the difference is significant."""
    d = summary["accuracy_delta"]
    if summary["only_a_right"] + summary["only_b_right"] == 0:
        return "The two models make the same right and wrong calls on every row."
    better = "B" if d > 0 else "A" if d < 0 else "neither"
    sig = "significant" if summary["mcnemar_p"] < alpha else "not significant"
    return (f"Accuracy {summary['accuracy_a']:.4f} (A) vs {summary['accuracy_b']:.4f} (B): {better} is better by "
            f"{abs(d):.4f}; McNemar p = {summary['mcnemar_p']:.3g} ({sig} at {alpha})"
            + (f"; {summary['fixed']} fixed, {summary['broken']} broken." if "fixed" in summary else "."))
