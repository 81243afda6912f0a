"""Explain by training examples: the training tweets nearest to a text, in one of two spaces (:data:`SPACES`).

The default is the sentence encoder's space (all-MiniLM-L6-v2, :mod:`core.analysis.signals.encoder`), which
never saw these labels, so neighbours are tweets that say the same thing; the classifier's [CLS] space
groups tweets by what the model predicts (:func:`sentence_embeddings` caches the former with the signals').

:class:`TrainingExamples` indexes the hidden states of the training split's analysis: exact cosine
neighbours (one matrix-vector product) up to :data:`core.analysis.mislabels.EXACT_NEIGHBOURS_MAX`
rows, a seeded ``pynndescent`` index above. :func:`similar` classifies a text and returns its ``k``
nearest training tweets with their given label, the model's prediction and mislabel score, and the
share of them whose label disagrees with the text's prediction.

:func:`neighbour_disagreement` turns the same idea into a per-row ranking signal for a split.

Example
-------
>>> states = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
>>> table = pd.DataFrame({"text": ["a", "b", "c"], "label": ["joy", "joy", "fear"], "pred": ["joy", "fear", "fear"],
...                       "mislabel_score": [0.1, 0.9, 0.2]})
>>> ex = TrainingExamples(states, table)
>>> r = ex.nearest(np.array([1.0, 0.05]), 2, pred="fear")
>>> r.neighbours["sample_id"].tolist(), r.disagreement
([0, 1], 1.0)
>>> neighbour_disagreement(states, np.array([0, 0, 1]), k=1).tolist()
[0.0, 0.0, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.analysis.mislabels import EXACT_NEIGHBOURS_MAX

NEIGHBOUR_COLUMNS = ("sample_id", "text", "label", "pred", "mislabel_score", "similarity")
#: Search spaces: key -> how a view labels it.
SPACES = {"sentence": "sentence encoder (never saw the labels)",
          "classifier": "classifier's [CLS] states (group by predicted class)"}


def check_space(space: str) -> str:
    """``space`` when it is a key of :data:`SPACES`; ``ValueError`` naming the choices otherwise."""
    if space not in SPACES:
        raise ValueError(f"unknown search space {space!r}; choose one of {list(SPACES)}")
    return space


def sentence_embeddings(texts: list[str], *, cache_dir, encoder=None) -> np.ndarray:
    """(N, 384) unit sentence embeddings of ``texts``, cached under ``<cache_dir>/signals`` with the same key as
    the signals' embeddings of those texts (so a split the signals embedded is read back, not re-encoded)."""
    from core.analysis.signals.compute import SignalCache
    from core.analysis.signals.context import digest_parts
    from core.analysis.signals.encoder import embed, encoder_params

    key = digest_parts(["encoder", encoder_params(), digest_parts(list(texts))])
    return SignalCache(cache_dir).get(key, lambda: {"x": embed(list(texts), encoder=encoder)})["x"]


@dataclass
class SimilarResult:
    """A text's nearest training tweets.

    ``neighbours``: columns :data:`NEIGHBOUR_COLUMNS`, most similar first (cosine similarity of [CLS]
    states); ``pred``: the text's predicted label; ``disagreement``: the share of the neighbours whose
    given label is not ``pred`` (NaN without neighbours).
    """

    pred: str
    neighbours: pd.DataFrame
    disagreement: float


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


