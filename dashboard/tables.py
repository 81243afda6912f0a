"""Data summaries of the analysis table that the dashboard shows (numbers in, numbers out; no figures).

The table is :mod:`core.analysis`'s: one row per sample with ``label`` and ``pred`` as label names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

REPORT_COLUMNS: tuple[str, ...] = ("class", "precision", "recall", "f1", "support")


def _label_pred_names(table: pd.DataFrame, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The ``label`` and ``pred`` columns as string arrays, checked against ``labels``."""
    missing = [c for c in ("label", "pred") if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}")
    if len(labels) == 0 or len(set(labels)) != len(labels):
        raise ValueError(f"labels must be non-empty and unique; got {list(labels)}")
    y_true = table["label"].astype(str).to_numpy()
    y_pred = table["pred"].astype(str).to_numpy()
    unknown = sorted((set(y_true) | set(y_pred)) - set(labels))
    if unknown:
        raise ValueError(f"label/pred names {unknown} are not in labels {list(labels)}")
    return y_true, y_pred


def confusion_matrix_of(table: pd.DataFrame, labels: Sequence[str]) -> np.ndarray:
    """(K, K) int counts: row = given label, column = predicted label, both in ``labels`` order.

    Parameters
    ----------
    table : the analysis table (columns ``label``, ``pred`` as names).
    labels : the K label names in model order.

    Raises
    ------
    ValueError
        When a ``label`` or ``pred`` value is not one of ``labels`` (scikit-learn would drop it silently).
    """
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = _label_pred_names(table, labels)
    k = len(labels)
    if len(y_true) == 0:
        return np.zeros((k, k), dtype=np.int64)
    return confusion_matrix(y_true, y_pred, labels=list(labels)).astype(np.int64)


def per_class_report(table: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, then ``accuracy`` and ``weighted avg`` rows.

    Parameters
    ----------
    table : the analysis table (columns ``label``, ``pred`` as names), N rows.
    labels : the K label names in model order.

    Returns
    -------
    pd.DataFrame
        K + 2 rows with columns ``class, precision, recall, f1, support``. The ``accuracy`` row holds
        the accuracy in ``f1`` (precision and recall NaN), as scikit-learn's ``classification_report``
        does; both summary rows have support N. Undefined ratios (no predictions or no samples of a
        class) are 0, scikit-learn's ``zero_division=0``.
    """
    from sklearn.metrics import precision_recall_fscore_support

    y_true, y_pred = _label_pred_names(table, labels)
    n = len(y_true)
    if n == 0:
        rows = [[name, 0.0, 0.0, 0.0, 0] for name in labels]
        rows += [["accuracy", np.nan, np.nan, np.nan, 0], ["weighted avg", 0.0, 0.0, 0.0, 0]]
        return pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(labels), zero_division=0)
    wp, wr, wf, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=list(labels), average="weighted", zero_division=0
    )
    accuracy = float(np.mean(y_true == y_pred))
    report = pd.DataFrame({"class": list(labels), "precision": p, "recall": r, "f1": f, "support": s})
    summary = pd.DataFrame({
        "class": ["accuracy", "weighted avg"],
        "precision": [np.nan, wp],
        "recall": [np.nan, wr],
        "f1": [accuracy, wf],
        "support": [n, n],
    })
    out = pd.concat([report, summary], ignore_index=True)
    out["support"] = out["support"].astype(np.int64)
    return out[list(REPORT_COLUMNS)]
