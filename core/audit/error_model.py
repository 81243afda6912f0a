"""P(the given label is wrong | evidence), learned from every judgement of a split (issue 38).

Training rows are the split's judgements: blind audit judgements (``wrong`` = 1; ``right``,
``ambiguous`` and ``not_emotion`` = 0, the audit's "wrong against the rest") with their design
weights, and queue decisions (``relabel`` = 1, ``keep`` = 0, ``ambiguous`` and ``not_emotion`` = 0),
which come from the top of a ranking rather than a uniform draw: they enter with the smaller weight
:data:`QUEUE_WEIGHT`, and the model's honesty (:func:`held_out_quality`) is measured only on uniform
audit rows the fit did not see.

The estimator (:data:`KIND`), the weighting (:data:`WEIGHTING`) and the evidence (:data:`EVIDENCE`) were
chosen on the committed train audit's 620 judgements by cross-validation (``bench/noise/learned_ranking.py
--choose``, ``bench/noise/results/learned_ranking_choose.json``): a logistic regression over the seven signals
of the fixed mix and the given label, every judgement weighing the same, 0.813 against 0.792 for gradient
boosting; adding the zero-shot, emoji-model, encoder-neighbour and cue-target judges gave 0.805-0.810. It is
reported on the 200 rows of round 3, which no choice saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Below these counts the split keeps the fixed mix (and says so).
MIN_JUDGED, MIN_WRONG = 30, 5
#: A background refit after this many new judgements.
REFIT_EVERY = 25
KINDS = ("logistic", "boosting")
#: The estimator the app fits (module docstring: how it was chosen).
KIND = "logistic"
#: Weight of a queue decision against an audit row's (audit weights are scaled to mean 1).
QUEUE_WEIGHT = 0.25
#: How the audit's design weights enter the fit: ``design`` (N_h / n_h, scaled) or ``equal``.
WEIGHTING = "equal"
#: The signal columns the model reads (with the one-hot given label); the other judges speak in the reasons.
EVIDENCE: tuple[str, ...] = ("neg_parse", "neg_rule", "neg_any", "lex_not_given", "aum", "oof_embed",
                             "knn_disagree_cls")
WRONG = frozenset({"wrong", "relabel"})
#: Queue actions that judge a label (a skip or a withdrawal judges nothing).
JUDGING_ACTIONS = ("keep", "relabel", "ambiguous", "not_emotion")


def judgements_frame(audit: pd.DataFrame | None, queue: pd.DataFrame | None, *,
                     queue_weight: float = QUEUE_WEIGHT, weighting: str = WEIGHTING) -> pd.DataFrame:
    """One training row per judged sample: ``sample_id, wrong, weight, uniform, source``.

    ``audit``: :meth:`core.audit.auditor.Auditor.decisions` (``judgement``, ``sampling``, ``weight``);
    ``queue``: latest queue decisions (``sample_id``, ``action``), audited samples dropped from it.
    """
    parts = []
    if audit is not None and len(audit):
        w = pd.to_numeric(audit.get("weight"), errors="coerce").to_numpy(dtype=float)
        if weighting == "design" and np.isfinite(w).any():
            w = np.where(np.isfinite(w), w, np.nanmean(w))
            w = w / w.mean()
        else:
            w = np.ones(len(audit))
        parts.append(pd.DataFrame({"sample_id": audit["sample_id"].astype(int).to_numpy(),
                                   "wrong": audit["judgement"].isin(WRONG).astype(int).to_numpy(),
                                   "weight": w, "uniform": (audit["sampling"] == "uniform").to_numpy(),
                                   "source": "audit"}))
    if queue is not None and len(queue) and queue_weight > 0:
        seen = set(parts[0]["sample_id"]) if parts else set()
        q = queue[~queue["sample_id"].astype(int).isin(seen) & queue["action"].isin(JUDGING_ACTIONS)]
        parts.append(pd.DataFrame({"sample_id": q["sample_id"].astype(int).to_numpy(),
                                   "wrong": q["action"].isin(WRONG).astype(int).to_numpy(),
                                   "weight": np.full(len(q), float(queue_weight)), "uniform": False,
                                   "source": "queue"}))
    if not parts:
        return pd.DataFrame(columns=["sample_id", "wrong", "weight", "uniform", "source"])
    return pd.concat(parts, ignore_index=True)


def enough(judged: pd.DataFrame) -> str:
    """Why ``judged`` is too few to learn from (``""`` when it is enough)."""
    n, wrong = len(judged), int(judged["wrong"].sum()) if len(judged) else 0
    if n < MIN_JUDGED or wrong < MIN_WRONG or wrong == n:
        return (f"{n} judgements with {wrong} wrong; the learned ranking needs at least {MIN_JUDGED} "
                f"with {MIN_WRONG} wrong and some right")
    return ""


def make_estimator(kind: str = KIND):
    """A fresh scikit-learn classifier of ``kind`` (:data:`KINDS`)."""
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=2000))
    if kind == "boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(max_depth=2, learning_rate=0.05, max_iter=150,
                                              l2_regularization=1.0, min_samples_leaf=10, random_state=0)
    raise ValueError(f"unknown error model {kind!r}; choose one of {list(KINDS)}")


@dataclass
class ErrorModel:
    """A fitted error model: ``score(evidence)`` is P(wrong) per row of an evidence matrix."""

    kind: str
    columns: list[str]
    estimator: object
    n_judged: int
    n_wrong: int
    quality: dict = field(default_factory=dict)

    def score(self, evidence: pd.DataFrame) -> np.ndarray:
        """(N,) the probability that each row's given label is wrong."""
        return self.estimator.predict_proba(evidence[self.columns].to_numpy(dtype=np.float64))[:, 1]

    def contributions(self, evidence_row: pd.Series) -> dict[str, float]:
        """Each evidence column's share of this row's log-odds against the split's mean row (logistic only;
        ``{}`` for other kinds)."""
        if self.kind != "logistic":
            return {}
        scaler, lr = self.estimator[0], self.estimator[-1]
        z = (evidence_row[self.columns].to_numpy(dtype=np.float64) - scaler.mean_) / scaler.scale_
        return {c: float(v) for c, v in zip(self.columns, z * lr.coef_[0], strict=True)}

    def weights(self) -> dict[str, float]:
        """Each column's standardised weight (logistic) or permutation-free importance placeholder (``{}``)."""
        if self.kind != "logistic":
            return {}
        return {c: round(float(w), 3) for c, w in zip(self.columns, self.estimator[-1].coef_[0], strict=True)}