class TrainingExamples:
    """A cosine index over the training split's [CLS] states and its analysis table.

    Parameters
    ----------
    hidden : (N, H) states of the training analysis, row order = sample id.
    table : its analysis table (``text, label, pred``, and ``mislabel_score`` when there is one).
    exact_max : up to this many rows the search is exact; above, approximate (``pynndescent``, seeded).
    """

    def __init__(self, hidden: np.ndarray, table: pd.DataFrame, *, exact_max: int = EXACT_NEIGHBOURS_MAX,
                 seed: int = 0) -> None:
        if len(hidden) != len(table):
            raise ValueError(f"hidden has {len(hidden)} rows, the table {len(table)}")
        self.table = table
        self.unit = _unit(hidden)
        self.exact = len(table) <= exact_max
        self._index = None
        if not self.exact:
            from pynndescent import NNDescent

            self._index = NNDescent(self.unit, metric="cosine", n_neighbors=30, random_state=seed, low_memory=True)
            self._index.prepare()

    def __len__(self) -> int:
        return len(self.table)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, similarities)``, each (M, k'), most similar first, for (M, H) query states;
        ``k' = min(k, N)``; exact ties go to the lower sample id."""
        q = _unit(np.atleast_2d(vectors))
        k = max(0, min(int(k), len(self)))
        if k == 0:
            return np.zeros((len(q), 0), dtype=np.int64), np.zeros((len(q), 0))
        if self._index is not None:
            ids, dist = self._index.query(q, k=k)
            return ids.astype(np.int64), 1.0 - dist.astype(np.float64)
        sims = (q @ self.unit.T).astype(np.float64)
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < len(self) else np.tile(np.arange(len(self)),
                                                                                         (len(q), 1))
        order = np.lexsort((top, -np.take_along_axis(sims, top, axis=1)), axis=1)
        ids = np.take_along_axis(top, order, axis=1)
        return ids, np.take_along_axis(sims, ids, axis=1)

    def nearest(self, vector: np.ndarray, k: int, *, pred: str, exclude: int | None = None) -> SimilarResult:
        """The ``k`` nearest training rows to one state (``exclude``: a training sample id to leave out,
        e.g. the sample itself)."""
        ids, sims = self.search(vector, k + (exclude is not None))
        keep = ids[0] != exclude if exclude is not None else np.ones(ids.shape[1], dtype=bool)
        ids, sims = ids[0][keep][:k], sims[0][keep][:k]
        t = self.table
        rows = pd.DataFrame({
            "sample_id": ids, "text": t["text"].to_numpy()[ids], "label": t["label"].astype(str).to_numpy()[ids],
            "pred": t["pred"].astype(str).to_numpy()[ids],
            "mislabel_score": (t["mislabel_score"].to_numpy()[ids] if "mislabel_score" in t else np.nan),
            "similarity": np.round(sims, 4)}, columns=list(NEIGHBOUR_COLUMNS))
        share = float((rows["label"] != pred).mean()) if len(rows) else float("nan")
        return SimilarResult(pred, rows, share)


def similar(text: str, k: int, *, classifier, examples: TrainingExamples, encoder=None) -> SimilarResult:
    """The ``k`` training tweets most similar to ``text``, with the share whose label disagrees with ``text``'s
    prediction by ``classifier``. Without ``encoder`` the search is in ``classifier``'s [CLS] space (the model
    that made ``examples``' analysis); with a sentence ``encoder``, in its space (``examples`` built on its
    embeddings).

    Raises :class:`ValueError` for an empty text or ``k < 1``.
    """
    if not str(text).strip():
        raise ValueError("type a text to find similar training tweets")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    out = classifier.predict([str(text)], with_hidden=encoder is None)
    pred = classifier.labels[int(out.probs[0].argmax())]
    if encoder is None:
        return examples.nearest(out.hidden[0], k, pred=pred)
    from core.analysis.signals.encoder import embed

    return examples.nearest(embed([str(text)], encoder=encoder)[0], k, pred=pred)


def neighbour_disagreement(hidden: np.ndarray, labels: np.ndarray, *, k: int = 10,
                           against: np.ndarray | None = None) -> np.ndarray:
    """(N,) per-row ranking signal in [0, 1], higher = more suspect: the share of the row's ``k``
    nearest *other* rows of the same split (cosine on the [CLS] states ``hidden``) whose given label
    differs from the row's label (``against``: another per-row label to compare with, e.g. the
    predictions).

    Exact neighbours up to :data:`EXACT_NEIGHBOURS_MAX` rows (:func:`core.analysis.neighbours.exact_cosine_knn`),
    ``pynndescent`` above. ``labels`` and ``against``: (N,) ids or names. Values are multiples of
    ``1/k``, so many rows tie; break ties with another score. The states should come from a model
    that did not train on the rows for the signal to be out-of-sample.
    """
    from core.analysis.mislabels import approximate_knn_graph
    from core.analysis.neighbours import exact_cosine_knn, others_graph

    labels = np.asarray(labels)
    n = len(labels)
    if len(hidden) != n:
        raise ValueError(f"hidden has {len(hidden)} rows, labels {n}")
    ref = labels if against is None else np.asarray(against)
    if ref.shape != labels.shape:
        raise ValueError(f"against must be ({n},), got {ref.shape}")
    k = min(int(k), n - 1)
    if k < 1:
        return np.zeros(n)
    graph = (approximate_knn_graph(hidden, k) if n > EXACT_NEIGHBOURS_MAX
             else others_graph(*exact_cosine_knn(hidden, k + 1), k))
    neighbours = graph.indices.reshape(n, k)
    return (labels[neighbours] != ref[:, None]).mean(axis=1)
