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

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.explanation.owen_values import ExplainBudget, exact_cost, exact_owen, sampled_owen

__all__ = ["ExplainBudget", "TokenAttribution", "TokenShapExplainer", "exact_cost"]


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
            values_all, base, n_evals = exact_owen(ids, special, tree, self._predict, self.tokenizer.mask_token_id)
        else:
            values_all, base, n_evals = sampled_owen(used, ids, special, tree, self._predict,
                                                     self.tokenizer.mask_token_id, self.budget)
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
