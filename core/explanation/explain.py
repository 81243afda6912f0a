"""Fast, faithful SHAP token attributions for a sequence classifier.

The reference approach is ``shap.Explainer(transformers.pipeline("text-classification", ...))``
with its defaults: a Partition (Owen value) explainer over shap's Text masker, masking with
``[MASK]``, 500 model evaluations, explaining softmax probabilities.  It spends nearly all its
time in the string pipeline: every masked variant is rebuilt as a string, re-tokenised and run
through the model a handful at a time.

:class:`TokenShapExplainer` keeps shap's definition of the answer (the same masker, the same
partition tree, the same Owen values on probabilities) but

* asks shap's Text masker for token ids (``output_type="token_ids"``), so the text is
  tokenised once and every masked variant is the same id row with some positions set to the ``[MASK]`` id;
* runs the model on whole ``(rows, length)`` id matrices (no padding needed: every variant of a
  text has the same length), many rows per forward pass, on the classifier's inference backend
  (:mod:`core.classifier.backends`: PyTorch fp32 or bf16, ONNX Runtime fp32 or int8);
* spends a budget of model evaluations that grows with the number of tokens
  (:class:`ExplainBudget`): shap's exact answer when it fits, otherwise an unbiased sampling
  estimate of the same Owen values over shap's own partition tree (stratified antithetic
  orderings) that stops as soon as its token ranking is stable, and
* keeps an LRU cache of finished explanations keyed by ``(text, max_tokens)``.

Tokens are reported as the tokenizer's word pieces (``"play"``, ``"##ing"``), without the
special tokens (``[CLS]``, ``[SEP]``); one row of values per piece.

Example
-------
>>> explainer = TokenShapExplainer(model, tokenizer, labels)            # doctest: +SKIP
>>> att = explainer.explain("i feel so happy today")                    # doctest: +SKIP
>>> att.top_tokens("joy", k=3)                                          # doctest: +SKIP
[('happy', 0.41), ('feel', 0.05), ('today', 0.02)]
"""

from __future__ import annotations

import math
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ExplainBudget", "TokenAttribution", "TokenShapExplainer"]


@dataclass(frozen=True)
class ExplainBudget:
    """How many masked model evaluations one explanation may spend.

    For ``T`` explained tokens (``M = T + 2`` with ``[CLS]`` / ``[SEP]``) the budget is
    ``per_token * T + offset`` evaluations, clamped to ``[min_evals, max_evals]``.

    * If the exact Owen values fit in the budget (:func:`exact_cost`: about ``2/3 * M ** 2`` for a
      balanced tree, up to ``2 ** M`` for a chain; shap's nominal ``M * (M - 1)`` must fit too),
      they are computed in one batched pass over every context the definition averages
      (:func:`_owen_contexts`): the answer shap's :class:`shap.PartitionExplainer` gives when its
      budget lets it expand the whole tree (the reference), without its numba compilation (8 s on
      the first short text of a process, ``bench/bench_first_explain.py``).
    * Otherwise the same Owen values are estimated by sampling orderings of the tokens that
      respect shap's partition tree, in antithetic pairs (an ordering and its reverse).
      Walking an ordering unmasks one token at a time, so each ordering costs at most ``T``
      evaluations (fewer once rows repeat) and gives every token one marginal contribution in a
      context drawn exactly as the Owen value weighs it; the average is an unbiased estimate.
      The pairs are stratified: in each block of 8 pairs, pair ``q`` is the block's random base
      ordering with the subtrees swapped at the tree depths that :func:`_depth_codes` assigns
      to ``q``.  Over a full block each token sees every combination of any two of its context
      levels less than 7 apart equally often; the first pairs already balance most neighbouring
      levels, which independent pairs leave to chance.  Every ordering is still uniformly
      distributed, so the mean stays unbiased; at the same mean accuracy it spends about a
      fifth less model work than independent pairs (``bench/bench_explain_sampling.py``, 40
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
        ``bench/bench_explain_sampling.py`` (emotion-minilm) to match the mean accuracy of
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


@dataclass(frozen=True)
class TokenAttribution:
    """SHAP values for one text.

    Attributes
    ----------
    text : str
        The text as given (before any truncation).
    tokens : list of str
        The explained word pieces as the tokenizer gives them (``"##ing"`` continues the
        previous piece), without ``[CLS]`` / ``[SEP]``.
    values : numpy.ndarray
        ``(T, K)`` SHAP values on probabilities, one row per token, columns in label order.
    base_values : numpy.ndarray
        ``(K,)`` probabilities with every token masked.
    probs : numpy.ndarray
        ``(K,)`` probabilities for the (possibly truncated) text;
        ``base_values + values.sum(0)`` equals it up to the credit shap left on special tokens.
    labels : list of str
        Class names in column order.
    truncated : bool
        Whether only the first ``max_tokens`` tokens were explained.
    n_evals : int
        Model evaluations (masked rows) spent.
    seconds : float
        Wall time of the explanation (not of a cache hit).
    """

    text: str
    tokens: list[str]
    values: np.ndarray
    base_values: np.ndarray
    probs: np.ndarray
    labels: list[str]
    truncated: bool
    n_evals: int
    seconds: float

    def _column(self, label: str) -> int:
        try:
            return self.labels.index(label)
        except ValueError:
            raise KeyError(f"unknown label {label!r}; labels are {self.labels}") from None

    def for_label(self, label: str) -> np.ndarray:
        """``(T,)`` attributions of every token towards ``label``."""
        return self.values[:, self._column(label)]

    def top_tokens(self, label: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` tokens with the largest absolute attribution toward ``label``, largest first, sign kept.

        The one ranking of the project (:func:`core.explanation.words.rank_by_magnitude`, also behind
        :meth:`core.explanation.words.Explanation.top_words`): a token pushing hard away counts as much as one toward.
        """
        from core.explanation.words import rank_by_magnitude

        col = self.for_label(label)
        return [(self.tokens[i], float(col[i])) for i in rank_by_magnitude(col, k)]


