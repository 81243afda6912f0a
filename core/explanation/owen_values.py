"""Owen values over shap's partition tree: exactly when they fit the budget, else by stratified sampling.

The arithmetic behind :class:`core.explanation.explain.TokenShapExplainer`. Both estimators take the
text's token ids (the sampled one also the text, which seeds it, and the budget), its special-token
mask, shap's partition tree (a scipy-style linkage) and a ``predict`` callable mapping an ``(N, L)``
id matrix to ``(N, K)`` probabilities; both return ``(values (L, K), base_values (K,), model
evaluations spent)``.

* :func:`exact_owen`: every context the definition averages (:func:`owen_contexts`), one batched pass;
  :func:`exact_cost` says what it spends.
* :func:`sampled_owen`: antithetic pairs of orderings that respect the tree, stratified in blocks of
  :data:`BLOCK` pairs (:func:`depth_codes`, :func:`pair_flips`), until :func:`split_half_reliability`
  says the token ranking is stable or :class:`ExplainBudget` is spent.

Example
-------
>>> tree = np.array([[0, 1, 0, 2], [2, 3, 0, 3]])   # leaves 0 and 1 join first, then leaf 2
>>> exact_cost(tree, 3), tree_order(tree, 3, np.array([False, True]))
(8, [0, 1, 2])
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["BLOCK", "ExplainBudget", "exact_cost", "exact_owen", "sampled_owen"]

#: ``(N, L)`` token ids to ``(N, K)`` probabilities.
Predict = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ExplainBudget:
    """How many masked model evaluations one explanation may spend.

    For ``T`` explained tokens (``M = T + 2`` with ``[CLS]`` / ``[SEP]``) the budget is
    ``per_token * T + offset`` evaluations, clamped to ``[min_evals, max_evals]``.

    * If the exact Owen values fit in the budget (:func:`exact_cost`: about ``2/3 * M ** 2`` for a
      balanced tree, up to ``2 ** M`` for a chain; shap's nominal ``M * (M - 1)`` must fit too),
      they are computed in one batched pass over every context the definition averages
      (:func:`owen_contexts`): the answer shap's :class:`shap.PartitionExplainer` gives when its
      budget lets it expand the whole tree (the reference), without its numba compilation (8 s on
      the first short text of a process, ``bench/start/first_explain.py``).
    * Otherwise the same Owen values are estimated by sampling orderings of the tokens that
      respect shap's partition tree, in antithetic pairs (an ordering and its reverse).
      Walking an ordering unmasks one token at a time, so each ordering costs at most ``T``
      evaluations (fewer once rows repeat) and gives every token one marginal contribution in a
      context drawn exactly as the Owen value weighs it; the average is an unbiased estimate.
      The pairs are stratified: in each block of 8 pairs, pair ``q`` is the block's random base
      ordering with the subtrees swapped at the tree depths that :func:`depth_codes` assigns
      to ``q``.  Over a full block each token sees every combination of any two of its context
      levels less than 7 apart equally often; the first pairs already balance most neighbouring
      levels, which independent pairs leave to chance.  Every ordering is still uniformly
      distributed, so the mean stays unbiased; at the same mean accuracy it spends about a
      fifth less model work than independent pairs (``bench/speed/explain_sampling.py``, 40
      validation texts, 5 seeds, against exact Owen values).
      Sampling is adaptive: after ``min_pairs`` pairs, one pair is added at a time until the
      split-half index of reliability of the predicted class's values reaches ``reliability``,
      or until ``max_pairs`` pairs or the budget are spent.  The index is ``sqrt(2 r / (1 + r))``
      for ``r`` the rank correlation of even pairs against odd pairs: the square root of the
      Spearman-Brown step-up of ``r`` to the full sample, which estimates the correlation of the
      full-sample ranking with the ranking an unlimited sample would give.  Easy (nearly additive) texts stop early,
      texts with strong token interactions get more samples.

    Attributes
    ----------
    per_token, offset : float, int
        The budget: ``per_token * T + offset`` evaluations.
    min_evals, max_evals : int
        Clamp on the budget.
    min_pairs, max_pairs : int
        Antithetic pairs of orderings sampled at least / at most.
    reliability : float
        Stop sampling once the split-half index of reliability (the square root of the
        Spearman-Brown figure; 0.86 here is a Spearman-Brown reliability of 0.74 and a half-sample
        rank correlation of 0.59) of the token ranking reaches this.  Part of
        the error of a stratified sample cancels between its halves, so the figure understates
        the accuracy of their mean.  0.86 was chosen on the 40 texts of
        ``bench/speed/explain_sampling.py`` (emotion-minilm) to match the mean accuracy of
        independent pairs at 0.96 (Spearman 0.93 against exact Owen values); it holds on average,
        not for every text.
    stratified : bool
        Stratified pairs (the default).  ``False`` draws every pair independently, the earlier
        design, which needs ``reliability=0.96`` for the same accuracy (kept for comparison).
    seed : int
        Seed mixed with a hash of the text, so one text always gets the same answer.
    """

    per_token: float = 8.0
    offset: int = 32
    min_evals: int = 32
    max_evals: int = 1200
    min_pairs: int = 2
    max_pairs: int = 12
    reliability: float = 0.86
    stratified: bool = True
    seed: int = 0

    def evals_for(self, n_tokens: int) -> int:
        """The evaluation budget for ``n_tokens`` explained tokens (special tokens excluded)."""
        raw = math.ceil(self.per_token * n_tokens + self.offset)
        return int(min(max(raw, self.min_evals), self.max_evals))

    def max_sampled_evals(self, n_tokens: int) -> int:
        """The most evaluations the sampled estimate may spend: :meth:`evals_for`, or ``max_pairs`` pairs if fewer."""
        return int(min(self.evals_for(n_tokens), 2 * self.max_pairs * n_tokens + 1))


def exact_owen(ids: np.ndarray, special: np.ndarray, tree: np.ndarray, predict: Predict,
               mask_id: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Exact Owen values over ``tree``: every context of :func:`owen_contexts`, one batched pass."""
    m = len(ids)
    contexts = owen_contexts(tree, m)
    leaves = [i for i in range(m) if not special[i]]
    with_leaf = [c.copy() for c in (contexts[i] for i in leaves)]
    for c, i in zip(with_leaf, leaves, strict=True):
        c[:, i] = True
    masks = np.vstack([contexts[i] for i in leaves] + with_leaf + [np.zeros((1, m), dtype=bool)])
    masks[:, special] = True  # [CLS] / [SEP] are never masked (shap's Text masker keeps them)
    unique, inverse = np.unique(np.packbits(masks, axis=1), axis=0, return_inverse=True)
    rows = np.unpackbits(unique, axis=1, count=m).astype(bool)
    out = predict(np.where(rows, ids, mask_id))[inverse.reshape(-1)]
    values = np.zeros((m, out.shape[1]))
    start, n_leaf = 0, sum(len(contexts[i]) for i in leaves)
    for i in leaves:
        n = len(contexts[i])
        values[i] = (out[n_leaf + start : n_leaf + start + n] - out[start : start + n]).mean(axis=0)
        start += n
    return values, out[-1].astype(np.float64), len(unique)


def sampled_owen(text: str, ids: np.ndarray, special: np.ndarray, tree: np.ndarray, predict: Predict,
                 mask_id: int, budget: ExplainBudget) -> tuple[np.ndarray, np.ndarray, int]:
    """Owen values estimated from antithetic orderings that respect shap's partition tree (adaptive)."""
    m = len(ids)
    b = budget
    n_tokens = int((~special).sum())
    cap = b.max_sampled_evals(n_tokens)
    rng = np.random.default_rng([b.seed, zlib.crc32(text.encode("utf-8"))])
    masked = np.where(special, ids, mask_id)
    codes = depth_codes(tree, m)
    known: dict[bytes, np.ndarray] = {}
    walks: list[np.ndarray] = []  # (m, K) marginal contributions along one ordering; pairs are consecutive
    predicted = -1
    base_flips = np.zeros(m - 1, dtype=bool)
    while True:
        orders: list[list[int]] = []
        for step in range(max(b.min_pairs, 1) if not walks else 1):
            q = (len(walks) // 2 + step) % BLOCK if b.stratified else 0  # this pair's place in its block
            if q == 0:
                base_flips = rng.random(m - 1) < 0.5
            order = [i for i in tree_order(tree, m, pair_flips(base_flips, codes, q)) if not special[i]]
            orders += [order, order[::-1]]
        rows = walk_rows(masked, ids, orders)
        keys = [row.tobytes() for row in rows]
        todo = list({key: r for r, key in enumerate(keys) if key not in known}.values())
        if walks and len(known) + len(todo) > cap:
            break
        if todo:
            for r, probs in zip(todo, predict(rows[todo]), strict=True):
                known[keys[r]] = probs
        out = np.stack([known[key] for key in keys])
        for j, order in enumerate(orders):
            start = 1 + j * n_tokens  # every ordering walks all n_tokens tokens
            walk = np.zeros((m, out.shape[1]))
            walk[order] = np.diff(np.vstack([out[0], out[start : start + n_tokens]]), axis=0)
            walks.append(walk)
        if predicted < 0:
            predicted = int(np.argmax(known[ids.tobytes()]))
        pairs = len(walks) // 2
        if pairs >= b.max_pairs:
            break
        if pairs >= b.min_pairs and split_half_reliability(walks, predicted, ~special) >= b.reliability:
            break
    base = known[masked.tobytes()].astype(np.float64)
    return np.mean(walks, axis=0), base, len(known)


BLOCK = 8  # pairs per stratified block; 3-bit depth codes 1..7 (BLOCK - 1 of them)
PARITY = np.array([bin(x).count("1") % 2 == 1 for x in range(BLOCK)])


def depths(tree: np.ndarray, m: int) -> np.ndarray:
    """``(2m - 1,)`` depth of every node of a scipy-style linkage ``tree`` (leaves first, root 0)."""
    depth = np.zeros(2 * m - 1, dtype=np.int64)
    for node in range(2 * m - 2, m - 1, -1):
        left, right = int(tree[node - m, 0]), int(tree[node - m, 1])
        depth[left] = depth[right] = depth[node] + 1
    return depth


def exact_cost(tree: np.ndarray, m: int) -> int:
    """Model evaluations of the exact Owen values over ``tree``: two per internal node and context, plus both ends.

    An internal node at depth ``d`` is reached in ``2 ** d`` contexts (each ancestor's sibling
    present or not), the count shap's Partition explainer spends when it expands the whole tree.
    A balanced tree costs about ``2/3 * m ** 2``, a chain about ``2 ** m``.
    """
    return int(sum(2 ** (int(d) + 1) for d in depths(tree, m)[m:]) + 2)


def owen_contexts(tree: np.ndarray, m: int) -> dict[int, np.ndarray]:
    """Per leaf, the ``(2 ** depth, m)`` masks of its Owen contexts: every union of its ancestors' siblings."""
    members = np.zeros((2 * m - 1, m), dtype=bool)
    members[np.arange(m), np.arange(m)] = True
    for node in range(m, 2 * m - 1):
        members[node] = members[int(tree[node - m, 0])] | members[int(tree[node - m, 1])]
    contexts = {2 * m - 2: np.zeros((1, m), dtype=bool)}
    out: dict[int, np.ndarray] = {}
    stack = [2 * m - 2]
    while stack:
        node = stack.pop()
        here = contexts.pop(node)
        if node < m:
            out[node] = here
            continue
        left, right = int(tree[node - m, 0]), int(tree[node - m, 1])
        contexts[left] = np.vstack([here, here | members[right]])
        contexts[right] = np.vstack([here, here | members[left]])
        stack += [left, right]
    return out


def depth_codes(tree: np.ndarray, m: int) -> np.ndarray:
    """``(m - 1,)`` code ``depth % 7 + 1`` of every internal node of a scipy-style linkage ``tree``.

    Pair ``q`` of a block flips the block's base ordering at the nodes whose code shares an odd
    number of bits with ``q``.  Over a block, any two levels whose codes differ (any two ancestors
    less than 7 levels apart) are flipped together in half of the pairs and separately in the other
    half, so every token sees each combination of two context levels equally often.
    """
    return depths(tree, m)[m:] % (BLOCK - 1) + 1


def pair_flips(base: np.ndarray, codes: np.ndarray, q: int) -> np.ndarray:
    """Node flips of pair ``q`` of a block: the block's ``base`` flips, inverted where ``codes & q`` has odd parity."""
    return base ^ PARITY[codes & q]


def walk_rows(masked: np.ndarray, ids: np.ndarray, orders: list[list[int]]) -> np.ndarray:
    """The all-masked row, then for each ordering the rows after unmasking each of its tokens in turn."""
    rows = np.empty((1 + sum(len(o) for o in orders), len(ids)), dtype=np.int64)
    rows[0] = masked
    r = 1
    for order in orders:
        current = masked.copy()
        for i in order:
            current[i] = ids[i]
            rows[r] = current
            r += 1
    return rows


def split_half_reliability(walks: list[np.ndarray], column: int, keep: np.ndarray) -> float:
    """Split-half index of reliability of the mean of ``walks``' ranking of ``column``.

    ``walks`` are antithetic pairs of orderings (an ordering, then its reverse).  ``r`` is the
    Spearman correlation of the even pairs' mean against the odd pairs' mean (with one pair: the
    ordering against its reverse); the result is ``sqrt(2 r / (1 + r))``, the square root of the
    Spearman-Brown step-up of ``r`` to the full sample (an estimate of the correlation between the
    full sample's values and the true ones), with ``r < 0`` counted as 0.
    """
    from scipy.stats import spearmanr

    if len(walks) == 2:
        even, odd = walks[0][keep, column], walks[1][keep, column]
    else:
        pairs = [(walks[p] + walks[p + 1]) / 2 for p in range(0, len(walks) - 1, 2)]
        even = np.mean(pairs[0::2], axis=0)[keep, column]
        odd = np.mean(pairs[1::2], axis=0)[keep, column]
    if len(even) < 3:
        return 1.0
    if np.ptp(even) == 0 or np.ptp(odd) == 0:
        return 1.0 if np.allclose(even, odd) else 0.0
    half = max(float(spearmanr(even, odd)[0]), 0.0)
    return math.sqrt(2 * half / (1 + half))


def tree_order(tree: np.ndarray, m: int, flips: np.ndarray) -> list[int]:
    """Leaves of a scipy-style linkage ``tree`` in order, node ``j``'s children swapped where ``flips[j]``."""
    out: list[int] = []
    stack = [2 * m - 2]
    while stack:
        node = stack.pop()
        if node < m:
            out.append(node)
            continue
        left, right = int(tree[node - m, 0]), int(tree[node - m, 1])
        first, second = (right, left) if flips[node - m] else (left, right)
        stack += [second, first]
    return out
