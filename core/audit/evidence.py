"""The evidence the learned error model reads, one row per sample, and a row's reasons in words.

Evidence is what a row's signals say without the given labels having taught them (the negation
family, the judges, neighbours in the sentence encoder's space, the out-of-fold embedding model, the
area under the margin) plus the given label itself: :func:`evidence_matrix` turns each signal column
into its percentile rank within the split (so a weight reads the same at any split size) and the given
label into one-hot columns. :func:`reasons` says, for one row, what each signal found, in words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Signal columns the error model may read, with what a high value says (the reason's words).
SIGNALS: dict[str, str] = {
    "neg_parse": "the emotion word is negated or overturned (parse)",
    "neg_rule": "the emotion word is negated, wished for or overturned (word rule)",
    "neg_any": "the text has a negator",
    "lex_not_given": "the emotion words read another class",
    "zs_not_given": "the sentence encoder's class descriptions read another class",
    "knn_disagree_enc": "its neighbours by meaning carry other labels",
    "knn_disagree_cls": "its neighbours in the classifier's space carry other labels",
    "oof_embed": "a model on sentence embeddings, not trained on this row, reads another class",
    "aum": "training barely or never fitted its label (area under the margin)",
    "nade_not_given": "the emoji model reads another class",
    "cue_target": "the emotion word is about someone or something else",
}
#: Suggest columns -> the judge named in a reason.
SUGGESTS: dict[str, str] = {"lex_suggest": "the lexicon", "zs_suggest": "the encoder's class descriptions",
                            "knn_enc_suggest": "neighbours by meaning", "oof_suggest": "the embedding model",
                            "nade_suggest": "the emoji model"}


def evidence_columns(table: pd.DataFrame, wanted: Sequence[str] | None = None) -> list[str]:
    """The signal columns of :data:`SIGNALS` (or ``wanted``) that ``table`` holds."""
    return [c for c in (wanted or SIGNALS) if c in table.columns]


def percentile_ranks(values: np.ndarray) -> np.ndarray:
    """Percentile rank in (0, 1] (ties share their mean rank; NaN ranks lowest)."""
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return values
    return rankdata(np.where(np.isfinite(values), values, -np.inf)) / len(values)


def evidence_matrix(table: pd.DataFrame, class_names: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """(N, S + K) the percentile rank of each signal column and the one-hot given label (``given=<class>``).

    >>> t = pd.DataFrame({"label": ["joy", "fear", "joy"], "lex_not_given": [0.1, 0.9, 0.5]})
    >>> evidence_matrix(t, ["joy", "fear"], ["lex_not_given"]).round(2).values.tolist()
    [[0.33, 1.0, 0.0], [1.0, 0.0, 1.0], [0.67, 1.0, 0.0]]
    """
    out = pd.DataFrame({c: percentile_ranks(table[c].to_numpy()) for c in columns}, index=table.index)
    labels = table["label"].astype(str).to_numpy()
    for name in class_names:
        out[f"given={name}"] = (labels == name).astype(np.float64)
    return out


def _suggestion_line(row: pd.Series) -> str | None:
    votes: dict[str, list[str]] = {}
    for col, judge in SUGGESTS.items():
        value = row.get(col)
        if isinstance(value, str) and value and value != row["label"]:
            votes.setdefault(value, []).append(judge)
    if not votes:
        return None
    best = max(votes, key=lambda c: len(votes[c]))
    return f"{len(votes[best])} of {len(SUGGESTS)} judges read {best}: {', '.join(votes[best])}"


def reasons(row: pd.Series, ranks: pd.Series, contributions: dict[str, float] | None = None, *,
            top: float = 0.8, limit: int = 5) -> list[dict]:
    """What each signal says of one row, most telling first: ``{signal, says, percentile, weight}``.

    A signal speaks when the row is in its top ``1 - top`` of the split (``ranks``: the row's percentile
    ranks); ``contributions`` (signal -> its share of the row's learned score, log-odds) orders and
    weighs them where a learned model ranks the split. The judges' suggested classes close the list.
    """
    out = []
    for col, says in SIGNALS.items():
        if col in ranks and ranks[col] >= top:
            weight = (contributions or {}).get(col)
            out.append({"signal": col, "says": says, "percentile": round(float(ranks[col]) * 100),
                        "weight": None if weight is None else round(float(weight), 2)})
    out.sort(key=lambda r: -(r["weight"] if r["weight"] is not None else r["percentile"] / 100))
    out = out[:limit]
    line = _suggestion_line(row)
    if line:
        out.append({"signal": "suggest", "says": line, "percentile": None, "weight": None})
    return out
