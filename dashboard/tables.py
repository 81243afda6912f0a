"""Data summaries of the analysis table that the dashboard shows (numbers in, numbers out; no figures).

The table is :mod:`core.analysis.table`'s: one row per sample with ``label`` and ``pred`` as label names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

REPORT_COLUMNS: tuple[str, ...] = ("class", "precision", "recall", "f1", "support")


def _label_pred_codes(table: pd.DataFrame, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The ``label`` and ``pred`` columns as int codes in ``labels`` order, checked against ``labels``.

    Codes, not strings: scikit-learn's metrics sort and encode string labels on every call, seconds at
    400,000 rows, while integer codes cost milliseconds.
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
    # One bincount over the integer codes: the Confusion tab builds at start-up, and importing
    # scikit-learn for its confusion_matrix cost 1.7 s of the first page.
    y_true, y_pred = _label_pred_codes(table, labels)
    k = len(labels)
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k).astype(np.int64)


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
    # From the confusion matrix (scikit-learn's definitions, checked against it in the tests): the
    # Confusion tab must stay light (importing scikit-learn cost 1.9 s of the first page).
    m = confusion_matrix_of(table, labels).astype(np.float64)
    n = int(m.sum())
    support, predicted, hits = m.sum(axis=1), m.sum(axis=0), np.diag(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, hits / predicted, 0.0)
        recall = np.where(support > 0, hits / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    weights = support / n if n else np.zeros_like(support)
    rows = [[name, precision[i], recall[i], f1[i], int(support[i])] for i, name in enumerate(labels)]
    rows.append(["accuracy", np.nan, np.nan, float(hits.sum() / n) if n else np.nan, n])
    rows.append(["weighted avg", float(weights @ precision), float(weights @ recall), float(weights @ f1), n])
    out = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    out["support"] = out["support"].astype(np.int64)
    return out
