"""The report of an audited split: the share of wrong, ambiguous and non-emotion labels, and how well
each ranking signal finds the wrong ones (precision among the split's top 1/5/10%, ROC AUC, average
precision). Shares are post-stratified (:mod:`core.audit.estimate`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from core.analysis.signals.shipped import SIGNAL_NAMES, WEIGHTS
from core.audit.auditor import Auditor
from core.audit.estimate import more_for_half_width, ranking_quality, share, top_share

OUTCOMES: tuple[str, ...] = ("wrong", "ambiguous", "not_emotion")
TOPS: tuple[float, ...] = (0.01, 0.05, 0.10)
#: Signal columns of the analysis table (higher = more suspect), and the prefix of added signals.
BASE_SIGNALS: dict[str, tuple[str, float]] = {
    "loss": ("loss", 1.0), "mislabel_score": ("mislabel_score", 1.0), "label_quality": ("label_quality", -1.0),
}
SIGNAL_PREFIX = "signal_"
#: The name of ``mislabel_score`` where the table holds the shipped ranking (a split the model trained on).
SHIPPED = "shipped ranking"


def signal_columns(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every ranking signal the table holds, oriented so that higher means more suspect: loss, the stored
    ``mislabel_score`` (named :data:`SHIPPED` where the table holds every signal of the shipped ranking and
    the score is the stored one, not an out-of-fold re-rank),
    cleanlab's label quality, each signal of :data:`core.analysis.signals.shipped.WEIGHTS`, and added
    ``signal_*`` columns."""
    shipped = all(c in table for c in WEIGHTS) and table.attrs.get("source") != "out-of-fold"
    out = {(SHIPPED if shipped and col == "mislabel_score" else name): sign * table[col].to_numpy(dtype=float)
           for name, (col, sign) in BASE_SIGNALS.items() if col in table}
    out.update({c: table[c].to_numpy(dtype=float) for c in WEIGHTS if c in table})
    out.update({c[len(SIGNAL_PREFIX):]: table[c].to_numpy(dtype=float) for c in table if c.startswith(SIGNAL_PREFIX)})
    return out


def signal_title(name: str) -> str:
    """How the report names a signal: its short name and column where it is one of the shipped ranking's."""
    return f"{SIGNAL_NAMES[name]} (`{name}`)" if name in SIGNAL_NAMES else name


#: Below these, the report shows counts and says it is too early to estimate.
MIN_DECISIONS, MIN_WRONG = 30, 5
ESTIMATOR = ("post-stratified share of the split (weights N_h/n_h of the design), Wilson 95% interval at the "
             "effective sample size")


def signal_quality(score: np.ndarray, decisions: pd.DataFrame, tops: Sequence[float] = TOPS) -> dict:
    """How one signal (one value per row of the split) ranks the audit's wrong labels (used rows only)."""
    ids = decisions["sample_id"].to_numpy(dtype=int)
    wrong = (decisions["judgement"] == "wrong").to_numpy()
    weights = decisions["weight"].to_numpy(dtype=float)
    uniform = (decisions["sampling"] == "uniform").to_numpy()
    out = {f"precision_top{round(k * 100)}": top_share(score, ids, wrong, weights, k).as_dict() for k in tops}
    out["uniform"] = ranking_quality(score[ids][uniform], wrong[uniform])
    out["weighted"] = ranking_quality(score[ids], wrong, weights)
    return out


def audit_report(auditor: Auditor, signals: Mapping[str, np.ndarray] | None = None) -> dict:
    """The report as a JSON-able dict (see the module docstring). Rows the design leaves out (stratified
    draws of another ranking) are counted, never estimated from; revisions never change an estimate."""
    every = auditor.decisions()
    design = every.attrs.get("design")
    d = every[every["used"].astype(bool)] if len(every) else every
    n_split = len(auditor.table)
    strata = design.strata[design.used] if design is not None else np.array([], dtype=object)
    sizes = design.sizes if design is not None else {}
    rates = {o: share(strata, (d["judgement"] == o).to_numpy(), sizes) for o in OUTCOMES}
    wrong = rates["wrong"]
    n_wrong = int((d["judgement"] == "wrong").sum())
    too_early = len(d) < MIN_DECISIONS or n_wrong < MIN_WRONG
    signals = signal_columns(auditor.table) if signals is None else dict(signals)
    quality = ({name: signal_quality(np.asarray(s, dtype=float), d) for name, s in signals.items()}
               if len(d) and not too_early else {})
    return {
        "split_rows": n_split,
        "decisions": int(len(every)),
        "used": int(len(d)),
        "revised": int(every["revised_judgement"].notna().sum()) if len(every) else 0,
        "design": design.note if design is not None else "no judgements yet",
        "estimator": ESTIMATOR,
        "too_early": too_early,
        "by_sampling": {k: int(v) for k, v in every["sampling"].value_counts().items()},
        "by_judgement": {k: int(v) for k, v in every["judgement"].value_counts().items()},
        "rates": {o: est.as_dict() for o, est in rates.items()},
        "expected_wrong": {k: (round(getattr(wrong, k) * n_split) if math.isfinite(getattr(wrong, k)) else None)
                           for k in ("value", "low", "high")},
        "more_for_2_points": more_for_half_width(wrong),
        "signals": quality,
    }


def _pct(est: Mapping) -> str:
    if est["value"] is None or not math.isfinite(est["value"]):
        return "–"
    return f"{100 * est['value']:.1f}% ({100 * est['low']:.1f}–{100 * est['high']:.1f})"


def _num(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.3f}"


def format_report(report: Mapping) -> str:
    """The report as Markdown a person reads."""
    counts = ", ".join(f"{k} {v}" for k, v in report["by_judgement"].items()) or "none"
    lines = [f"{report['decisions']} blind judgements on {report['split_rows']} rows ({counts}; "
             f"{', '.join(f'{k} {v}' for k, v in report['by_sampling'].items()) or 'no draws'}); "
             f"{report.get('revised', 0)} revised after the reveal (the estimates keep the blind judgement).", ""]
    if report.get("too_early", False):
        lines.append(f"Too early to estimate: an estimate needs at least {MIN_DECISIONS} judgements with at least "
                     f"{MIN_WRONG} wrong labels. Counts only.")
        return "\n".join(lines)
    lines += [f"Design: {report['design']}. Estimator: {report['estimator']}.", "",
              "| judgement | share of the split (95% interval) |", "|---|---|"]
    lines += [f"| {o} | {_pct(report['rates'][o])} |" for o in OUTCOMES]
    ew = report["expected_wrong"]
    lines += ["", f"Expected wrong labels: {ew['value']:,} ({ew['low']:,}–{ew['high']:,}); "
              f"{report['more_for_2_points']} more judgements would narrow the interval to ±2 points.", ""]
    if report["signals"]:
        head = [f"top {round(k * 100)}%" for k in TOPS]
        lines += ["| signal | " + " | ".join(f"precision, {h}" for h in head) + " | ROC AUC (uniform) | AP (uniform) |",
                  "|---" * (3 + len(head)) + "|"]
        for name, q in report["signals"].items():
            tops = " | ".join(_pct(q[f"precision_top{round(k * 100)}"]) for k in TOPS)
            u = q["uniform"]
            lines.append(f"| {signal_title(name)} | {tops} | {_num(u['roc_auc'])} | {_num(u['average_precision'])} |")
    return "\n".join(lines)
