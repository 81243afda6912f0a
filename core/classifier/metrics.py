"""Classification metrics from one confusion matrix: the one place per-class and summary metrics are computed.

The matrix is counted with ``np.bincount`` over integer codes (scikit-learn's metrics sort and encode
string labels on every call: seconds at 400,000 rows). Precision, recall, F1 and support per class and
their support-weighted means are then scikit-learn's ``precision_recall_fscore_support`` with
``zero_division=0``, fed the K x K cells as (given, predicted) pairs weighted by their counts: the same
numbers as on the rows, at the cost of K² points. scikit-learn is imported on first use (the dashboard
imports it before serving: :mod:`core.services.preload`).

Example
-------
>>> t = pd.DataFrame({"label": ["joy", "joy", "sadness"], "pred": ["joy", "sadness", "sadness"]})
>>> per_class_report(t, ["sadness", "joy"]).round(2)
          class  precision  recall    f1  support
0       sadness       0.50    1.00  0.67        1
1           joy       1.00    0.50  0.67        2
2      accuracy        NaN     NaN  0.67        3
3  weighted avg       0.83    0.67  0.67        3
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

REPORT_COLUMNS: tuple[str, ...] = ("class", "precision", "recall", "f1", "support")


def confusion_counts(y: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """(K, K) int64 counts: row = given label code, column = predicted code; codes in ``[0, k)``."""
    y, pred = np.asarray(y, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    if y.shape != pred.shape:
        raise ValueError(f"y and pred differ in shape: {y.shape} and {pred.shape}")
    if len(y) and (min(y.min(), pred.min()) < 0 or max(y.max(), pred.max()) >= k):
        raise ValueError(f"label codes must lie in [0, {k})")
    return np.bincount(y * k + pred, minlength=k * k).reshape(k, k).astype(np.int64)


def _cells(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(given, predicted, count)`` of every cell of a (K, K) matrix: the rows it stands for, K² at a time."""
    m = np.asarray(matrix, dtype=np.float64)
    k = len(m)
    if m.shape != (k, k):
        raise ValueError(f"the confusion matrix must be square; got shape {m.shape}")
    return np.repeat(np.arange(k), k), np.tile(np.arange(k), k), m.ravel()


def _prfs(matrix: np.ndarray, average: str | None) -> tuple:
    from sklearn.metrics import precision_recall_fscore_support

    given, predicted, count = _cells(matrix)
    if not count.any():  # no rows: every score is 0 (zero_division), as scikit-learn gives for absent classes
        zeros = np.zeros(len(matrix))
        return (0.0, 0.0, 0.0, None) if average else (zeros, zeros, zeros, zeros)
    return precision_recall_fscore_support(given, predicted, labels=np.arange(len(matrix)), average=average,
                                           sample_weight=count, zero_division=0)


def per_class(matrix: np.ndarray, labels: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class (index: ``labels``) from a (K, K) confusion matrix."""
    precision, recall, f1, _ = _prfs(matrix, None)
    support = np.asarray(matrix, dtype=np.int64).sum(axis=1)
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": support}, index=list(labels))


def summary(matrix: np.ndarray) -> dict[str, float]:
    """Accuracy and the support-weighted precision, recall and F1 of a (K, K) confusion matrix (NaN when empty)."""
    n = int(np.sum(matrix))
    if n == 0:
        return dict.fromkeys(("accuracy", "precision_weighted", "recall_weighted", "f1_weighted"), float("nan"))
    precision, recall, f1, _ = _prfs(matrix, "weighted")
    return {"accuracy": float(np.trace(matrix) / n), "precision_weighted": float(precision),
            "recall_weighted": float(recall), "f1_weighted": float(f1)}


def report_from_matrix(matrix: np.ndarray, labels: Sequence[str]) -> pd.DataFrame:
    """Per-class rows, then ``accuracy`` and ``weighted avg`` rows, as scikit-learn's ``classification_report``.

    Columns :data:`REPORT_COLUMNS`; the ``accuracy`` row holds the accuracy in ``f1`` (precision and
    recall NaN); both summary rows have support N.
    """
    rows = per_class(matrix, labels).reset_index(names="class")
    s, n = summary(matrix), int(np.sum(matrix))
    tail = pd.DataFrame([["accuracy", np.nan, np.nan, s["accuracy"], n],
                         ["weighted avg", s["precision_weighted"], s["recall_weighted"], s["f1_weighted"], n]],
                        columns=list(REPORT_COLUMNS))
    out = pd.concat([rows, tail], ignore_index=True)
    out["support"] = out["support"].astype(np.int64)
    return out


def confusion_matrix_of(table: pd.DataFrame, labels: Sequence[str]) -> np.ndarray:
    """(K, K) counts of an analysis table: row = given label, column = predicted, both in ``labels`` order.

    Raises ``ValueError`` as :func:`label_codes` does.
    """
    return confusion_counts(*label_codes(table, labels), len(labels))


def per_class_report(table: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """:func:`report_from_matrix` of an analysis table's ``label`` and ``pred`` columns (names)."""
    return report_from_matrix(confusion_matrix_of(table, labels), labels)


def label_codes(table: pd.DataFrame, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The ``label`` and ``pred`` columns of an analysis table as int codes in ``labels`` order.

    Raises ``ValueError`` when a column is missing, ``labels`` is empty or repeats a name, or a value is
    not one of ``labels`` (scikit-learn would drop it silently).
    """
    missing = [c for c in ("label", "pred") if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}")
    if len(labels) == 0 or len(set(labels)) != len(labels):
        raise ValueError(f"labels must be non-empty and unique; got {list(labels)}")
    index = pd.Index([str(x) for x in labels])
    codes = [np.asarray(index.get_indexer(table[c].astype(str)), dtype=np.int64) for c in ("label", "pred")]
    bad = (codes[0] < 0) | (codes[1] < 0)
    if bad.any():
        names = set(table["label"].astype(str).to_numpy()[codes[0] < 0]) | set(
            table["pred"].astype(str).to_numpy()[codes[1] < 0])
        raise ValueError(f"label/pred names {sorted(names)} are not in labels {list(labels)}")
    return codes[0], codes[1]
