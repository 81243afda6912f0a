"""The shipped mislabel ranking of a split the model trained on: a weighted mean of percentile ranks.

``score = sum_s w_s * rank(s) / sum_s w_s`` over the signals of :data:`WEIGHTS` (each rank the
percentile within the split, in (0, 1]; 1 = the most suspect row). The negation family finds the
distant-supervision errors (an emotion word denied or overturned); the lexicon judge, the out-of-fold
sentence-embedding model, the area under the margin and the [CLS]-neighbour disagreement find a
label the text does not carry, which includes flipped labels.

How the weights were chosen (``bench/noise/real_noise.py``, recorded in ``bench/noise/results/real_noise.json``):
every weight vector in {0, 1, 2} over the eight candidate signals ``neg_parse, neg_rule, neg_any,
lex_not_given, aum, oof_embed, mislabel_score (cleanlab, in-sample), knn_disagree_cls`` was scored
on two sets nothing is reported on: the *choose* half of the blind train audit (ROC AUC of wrong
against the rest on its uniform rows) and 10% confusable flips (flip seed 20) of the 4,000-row
``bench/noise/label_noise.py`` subset, ranked with a model fine-tuned on the noisy labels (average
precision). Among the vectors whose injected-noise AP was at least cleanlab's ``mislabel_score``'s,
the one with the highest audit AUC within 0.002 of the best, then the highest audit AP, was kept.
The report half of the audit and flip seed 10 report it, and so do the audit's 200 fresh rows (round 2,
judged after these weights were fixed; `bench/noise/real_noise.py --round2`): ROC AUC 0.815 against 0.525 for loss.

The cached analysis of a split the model trained on stores this score as its ``mislabel_score``, beside
the signal columns (:func:`core.analysis.precompute.analyse_split`); :data:`ANALYSIS_PARAMS` puts the
weights and the signals' parameters into the cache key.

>>> import pandas as pd
>>> frame = pd.DataFrame({name: [0.0, 1.0, 0.5] for name in WEIGHTS})
>>> shipped_score(frame).round(3).tolist()
[0.333, 1.0, 0.667]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.analysis.signals import lexicon, oof
from core.analysis.signals.compute import compute_signals, signal_notes
from core.analysis.signals.context import family_params
from core.analysis.signals.registry import families as registered
from core.analysis.signals.registry import offered

#: Signal -> weight of its percentile rank (see the module docstring for how they were chosen).
WEIGHTS: dict[str, float] = {"neg_parse": 1, "neg_rule": 1, "neg_any": 1, "lex_not_given": 2, "aum": 1,
                             "oof_embed": 2, "knn_disagree_cls": 2}
#: Bump when what the shipped ranking does with its signals changes in a way no parameter says.
VERSION = 1


def _owners() -> dict[str, str]:
    """Each weighted signal's family (the one of :mod:`core.analysis.signals.registry` offering its column)."""
    owner = {col: name for name, fam in registered().items() for col in fam.columns}
    missing = [c for c in WEIGHTS if c not in owner]
    if missing:
        raise ValueError(f"no signal family declares the weighted signals {missing}")
    return {c: owner[c] for c in WEIGHTS}


#: Families the learned error model reads beyond :data:`WEIGHTS`' (:mod:`core.audit.evidence`): judges that
#: never saw the labels, computed with the shipped ones so the app can learn from them.
#: (the cue-target family stays out: ROC AUC 0.54 on the audit's round 3, and a parse of every row to pay for it).
EVIDENCE_FAMILIES: tuple[str, ...] = ("zero_shot", "nade")
#: The signal families a trained-on split's analysis computes: those :data:`WEIGHTS` needs and
#: :data:`EVIDENCE_FAMILIES`, in the registry's order.
FAMILIES: tuple[str, ...] = tuple(f for f in registered()
                                  if f in set(_owners().values()) | set(EVIDENCE_FAMILIES))
#: Short names the ranking selectors and the audit report show for each signal of :data:`WEIGHTS`.
SIGNAL_NAMES: dict[str, str] = {c: offered()[c] for c in WEIGHTS}


def signal_names() -> dict[str, str]:
    """Column -> display name of every signal offered as a ranking order: :data:`WEIGHTS`' first, then the
    other families' (the registry's, so a family registered later is offered too)."""
    return {**{c: offered()[c] for c in WEIGHTS}, **offered()}


def _signal_params() -> dict:
    """Everything that shapes the signals of :data:`FAMILIES` (parameters, word lists, encoder, parser)."""
    return {"version": VERSION, **{f: family_params(f) for f in FAMILIES}}


#: What shapes a trained-on split's stored ``mislabel_score`` (part of every analysis cache key).
ANALYSIS_PARAMS = {"weights": WEIGHTS, "families": list(FAMILIES), "signals": _signal_params(),
                   "applies_to": "the split the model trained on (core.analysis.workspace.TRAIN_SPLIT)",
                   "mislabel_score": "weighted mean of the signals' percentile ranks",
                   "fallback": "cleanlab in-sample score where not_applicable (other classes, rare classes)"}


def percentile_rank(score: np.ndarray) -> np.ndarray:
    """Each row's percentile rank in (0, 1]; ties share their mean rank; NaN ranks lowest."""
    from scipy.stats import rankdata

    score = np.asarray(score, dtype=np.float64)
    if len(score) == 0:
        return score
    return rankdata(np.where(np.isfinite(score), score, -np.inf)) / len(score)


def shipped_score(signals: pd.DataFrame, weights: dict[str, float] = WEIGHTS) -> np.ndarray:
    """(N,) the shipped ranking in (0, 1] from a frame holding every signal of ``weights``."""
    missing = [s for s in weights if s not in signals]
    if missing:
        raise KeyError(f"the shipped ranking needs the signals {missing}")
    total = sum(weights.values())
    return sum(w * percentile_rank(signals[s].to_numpy()) for s, w in weights.items()) / total


def not_applicable(labels: list[str], class_names: list[str]) -> str:
    """Why the shipped ranking cannot rank a split with these given labels (``""`` when it can): its
    lexicon knows only the emotion classes, and its out-of-fold judges need a few rows of every class."""
    unknown = sorted(set(class_names) - set(lexicon.CLASS_WORDS))
    if unknown:
        return f"its lexicon has no words for the classes {unknown}"
    counts = pd.Series(labels).value_counts()
    rare = sorted(counts[counts < oof.FOLDS].index.astype(str))
    if rare:
        return f"the classes {rare} have fewer than {oof.FOLDS} rows (its judges are {oof.FOLDS}-fold out-of-fold)"
    return ""


def attach_shipped(table: pd.DataFrame, hidden: np.ndarray, class_names: list[str], *,
                   cache_dir=None, progress=None, warnings: list[str] | None = None) -> dict[str, float]:
    """Add the signals of :data:`FAMILIES` to ``table`` (in place) and set its ``mislabel_score`` to
    :func:`shipped_score`; returns the seconds each family took (each family cached under ``cache_dir``).

    ``table`` needs ``text`` and ``label`` (class names); ``hidden`` is the classifier's (N, H) [CLS] states.
    A missing optional resource (the NRC lexicon, the spaCy parser) is added to ``warnings``.
    """
    if warnings is not None:
        warnings.extend(signal_notes(FAMILIES))
    cols, seconds = compute_signals(table["text"].tolist(), table["label"].astype(str).tolist(), class_names,
                                    hidden=np.asarray(hidden), cache_dir=cache_dir, families=FAMILIES,
                                    progress=progress)
    for col in cols.columns:
        table[col] = cols[col].to_numpy()
    table["mislabel_score"] = shipped_score(table)
    return seconds
