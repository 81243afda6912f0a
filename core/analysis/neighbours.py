"""Exact cosine nearest neighbours of embeddings, found once and shared by UMAP and Datalab.

Up to tens of thousands of rows a blocked matrix product finds every row's exact neighbours in
seconds (2.6 s for 16,000 x 384 on 2 cores), with no numba compilation; umap-learn's NN-descent
index spent about half a minute compiling in every fresh process before it found approximate ones.

>>> x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]], dtype=np.float32)
>>> idx, dist = exact_cosine_knn(x, 2)
>>> idx.tolist()
[[0, 1], [1, 0], [2, 3], [3, 2]]
"""

from __future__ import annotations

import numpy as np

#: Most distance values held at once (one block of rows against all rows): 256 MB of float32.
BLOCK_VALUES = 2**26
#: Candidates kept per row beyond ``k`` so that ties across the k-th place are broken by row index.
TIE_MARGIN = 16


def exact_cosine_knn(features: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest rows by cosine distance, itself included (distance 0), nearest first.

    Returns ``(indices, distances)``, both ``(N, k)`` (int32, float32), in umap-learn's
    ``precomputed_knn`` layout. Ties are broken by row index (exactly, unless more than
    :data:`TIE_MARGIN` rows tie at the k-th distance), so an exact duplicate with a lower index comes
    before the row itself, as in umap-learn's own search; zero vectors are at distance 1 from all others.
    """
    x = np.asarray(features, dtype=np.float32)
    n = x.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of rows ({n}), got {k}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms > 0, norms, 1.0)
    block = max(1, BLOCK_VALUES // n)
    indices = np.empty((n, k), dtype=np.int32)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        d = unit[rows] @ unit.T
        np.subtract(1.0, d, out=d)
        np.maximum(d, 0.0, out=d)  # rounding can make a row's distance to itself slightly negative
        d[np.arange(d.shape[0]), np.arange(rows.start, rows.stop)] = 0.0  # itself, even as a zero vector
        indices[rows], distances[rows] = smallest(d, k)
    return indices, distances


def smallest(distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` smallest entries of a distance matrix (or block of rows), ascending: their
    columns (int32) and values. Ties are broken by column index (exactly, unless more than
    :data:`TIE_MARGIN` columns tie at the k-th value).

    >>> smallest(np.array([[0.0, 0.5, 0.2], [0.3, 0.0, 0.3]]), 2)[0].tolist()
    [[0, 2], [1, 0]]
    """
    m = min(distances.shape[1], k + TIE_MARGIN)  # candidates, so a tie across the k-th place goes by index
    part = np.argpartition(distances, m - 1, axis=1)[:, :m]
    near = np.take_along_axis(distances, part, axis=1)
    order = np.lexsort((part, near), axis=1)
    return (np.take_along_axis(part, order, axis=1)[:, :k].astype(np.int32),
            np.take_along_axis(near, order, axis=1)[:, :k])


def others_graph(indices: np.ndarray, distances: np.ndarray, k: int):
    """(N, N) CSR graph of each row's ``k`` nearest *other* rows, nearest first: the layout cleanlab's
    Datalab builds itself (``knn_graph``). ``indices``/``distances`` include each row itself
    (:func:`exact_cosine_knn` with at least ``k + 1`` neighbours)."""
    from scipy.sparse import csr_matrix

    n = indices.shape[0]
    if indices.shape[1] < k + 1:
        raise ValueError(f"need at least {k + 1} neighbours per row (itself and {k} others), got {indices.shape[1]}")
    # Drop each row's own entry (usually first; an exact duplicate may tie with it).
    keep = np.argsort(indices == np.arange(n)[:, None], axis=1, kind="stable")[:, :k]
    idx = np.take_along_axis(indices, keep, axis=1)
    dist = np.take_along_axis(distances, keep, axis=1)
    return csr_matrix((dist.ravel().astype(np.float64), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))
