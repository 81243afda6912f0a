"""The suggested class of a row whose given label is wrong: the judges' suggestions, combined.

Each judge that never learned the labels names a class (``*_suggest`` columns: the lexicon, the sentence
encoder's class descriptions, neighbours by meaning, the out-of-fold embedding model, the emoji model).
:func:`vote_suggestion` takes the class most of them name, other than the given one (ties: the order of
:data:`SUGGEST_COLUMNS`). :func:`fit_suggester` learns the same from audited-wrong rows and their correct
class (a multinomial logistic regression over the one-hot suggestions and the given label), never
suggesting the given class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

#: The judges' suggestion columns, most trusted first (the vote's tie order).
SUGGEST_COLUMNS: tuple[str, ...] = ("oof_suggest", "knn_enc_suggest", "zs_suggest", "lex_suggest", "nade_suggest")


def _present(rows: pd.DataFrame) -> list[str]:
    return [c for c in SUGGEST_COLUMNS if c in rows.columns]


def vote_suggestion(rows: pd.DataFrame) -> np.ndarray:
    """(N,) the class most judges name other than the given label (``""`` when none does).

    >>> r = pd.DataFrame({"label": ["joy"], "oof_suggest": ["joy"], "zs_suggest": ["fear"], "lex_suggest": ["fear"]})
    >>> vote_suggestion(r).tolist()
    ['fear']
    """
    cols = _present(rows)
    out = []
    for _, row in rows.iterrows():
        votes: dict[str, int] = {}
        for c in cols:
            v = row[c]
            if isinstance(v, str) and v and v != row["label"]:
                votes[v] = votes.get(v, 0) + 1
        out.append(max(votes, key=lambda k: votes[k]) if votes else "")
    return np.array(out, dtype=object)


def suggestion_features(rows: pd.DataFrame, class_names: Sequence[str]) -> np.ndarray:
    """(N, (J + 1) * K) one-hot of each judge's suggestion and of the given label."""
    blocks = []
    for col in [*_present(rows), "label"]:
        values = rows[col].astype(str).to_numpy()
        blocks.append(np.stack([(values == c) for c in class_names], axis=1).astype(np.float64))
    return np.concatenate(blocks, axis=1)


def _predict(model, rows: pd.DataFrame, class_names: Sequence[str]) -> np.ndarray:
    proba = np.zeros((len(rows), len(class_names)))
    proba[:, [list(class_names).index(c) for c in model.classes_]] = model.predict_proba(
        suggestion_features(rows, class_names))
    given = rows["label"].astype(str).to_numpy()
    for j, c in enumerate(class_names):
        proba[given == c, j] = -1.0  # never the given class
    return np.asarray(class_names, dtype=object)[proba.argmax(axis=1)]


def fit_suggester(table: pd.DataFrame, wrong: pd.DataFrame, class_names: Sequence[str], *,
                  cv: bool = False) -> Callable[[pd.DataFrame], np.ndarray] | float:
    """Learn the correct class of audited-wrong rows (``wrong``: ``sample_id``, ``correct_label``) from
    ``table``'s suggestions; returns a predictor of rows, or with ``cv`` its 5-fold accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    rows = table.loc[wrong["sample_id"].to_numpy()]
    y = wrong["correct_label"].astype(str).to_numpy()

    def fit(r, t):
        return LogisticRegression(C=1.0, max_iter=2000).fit(suggestion_features(r, class_names), t)

    if cv:
        hits = []
        for tr, te in KFold(5, shuffle=True, random_state=0).split(y):
            hits.extend(_predict(fit(rows.iloc[tr], y[tr]), rows.iloc[te], class_names) == y[te])
        return round(float(np.mean(hits)), 3)
    model = fit(rows, y)
    return lambda r: _predict(model, r, class_names)
