"""The share of a row's nearest neighbours whose given label differs from its own.

Neighbours are exact cosine neighbours (:func:`core.analysis.neighbours.exact_cosine_knn`), the row
itself left out, in two spaces: the fine-tuned model's [CLS] states (column ``knn_disagree_cls``)
and the frozen sentence encoder's embeddings, which never saw the labels (``knn_disagree_enc``).
``suggest`` is the neighbours' most common label.
"""

from __future__ import annotations

import numpy as np

from core.analysis.neighbours import exact_cosine_knn
from core.analysis.signals.registry import SignalFamily, register

K = 10


def disagreeing_share(features: np.ndarray, label_ids: np.ndarray, k_classes: int, *, k: int = K) -> dict:
    """``share`` (N,) of the ``k`` nearest other rows with another label, and ``suggest`` (their majority label).

    >>> x = np.array([[1, 0], [1, .1], [1, .2], [0, 1], [.1, 1], [.2, 1]], dtype=np.float32)
    >>> disagreeing_share(x, np.array([0, 0, 1, 1, 1, 1]), 2, k=2)["share"].round(2).tolist()
    [0.5, 0.5, 1.0, 0.0, 0.0, 0.0]
    """
    y = np.asarray(label_ids, dtype=np.int64)
    n = len(y)
    if n < 2:
        return {"share": np.zeros(n, dtype=np.float32), "suggest": y.copy()}
    k = min(k, n - 1)
    idx, _ = exact_cosine_knn(features, k + 1)
    own = idx == np.arange(n)[:, None]
    keep = np.argsort(own, axis=1, kind="stable")[:, :k]  # drop each row's own entry
    neigh = y[np.take_along_axis(idx, keep, axis=1)]
    share = (neigh != y[:, None]).mean(axis=1)
    counts = np.stack([(neigh == c).sum(axis=1) for c in range(k_classes)], axis=1)
    return {"share": share.astype(np.float32), "suggest": counts.argmax(axis=1)}


def _compute(ctx) -> dict[str, np.ndarray]:
    enc = disagreeing_share(ctx.embeddings(), ctx.y, ctx.k)
    out = {"knn_disagree_enc": enc["share"], "knn_enc_suggest": enc["suggest"]}
    if ctx.hidden is not None:
        out["knn_disagree_cls"] = disagreeing_share(ctx.hidden, ctx.y, ctx.k)["share"]
    return out


FAMILY = register(SignalFamily(
    name="knn", title="neighbours disagree", compute=_compute, params=lambda: {"k": K},
    inputs=("embeddings", "hidden"), columns={"knn_disagree_cls": "neighbours disagree"}))
