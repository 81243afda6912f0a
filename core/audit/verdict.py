"""Metrics on audited labels: judge a model against what the text says, not against the labeller's rule.

An audited row's label is the given label where the blind audit judged it right, and the audited class
where it judged it wrong; rows judged ambiguous or not an emotion of the writer are counted apart and
never scored. Every figure carries its 95% interval and the number of audited rows behind it:

- accuracy: the design-weighted share of correct predictions (weights ``N_h / n_h`` of the audit's
  design), Wilson's interval at Kish's effective sample size;
- macro F1 (scikit-learn, weighted by the same weights): a seeded percentile bootstrap over audited rows;
- two models on the same audited rows: the paired difference of accuracy with a paired bootstrap
  interval, and McNemar's exact test on the rows where exactly one is right.

>>> import numpy as np, pandas as pd
>>> table = pd.DataFrame({"label": ["joy", "sadness", "joy", "anger"], "pred": ["joy", "sadness", "sadness", "anger"]})
>>> d = pd.DataFrame({"sample_id": [0, 1, 2, 3], "judgement": ["right", "wrong", "ambiguous", "right"],
...                   "correct_label": [None, "joy", None, None], "weight": [1.0, 1.0, 1.0, 1.0]})
>>> m = audited_metrics(table["pred"], table, d, ["sadness", "joy", "anger"])
>>> m["rows"], m["set_apart"], round(m["accuracy"]["value"], 3), round(m["given_accuracy"]["value"], 3)
(3, {'ambiguous': 1, 'not_emotion': 0}, 0.667, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.analysis.compare import mcnemar_exact
from core.audit.estimate import Estimate, weighted_share

BOOTSTRAP = 1000
SEED = 0
#: Fewer scored rows than this: the figures are shown as counts, with no interval pretended.
MIN_ROWS = 30


def audited_rows(table: pd.DataFrame, decisions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """``(row ids, audited labels, weights, set-apart counts)`` of the scored audited rows (right or wrong)."""
    d = decisions
    if "used" in d:
        d = d[d["used"].astype(bool)]
    scored = d[d["judgement"].isin(["right", "wrong"])]
    ids = scored["sample_id"].to_numpy(dtype=int)
    given = table["label"].to_numpy(dtype=object)[ids]
    truth = np.where(scored["judgement"].to_numpy() == "wrong", scored["correct_label"].to_numpy(dtype=object), given)
    weights = scored["weight"].to_numpy(dtype=float) if "weight" in scored else np.ones(len(ids))
    weights = np.where(np.isfinite(weights), weights, 1.0)
    apart = {j: int((d["judgement"] == j).sum()) for j in ("ambiguous", "not_emotion")}
    return ids, truth.astype(object), weights, apart


def _macro_f1(truth: np.ndarray, pred: np.ndarray, weights: np.ndarray, labels: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    present = [x for x in labels if x in set(truth)]
    return float(f1_score(truth, pred, labels=present, average="macro", sample_weight=weights, zero_division=0))


def _bootstrap(stat, n: int, seed: int = SEED, rounds: int = BOOTSTRAP) -> tuple[float, float]:
    """The 2.5% and 97.5% percentiles of ``stat(idx)`` over seeded resamples of ``n`` rows."""
    rng = np.random.default_rng(seed)
    values = [stat(rng.integers(0, n, n)) for _ in range(rounds)]
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def _interval(value: float, low: float, high: float, n: int) -> dict:
    return {"value": value, "low": low, "high": high, "n": n}


def audited_metrics(pred: Sequence[str], table: pd.DataFrame, decisions: pd.DataFrame,
                    labels: Sequence[str]) -> dict:
    """A model's accuracy and macro F1 on the audited labels, beside its accuracy on the given labels of
    the same rows (``pred``: one predicted label per row of the split)."""
    ids, truth, w, apart = audited_rows(table, decisions)
    p = np.asarray(pred, dtype=object)[ids]
    given = table["label"].to_numpy(dtype=object)[ids]
    out = {"rows": int(len(ids)), "wrong_labels": int((truth != given).sum()), "set_apart": apart,
           "too_few": len(ids) < MIN_ROWS}
    if not len(ids):
        return out
    out["accuracy"] = weighted_share(p == truth, w).as_dict()
    out["given_accuracy"] = weighted_share(p == given, w).as_dict()
    f1 = _macro_f1(truth, p, w, labels)
    low, high = _bootstrap(lambda i: _macro_f1(truth[i], p[i], w[i], labels), len(ids))
    out["macro_f1"] = _interval(f1, low, high, len(ids))
    wrong = truth != given
    out["wrong_rows_fixed"] = (weighted_share((p == truth)[wrong], w[wrong]).as_dict() if wrong.any()
                               else Estimate(math.nan, math.nan, math.nan, 0, 0.0).as_dict())
    return out


def audited_per_class(pred: Sequence[str], table: pd.DataFrame, decisions: pd.DataFrame,
                      labels: Sequence[str]) -> pd.DataFrame:
    """Precision, recall and F1 per class on the audited labels (design-weighted, scikit-learn) and the
    number of audited rows of each class."""
    from sklearn.metrics import precision_recall_fscore_support

    ids, truth, w, _ = audited_rows(table, decisions)
    p = np.asarray(pred, dtype=object)[ids]
    precision, recall, f1, _ = precision_recall_fscore_support(truth, p, labels=list(labels), sample_weight=w,
                                                               zero_division=0)
    rows = [int((truth == x).sum()) for x in labels]
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "audited rows": rows},
                        index=pd.Index(list(labels), name="class"))


def audited_confusion(pred: Sequence[str], table: pd.DataFrame, decisions: pd.DataFrame,
                      labels: Sequence[str]) -> np.ndarray:
    """(K, K) counts of audited rows: row = audited label, column = predicted."""
    from sklearn.metrics import confusion_matrix

    ids, truth, _, _ = audited_rows(table, decisions)
    return confusion_matrix(truth, np.asarray(pred, dtype=object)[ids], labels=list(labels))


def audited_comparison(pred_a: Sequence[str], pred_b: Sequence[str], table: pd.DataFrame, decisions: pd.DataFrame,
                       labels: Sequence[str]) -> dict:
    """Both models on the audited rows, the paired difference (B - A) with its interval, McNemar's test,
    and whether the verdict on audited labels disagrees with the verdict on the given labels."""
    a = audited_metrics(pred_a, table, decisions, labels)
    b = audited_metrics(pred_b, table, decisions, labels)
    out = {"a": a, "b": b, "rows": a["rows"], "set_apart": a["set_apart"]}
    if not a["rows"]:
        return out
    ids, truth, w, _ = audited_rows(table, decisions)
    ra = np.asarray(pred_a, dtype=object)[ids] == truth
    rb = np.asarray(pred_b, dtype=object)[ids] == truth
    delta = float((w * (rb.astype(float) - ra)).sum() / w.sum())
    low, high = _bootstrap(lambda i: float((w[i] * (rb[i].astype(float) - ra[i])).sum() / w[i].sum()), len(ids))
    a_only, b_only, p_value = mcnemar_exact(ra, rb)
    out["accuracy_delta"] = _interval(delta, low, high, len(ids))
    out["mcnemar"] = {"only_a_right": a_only, "only_b_right": b_only, "p_value": p_value}
    given = table["label"].to_numpy(dtype=object)
    given_delta = float(np.mean(np.asarray(pred_b, dtype=object) == given) - np.mean(np.asarray(pred_a) == given))
    out["given_delta"] = given_delta
    out["verdicts_disagree"] = bool(np.sign(given_delta) != np.sign(delta) and given_delta != 0 and delta != 0)
    return out


def verdict_sentence(comparison: dict) -> str:
    """One sentence on the audited verdict, and a warning when it disagrees with the given labels'."""
    if not comparison.get("rows"):
        return "No audited rows on this split: the verdict rests on the given labels alone."
    d = comparison["accuracy_delta"]
    line = (f"On {comparison['rows']} audited rows, B - A accuracy {100 * d['value']:+.1f} points "
            f"(95% interval {100 * d['low']:+.1f} to {100 * d['high']:+.1f}); McNemar p = "
            f"{format_p(comparison['mcnemar']['p_value'])}.")
    if comparison.get("verdicts_disagree"):
        line += (" The given labels and the audited labels disagree on which model is better "
                 f"(given labels: {100 * comparison['given_delta']:+.1f} points).")
    return line


def format_p(p: float) -> str:
    """A p-value a person reads: 2 significant digits, ``< 1e-10`` below that."""
    if p is None or not math.isfinite(p):
        return "–"
    return "< 1e-10" if p < 1e-10 else f"{p:.2g}"
