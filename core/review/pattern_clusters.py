"""Clusters of suspect rows in the sentence-encoder space, named by their most distinctive words.

What no rule names (:mod:`core.review.patterns`) may still come in families: the same topic, the same turn
of phrase. :func:`encoder_clusters` runs scikit-learn's HDBSCAN over the rows' unit-length sentence
embeddings (:mod:`core.analysis.signals.encoder`; Euclidean distance on unit vectors orders pairs as the
cosine does); :func:`distinctive_words` names each cluster by the words whose tf-idf weight is highest in the
cluster against the whole split.

>>> rng = np.random.default_rng(0)
>>> x = np.concatenate([rng.normal(0, 0.01, (15, 4)) + [1, 0, 0, 0], rng.normal(0, 0.01, (15, 4)) + [0, 1, 0, 0]])
>>> labels = encoder_clusters(x, min_size=5)
>>> len(set(labels[:15])), len(set(labels[15:])), bool(labels[0] != labels[15])
(1, 1, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Words never used to name a cluster: the labeller's frame ("i feel"), besides English stop words.
FRAME_WORDS = frozenset({"feel", "feeling", "feels", "felt", "im", "ive", "just", "like", "really", "know", "dont",
                         "think", "things", "thing", "time", "little", "bit", "want", "make", "way", "people"})


def encoder_clusters(embeddings: np.ndarray, *, min_size: int) -> np.ndarray:
    """(N,) HDBSCAN cluster of each row (``-1``: in no cluster), clusters numbered by size, largest first."""
    from sklearn.cluster import HDBSCAN

    x = np.asarray(embeddings, dtype=np.float64)
    if len(x) < max(min_size, 2):
        return np.full(len(x), -1, dtype=np.int64)
    raw = HDBSCAN(min_cluster_size=int(min_size), min_samples=max(2, int(min_size) // 2), copy=True).fit_predict(x)
    found = [c for c in np.unique(raw) if c >= 0]
    order = sorted(found, key=lambda c: (-int((raw == c).sum()), int(np.flatnonzero(raw == c)[0])))
    remap = {c: i for i, c in enumerate(order)}
    return np.array([remap.get(int(c), -1) for c in raw], dtype=np.int64)


def distinctive_words(texts: Sequence[str], clusters: np.ndarray, all_texts: Sequence[str], *,
                      n: int = 3) -> dict[int, list[str]]:
    """Cluster -> the ``n`` words whose mean tf-idf weight in its ``texts`` most exceeds their mean over
    ``all_texts`` (the split); ``clusters`` gives each of ``texts`` its cluster (``-1`` is left out)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    clusters = np.asarray(clusters)
    found = sorted(int(c) for c in np.unique(clusters) if c >= 0)
    if not found:
        return {}
    vec = TfidfVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS | FRAME_WORDS), min_df=2,
                          token_pattern=r"(?u)\b[a-z][a-z]+\b")
    try:
        base = np.asarray(vec.fit_transform([str(t) for t in all_texts]).mean(axis=0)).ravel()
    except ValueError:  # no word left (all stop words, or too few texts)
        return {c: [] for c in found}
    inside = vec.transform([str(t) for t in texts])
    words = vec.get_feature_names_out()
    out = {}
    for c in found:
        lift = np.asarray(inside[clusters == c].mean(axis=0)).ravel() - base
        out[c] = [str(words[i]) for i in np.argsort(-lift, kind="stable")[:n] if lift[i] > 0]
    return out