class TokenShapExplainer:
    """Partition-SHAP token attributions computed on token ids in large batches.

    Parameters
    ----------
    model : transformers ``*ForSequenceClassification``
        In eval mode on the CPU; its logits columns must follow ``labels``.
    backend : core.classifier.backends.Backend, optional
        Runs the SHAP evaluations.  Default: the backend :func:`core.classifier.model.load_classifier`
        attached to ``model`` (``model.inference_backend``), else PyTorch fp32 on ``model``.
    tokenizer : transformers tokenizer
        The model's (fast) tokenizer; it must define a mask token.
    labels : list of str
        Class names in logits order.
    max_tokens : int, default 128
        Explain at most this many word pieces; longer texts are cut there and flagged.
    cache_size : int, default 256
        Finished explanations kept (LRU); ``0`` disables the cache.
    budget : ExplainBudget or int, optional
        Evaluation budget; an ``int`` is a fixed ``max_evals``.  Default :class:`ExplainBudget`.
    batch_rows : int, default 256
        Rows per forward pass (bounds memory, not the number of passes shap asks for).

    Notes
    -----
    One explanation runs at a time (a lock guards shap's explainer state and the cache), so
    instances may be shared between a web server's worker threads.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        labels: list[str],
        *,
        max_tokens: int = 128,
        cache_size: int = 256,
        budget: ExplainBudget | int | None = None,
        batch_rows: int = 256,
        backend: Any = None,
    ) -> None:
        import shap

        from core.classifier.backends import TorchBackend

        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        if getattr(tokenizer, "mask_token_id", None) is None:
            raise ValueError("the tokenizer defines no mask token; token masking needs one")
        n_out = getattr(getattr(model, "config", None), "num_labels", len(labels))
        if n_out != len(labels):
            raise ValueError(f"model has {n_out} outputs but {len(labels)} labels were given")
        self.model = model
        self.backend = backend or getattr(model, "inference_backend", None) or TorchBackend(model)
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.max_tokens = int(max_tokens)
        self.cache_size = int(cache_size)
        if budget is None:
            budget = ExplainBudget()
        elif isinstance(budget, int):
            budget = ExplainBudget(per_token=0.0, offset=budget, min_evals=budget, max_evals=budget)
        self.budget = budget
        self.batch_rows = int(batch_rows)
        self._lock = threading.RLock()  # the cache only: a hit never waits behind a computation
        self._compute = threading.Lock()  # one explanation computed at a time (they share the model)
        self._cache: OrderedDict[tuple[str, int], TokenAttribution] = OrderedDict()
        self._masker = shap.maskers.Text(tokenizer, output_type="token_ids")

    # -- model ---------------------------------------------------------------------------------

    def _predict(self, ids: np.ndarray) -> np.ndarray:
        """Softmax probabilities ``(N, K)`` for an ``(N, L)`` matrix of token ids (on :attr:`backend`)."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim == 1:
            ids = ids[None, :]
        out = [self.backend.probs(ids[start : start + self.batch_rows])
               for start in range(0, ids.shape[0], self.batch_rows)]
        return np.concatenate(out, axis=0)

    # -- public --------------------------------------------------------------------------------

    def clear_cache(self) -> None:
        """Forget every cached explanation."""
        with self._lock:
            self._cache.clear()

    def explain(self, text: str) -> TokenAttribution:
        """SHAP values of every token of ``text`` for every label.

        Parameters
        ----------
        text : str
            Non-empty text.

        Returns
        -------
        TokenAttribution

        Raises
        ------
        ValueError
            If ``text`` is empty, whitespace only, or yields no tokens.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text.strip():
            raise ValueError("cannot explain an empty or whitespace-only text")
        key = (text, self.max_tokens)
        hit = self._cached(key)
        if hit is not None:
            return hit
        with self._compute:
            hit = self._cached(key)  # another caller may have computed it while this one waited
            if hit is not None:
                return hit
            result = self._explain_uncached(text)
        if self.cache_size > 0:
            with self._lock:
                self._cache[key] = result
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return result

    def _cached(self, key: tuple) -> TokenAttribution | None:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    # -- internals -----------------------------------------------------------------------------

    def _truncate(self, text: str) -> tuple[str, bool]:
        """``text`` cut after its ``max_tokens``-th word piece, and whether it was cut."""
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        if not offsets:
            raise ValueError(f"the tokenizer finds no tokens in {text!r}")
        if len(offsets) <= self.max_tokens:
            return text, False
        return text[: offsets[self.max_tokens - 1][1]], True

    def _explain_uncached(self, text: str) -> TokenAttribution:
        start = time.perf_counter()
        used, truncated = self._truncate(text)
        ids = np.asarray(self.tokenizer(used)["input_ids"], dtype=np.int64)
        special = np.asarray(
            self.tokenizer.get_special_tokens_mask(ids.tolist(), already_has_special_tokens=True), dtype=bool
        )
        tree = np.asarray(self._masker.clustering(used))  # shap's own partition tree for this text
        if tree.shape[0] != len(ids) - 1:
            raise RuntimeError(f"shap's partition tree has {tree.shape[0] + 1} leaves, expected {len(ids)}")
        budget = self.budget.evals_for(int((~special).sum()))
        m = len(ids)  # shap's nominal cost of the whole tree, then the true one (deep trees cost more)
        if m * (m - 1) <= budget and exact_cost(tree, m) <= budget:
            values_all, base, n_evals = self._exact(ids, special, tree)
        else:
            values_all, base, n_evals = self._sampled(used, ids, special, tree)
        probs = base + values_all.sum(axis=0)  # efficiency: the values add up to f(text) - f(masked)
        keep = ~special
        return TokenAttribution(
            text=text,
            tokens=list(self.tokenizer.convert_ids_to_tokens(ids[keep].tolist())),
            values=values_all[keep],
            base_values=base,
            probs=probs,
            labels=list(self.labels),
            truncated=truncated,
            n_evals=n_evals,
            seconds=time.perf_counter() - start,
        )

    def _exact(self, ids: np.ndarray, special: np.ndarray, tree: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Exact Owen values over ``tree``: every context of :func:`_owen_contexts`, one batched pass."""
        m = len(ids)
        contexts = _owen_contexts(tree, m)
        leaves = [i for i in range(m) if not special[i]]
        with_leaf = [c.copy() for c in (contexts[i] for i in leaves)]
        for c, i in zip(with_leaf, leaves, strict=True):
            c[:, i] = True
        masks = np.vstack([contexts[i] for i in leaves] + with_leaf + [np.zeros((1, m), dtype=bool)])
        masks[:, special] = True  # [CLS] / [SEP] are never masked (shap's Text masker keeps them)
        unique, inverse = np.unique(np.packbits(masks, axis=1), axis=0, return_inverse=True)
        rows = np.unpackbits(unique, axis=1, count=m).astype(bool)
        out = self._predict(np.where(rows, ids, self.tokenizer.mask_token_id))[inverse.reshape(-1)]
        values = np.zeros((m, out.shape[1]))
        start, n_leaf = 0, sum(len(contexts[i]) for i in leaves)
        for i in leaves:
            n = len(contexts[i])
            values[i] = (out[n_leaf + start : n_leaf + start + n] - out[start : start + n]).mean(axis=0)
            start += n
        return values, out[-1].astype(np.float64), len(unique)

    def _sampled(self, text: str, ids: np.ndarray, special: np.ndarray,
                 tree: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Owen values estimated from antithetic orderings that respect shap's partition tree (adaptive)."""
        m = len(ids)
        b = self.budget
        n_tokens = int((~special).sum())
        cap = b.max_sampled_evals(n_tokens)
        rng = np.random.default_rng([b.seed, zlib.crc32(text.encode("utf-8"))])
        masked = np.where(special, ids, self.tokenizer.mask_token_id)
        codes = _depth_codes(tree, m)
        known: dict[bytes, np.ndarray] = {}
        walks: list[np.ndarray] = []  # (m, K) marginal contributions along one ordering; pairs are consecutive
        predicted = -1
        base_flips = np.zeros(m - 1, dtype=bool)
        while True:
            orders: list[list[int]] = []
            for step in range(max(b.min_pairs, 1) if not walks else 1):
                q = (len(walks) // 2 + step) % _BLOCK if b.stratified else 0  # this pair's place in its block
                if q == 0:
                    base_flips = rng.random(m - 1) < 0.5
                order = [i for i in _tree_order(tree, m, _pair_flips(base_flips, codes, q)) if not special[i]]
                orders += [order, order[::-1]]
            rows = _walk(masked, ids, orders)
            keys = [row.tobytes() for row in rows]
            todo = list({key: r for r, key in enumerate(keys) if key not in known}.values())
            if walks and len(known) + len(todo) > cap:
                break
            if todo:
                for r, probs in zip(todo, self._predict(rows[todo]), strict=True):
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
            if pairs >= b.min_pairs and _split_half_reliability(walks, predicted, ~special) >= b.reliability:
                break
        base = known[masked.tobytes()].astype(np.float64)
        return np.mean(walks, axis=0), base, len(known)


_BLOCK = 8  # pairs per stratified block; 3-bit depth codes 1..7 (_BLOCK - 1 of them)
_PARITY = np.array([bin(x).count("1") % 2 == 1 for x in range(_BLOCK)])


def _depths(tree: np.ndarray, m: int) -> np.ndarray:
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
    return int(sum(2 ** (int(d) + 1) for d in _depths(tree, m)[m:]) + 2)


def _owen_contexts(tree: np.ndarray, m: int) -> dict[int, np.ndarray]:
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


def _depth_codes(tree: np.ndarray, m: int) -> np.ndarray:
    """``(m - 1,)`` code ``depth % 7 + 1`` of every internal node of a scipy-style linkage ``tree``.

    Pair ``q`` of a block flips the block's base ordering at the nodes whose code shares an odd
    number of bits with ``q``.  Over a block, any two levels whose codes differ (any two ancestors
    less than 7 levels apart) are flipped together in half of the pairs and separately in the other
    half, so every token sees each combination of two context levels equally often.
    """
    return _depths(tree, m)[m:] % (_BLOCK - 1) + 1


def _pair_flips(base: np.ndarray, codes: np.ndarray, q: int) -> np.ndarray:
    """Node flips of pair ``q`` of a block: the block's ``base`` flips, inverted where ``codes & q`` has odd parity."""
    return base ^ _PARITY[codes & q]


def _walk(masked: np.ndarray, ids: np.ndarray, orders: list[list[int]]) -> np.ndarray:
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


def _split_half_reliability(walks: list[np.ndarray], column: int, keep: np.ndarray) -> float:
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


def _tree_order(tree: np.ndarray, m: int, flips: np.ndarray) -> list[int]:
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
