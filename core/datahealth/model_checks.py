"""The data-health checks that need a model's analysis of a split: outliers in hidden-state space,
near-duplicate label conflicts, and metrics recomputed without leaked rows.

``table`` and ``hidden`` are one split's cached analysis (:mod:`core.analysis.table`): row position
= sample id, columns ``text, label, pred, dup_group, dup_label_conflict``; ``hidden`` (N, H).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from core.analysis.mislabels import EXACT_NEIGHBOURS_MAX, NEIGHBOURS_K

OUTLIER_RULE = (
    "cleanlab Datalab's `outlier` check on the model's [CLS] states (cosine distance to the "
    f"{NEIGHBOURS_K} nearest other rows of the split, exact up to {EXACT_NEIGHBOURS_MAX:,} rows); "
    "a row is listed when Datalab flags it, lowest outlier score first"
)


def outliers(table: pd.DataFrame, hidden: np.ndarray, split: str) -> pd.DataFrame:
    """Rows Datalab's ``outlier`` check flags: ``split, sample_id, text, label, pred, outlier_score``,
    the most outlying (lowest score) first. Splits under ``NEIGHBOURS_K + 2`` rows give no rows."""
    from cleanlab import Datalab

    from core.analysis.mislabels import approximate_knn_graph
    from core.analysis.neighbours import exact_cosine_knn, others_graph

    cols = ["split", "sample_id", "text", "label", "pred", "outlier_score"]
    n = len(table)
    if n < NEIGHBOURS_K + 2:
        return pd.DataFrame(columns=cols)
    k = NEIGHBOURS_K
    states = np.asarray(hidden, dtype=np.float32)
    graph = (approximate_knn_graph(states, k) if n > EXACT_NEIGHBOURS_MAX
             else others_graph(*exact_cosine_knn(states, k + 1), k))
    lab = Datalab(data={"label": table["label"].astype(str).tolist()}, label_name="label", verbosity=0)
    lab.find_issues(knn_graph=graph, issue_types={"outlier": {"k": k}})
    issues = lab.get_issues("outlier")
    flagged = np.flatnonzero(issues["is_outlier_issue"].to_numpy())
    out = pd.DataFrame({"split": split, "sample_id": flagged, "text": table["text"].to_numpy()[flagged],
                        "label": table["label"].to_numpy()[flagged], "pred": table["pred"].to_numpy()[flagged],
                        "outlier_score": issues["outlier_score"].to_numpy()[flagged]}, columns=cols)
    return out.sort_values(["outlier_score", "sample_id"], kind="stable").reset_index(drop=True)


def near_duplicate_conflicts(table: pd.DataFrame, split: str) -> pd.DataFrame:
    """The analysis's near-duplicate groups (Datalab ``near_duplicate`` on the [CLS] states) that hold
    more than one label, one group per row: ``split, group, sample_ids, labels, text, n_rows, n_labels``
    (``group`` is the analysis's ``dup_group``), most labels first."""
    cols = ["split", "group", "sample_ids", "labels", "text", "n_rows", "n_labels"]
    if "dup_group" not in table or "dup_label_conflict" not in table:
        return pd.DataFrame(columns=cols)
    rows = pd.DataFrame({"group": table["dup_group"].to_numpy(), "label": table["label"].astype(str).to_numpy(),
                         "sid": np.arange(len(table))})
    rows = rows[rows["group"] >= 0]
    n_labels = rows.groupby("group")["label"].transform("nunique")
    out = []
    for g, part in rows[n_labels > 1].groupby("group"):
        ids = part["sid"].tolist()
        labels = sorted(set(part["label"]))
        out.append({"split": split, "group": int(g), "sample_ids": ids, "labels": labels,
                    "text": table["text"].iloc[ids[0]], "n_rows": len(ids), "n_labels": len(labels)})
    frame = pd.DataFrame(out, columns=cols)
    return frame.sort_values(["n_labels", "n_rows", "group"], ascending=[False, False, True]).reset_index(drop=True)


#: Cosine of two texts' sentence embeddings (all-MiniLM-L6-v2) from which they are near duplicates: a judgement
#: (paraphrases and re-posts with a word changed score above it; texts that share only a topic below).
MEANING_THRESHOLD = 0.95


def meaning_duplicate_conflicts(table: pd.DataFrame, embeddings: np.ndarray, split: str, *,
                                threshold: float = MEANING_THRESHOLD, chunk: int = 2048) -> pd.DataFrame:
    """Groups of texts that say the same thing (sentence-embedding cosine >= ``threshold``, linked in chains)
    and carry more than one label, in the columns of :func:`near_duplicate_conflicts` (``group``: a component
    id). The embeddings never saw the labels or the model, so a group is a duplicate by meaning alone."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    cols = ["split", "group", "sample_ids", "labels", "text", "n_rows", "n_labels"]
    n = len(table)
    if len(embeddings) != n:
        raise ValueError(f"embeddings have {len(embeddings)} rows, the table {n}")
    emb = np.asarray(embeddings, dtype=np.float32)
    rows, others = [], []
    for start in range(0, n, chunk):
        sims = emb[start:start + chunk] @ emb.T
        i, j = np.nonzero(sims >= threshold)
        keep = j > i + start
        rows.append(i[keep] + start)
        others.append(j[keep])
    i, j = (np.concatenate(rows), np.concatenate(others)) if rows else (np.zeros(0, int), np.zeros(0, int))
    _, comp = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), directed=False)
    grouped = table.assign(dup_group=np.where(np.bincount(comp, minlength=n)[comp] > 1, comp, -1),
                           dup_label_conflict=True)
    return near_duplicate_conflicts(grouped, split)[cols]


def metrics_without(table: pd.DataFrame, drop: Iterable[int], labels: list[str]) -> dict[str, float | int]:
    """Accuracy and weighted F1 of the analysis's predictions on all rows and on the rows not in ``drop``:
    ``rows, accuracy, f1_weighted, rows_kept, accuracy_kept, f1_weighted_kept``."""
    from sklearn.metrics import accuracy_score, f1_score

    y, p = table["label"].astype(str).to_numpy(), table["pred"].astype(str).to_numpy()
    keep = np.ones(len(table), dtype=bool)
    keep[np.asarray(sorted(set(drop)), dtype=np.int64)] = False

    def score(mask: np.ndarray) -> tuple[float, float]:
        if not mask.any():
            return float("nan"), float("nan")
        return (float(accuracy_score(y[mask], p[mask])),
                float(f1_score(y[mask], p[mask], labels=labels, average="weighted", zero_division=0)))

    acc, f1 = score(np.ones(len(table), dtype=bool))
    acc_k, f1_k = score(keep)
    return {"rows": int(len(table)), "accuracy": acc, "f1_weighted": f1,
            "rows_kept": int(keep.sum()), "accuracy_kept": acc_k, "f1_weighted_kept": f1_k}
