"""Out-of-fold probabilities from model families other than the fine-tuned transformer.

- :func:`tfidf_oof`: word (1-2) and character (2-5, within words) TF-IDF n-grams, logistic regression,
  ``cross_val_predict`` with :data:`FOLDS` stratified folds (seeded). The vectoriser is fitted on all
  texts (no labels), the classifier per fold. Column ``oof_tfidf`` = 1 - p(given), ``oof_tfidf_margin``
  = best other p - p(given).
- The same with every emotion word masked (``context_only``): our class word lists, the NRC lexicon's
  words and the word right after a feel-verb become one token, in every text alike (labels play no part
  in the masking). The classifier then learns from the rest of the sentence only; a label that the
  context contradicts scores high. Column ``oof_context``.
- :func:`embedding_oof`: logistic regression on frozen embeddings (the sentence encoder's, which
  never saw the labels), same folds. Columns ``oof_embed``, ``oof_embed_margin``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.analysis.signals.lexicon import FEEL_FORMS, FILLERS, cue_params, nrc_lexicon, tokens, word_class
from core.analysis.signals.registry import SignalFamily, register
from core.analysis.signals.resources import nrc_identity

FOLDS, SEED, C_TFIDF, C_EMBED = 5, 0, 4.0, 1.0
MASK = "emoword"


def _check(n: int, label_ids: np.ndarray, k: int) -> np.ndarray:
    y = np.asarray(label_ids, dtype=np.int64)
    if y.shape != (n,):
        raise ValueError(f"{n} rows but labels of shape {y.shape}")
    counts = np.bincount(y, minlength=k)
    if counts[counts > 0].min(initial=FOLDS) < FOLDS:
        raise ValueError(f"every present class needs at least {FOLDS} rows for {FOLDS}-fold out-of-fold probabilities;"
                         f" counts {counts.tolist()}")
    return y


def _oof(features, y: np.ndarray, k: int, c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    model = LogisticRegression(C=c, max_iter=2000)
    probs = cross_val_predict(model, features, y, cv=folds, method="predict_proba")
    out = np.zeros((len(y), k))
    out[:, np.unique(y)] = probs
    return out


def mask_emotion_words(text: str) -> str:
    """``text`` as lower-case words with every emotion word (and the word after a feel-verb) replaced by :data:`MASK`.

    >>> mask_emotion_words("I feel so grumpy about the rain")
    'i feel so emoword about the rain'
    """
    ours, nrc = word_class(), nrc_lexicon()
    words = [m.group() for m in tokens(text)]
    out, after_feel = [], False
    for w in words:
        hit = w in ours or bool(nrc.get(w)) or (after_feel and w not in FILLERS)
        out.append(MASK if hit else w)
        if w in FEEL_FORMS:
            after_feel = True
        elif w not in FILLERS:
            after_feel = False
    return " ".join(out)


def tfidf_oof(texts: Sequence[str], label_ids: np.ndarray, k: int, *, context_only: bool = False) -> np.ndarray:
    """(N, K) out-of-fold probabilities of TF-IDF + logistic regression (module docstring)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    y = _check(len(texts), label_ids, k)
    docs = [mask_emotion_words(t) for t in texts] if context_only else [t.lower() for t in texts]
    word = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True, max_features=200_000)
    features = hstack([word.fit_transform(docs), char.fit_transform(docs)]).tocsr()
    return _oof(features, y, k, C_TFIDF)


def embedding_oof(embeddings: np.ndarray, label_ids: np.ndarray, k: int) -> np.ndarray:
    """(N, K) out-of-fold probabilities of logistic regression on frozen ``embeddings``."""
    y = _check(len(embeddings), label_ids, k)
    return _oof(np.asarray(embeddings, dtype=np.float32), y, k, C_EMBED)


def given_scores(probs: np.ndarray, label_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``1 - p(given)`` and ``best other p - p(given)`` of (N, K) probabilities.

    >>> a, b = given_scores(np.array([[0.7, 0.3], [0.2, 0.8]]), np.array([0, 0]))
    >>> [round(float(v), 2) for v in (*a, *b)]
    [0.3, 0.8, -0.4, 0.6]
    """
    rows = np.arange(len(label_ids))
    given = probs[rows, label_ids]
    others = np.array(probs, dtype=np.float64, copy=True)
    others[rows, label_ids] = -np.inf
    return (1.0 - given).astype(np.float32), (others.max(axis=1) - given).astype(np.float32)


def _compute(name: str, ctx) -> dict[str, np.ndarray]:
    probs = (embedding_oof(ctx.embeddings(), ctx.y, ctx.k) if name == "oof_embed"
             else tfidf_oof(ctx.texts, ctx.y, ctx.k, context_only=name == "oof_context"))
    not_given, margin = given_scores(probs, ctx.y)
    return {name: not_given, f"{name}_margin": margin, f"{name}_suggest": probs.argmax(axis=1)}


OOF_EMBED = register(SignalFamily(
    name="oof_embed", title="embedding model", compute=lambda ctx: _compute("oof_embed", ctx),
    params=lambda: {"folds": FOLDS, "seed": SEED, "c": C_EMBED}, inputs=("embeddings",),
    columns={"oof_embed": "embedding model disagrees"}))
OOF_TFIDF = register(SignalFamily(
    name="oof_tfidf", title="word n-gram model", compute=lambda ctx: _compute("oof_tfidf", ctx),
    params=lambda: {"folds": FOLDS, "seed": SEED, "c": C_TFIDF}, columns={"oof_tfidf": "n-gram model disagrees"}))
OOF_CONTEXT = register(SignalFamily(
    name="oof_context", title="context model", compute=lambda ctx: _compute("oof_context", ctx), optional=("nrc",),
    params=lambda: {"folds": FOLDS, "seed": SEED, "c": C_TFIDF, "mask": MASK, "cue": cue_params(),
                    "nrc": nrc_identity()},
    columns={"oof_context": "context without emotion words disagrees"}))