def fit_error_model(evidence: pd.DataFrame, judged: pd.DataFrame, *, kind: str = KIND,
                    columns: Sequence[str] | None = None) -> ErrorModel:
    """Fit on the judged rows of ``evidence`` (indexed by sample id) reading its ``columns`` (default
    :data:`EVIDENCE`) and the given label; raises ``ValueError`` when too few."""
    why = enough(judged)
    if why:
        raise ValueError(why)
    columns = [c for c in evidence.columns if c in set(columns or EVIDENCE) or c.startswith("given=")]
    x = evidence.loc[judged["sample_id"].to_numpy(), columns].to_numpy(dtype=np.float64)
    est = make_estimator(kind)
    step = est.steps[-1][0] if hasattr(est, "steps") else None
    fit_kw = {f"{step}__sample_weight" if step else "sample_weight": judged["weight"].to_numpy(dtype=float)}
    est.fit(x, judged["wrong"].to_numpy(dtype=int), **fit_kw)
    return ErrorModel(kind, columns, est, len(judged), int(judged["wrong"].sum()))


def _auc_interval(wrong: np.ndarray, score: np.ndarray, *, resamples: int = 500, seed: int = 0) -> list[float]:
    from sklearn.metrics import roc_auc_score

    rng, values = np.random.default_rng(seed), []
    for _ in range(resamples):
        i = rng.integers(0, len(wrong), len(wrong))
        if 0 < wrong[i].sum() < len(i):
            values.append(roc_auc_score(wrong[i], score[i]))
    return [round(float(v), 3) for v in np.percentile(values, [2.5, 97.5])] if values else [float("nan")] * 2


def held_out_quality(evidence: pd.DataFrame, judged: pd.DataFrame, *, kind: str = KIND, folds: int = 5,
                     seed: int = 0, top: float = 0.05, columns: Sequence[str] | None = None) -> dict:
    """Cross-validated ROC AUC and precision among the split's top ``top`` on uniform audit rows the fit did
    not see, with 95% intervals (bootstrap; Wilson) and the counts behind them."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from statsmodels.stats.proportion import proportion_confint

    oof, flagged = np.full(len(judged), np.nan), np.zeros(len(judged), dtype=bool)
    y = judged["wrong"].to_numpy(dtype=int)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        model = fit_error_model(evidence, judged.iloc[train], kind=kind, columns=columns)
        split_scores = model.score(evidence)
        cut = np.quantile(split_scores, 1 - top)
        oof[test] = model.score(evidence.loc[judged["sample_id"].to_numpy()[test]])
        flagged[test] = oof[test] >= cut
    uni = judged["uniform"].to_numpy(dtype=bool)
    wrong, score = y[uni], oof[uni]
    out = {"kind": kind, "folds": folds, "uniform_rows": int(uni.sum()), "uniform_wrong": int(wrong.sum()),
           "judgements": len(judged)}
    if 0 < wrong.sum() < len(wrong):
        out["roc_auc"] = round(float(roc_auc_score(wrong, score)), 3)
        out["roc_auc_ci"] = _auc_interval(wrong, score, seed=seed)
    hits, n_top = int(wrong[flagged[uni]].sum()), int(flagged[uni].sum())
    out["top_rows"], out["top_wrong"] = n_top, hits
    if n_top:
        lo, hi = proportion_confint(hits, n_top, method="wilson")
        out["top_precision"], out["top_precision_ci"] = round(hits / n_top, 3), [round(lo, 3), round(hi, 3)]
    return out


def suggestion_features(table: pd.DataFrame, class_names: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """One-hot judges' suggestions (``<col>=<class>``) and the given label, for :func:`fit_suggester`."""
    out = {}
    for col in columns:
        values = table[col].astype(str).to_numpy()
        for c in class_names:
            out[f"{col}={c}"] = (values == c).astype(np.float64)
    labels = table["label"].astype(str).to_numpy()
    for c in class_names:
        out[f"given={c}"] = (labels == c).astype(np.float64)
    return pd.DataFrame(out, index=table.index)
