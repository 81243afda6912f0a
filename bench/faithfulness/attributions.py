"""Word attributions of one text by the methods :mod:`bench.faithfulness.faithfulness` compares, on one shared word
list.

Every method returns ``(W,)`` values toward the explained class for the words of :func:`text_words`
(the product's words: :func:`core.explanation.words.group_words` over the tokenizer's pieces); piece
values are summed to words, as the product does.

* ``ours``: :class:`core.explanation.explain.TokenShapExplainer` at its default budget (cache cleared);
* ``reference``: shap's PartitionExplainer at a large budget (:func:`bench.speed.explain.large_budget_reference`);
* ``integrated_gradients`` / ``gradient_x_input``: captum's ``LayerIntegratedGradients`` (50 steps,
  baseline: every non-special piece set to ``[PAD]``) and ``LayerGradientXActivation`` on the input
  embeddings, toward the class's probability, summed over the embedding dimension;
* ``lime``: the ``lime`` package's ``LimeTextExplainer`` (words deleted, ``bow=True``: the occurrences of
  a word share one weight) with ``num_samples`` perturbed texts;
* ``random``: a seeded random value per word.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.explanation.words import Word, group_words


@dataclass(frozen=True)
class TextWords:
    """The ids of a text (with special tokens), which positions are special, and its words (with pieces)."""

    ids: np.ndarray
    special: np.ndarray
    words: list[Word]

    @property
    def spans(self) -> list[tuple[int, int]]:
        return [(w.start, w.end) for w in self.words]

    def to_words(self, piece_values: np.ndarray) -> np.ndarray:
        """``(W,)`` sums of ``(T,)`` non-special piece values over each word's pieces."""
        piece_values = np.asarray(piece_values, dtype=float)
        return np.array([piece_values[list(w.pieces)].sum() for w in self.words])


def text_words(tokenizer: Any, text: str) -> TextWords:
    """The product's words of ``text`` that hold at least one piece."""
    enc = tokenizer(text, return_offsets_mapping=True)
    ids = np.asarray(enc["input_ids"], dtype=np.int64)
    special = np.asarray(tokenizer.get_special_tokens_mask(ids.tolist(), already_has_special_tokens=True), dtype=bool)
    offsets = [tuple(map(int, o)) for o, s in zip(enc["offset_mapping"], special, strict=True) if not s]
    return TextWords(ids, special, [w for w in group_words(text, offsets) if w.pieces])


def judge_probs(model: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    """``(N, K)`` fp32 PyTorch probabilities of ``texts`` in one padded forward pass."""
    import torch

    enc = tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        return torch.softmax(model(**enc).logits, dim=-1).double().numpy()


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    """``(fn(*args, **kwargs), wall seconds)``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


class Methods:
    """The compared methods on one model (``model``: fp32 PyTorch, ``explainer``: the product's on the served copy)."""

    def __init__(self, model: Any, tokenizer: Any, labels: list[str], explainer: Any, *, ref_max_evals: int = 6000,
                 lime_samples: int = 1000, ig_steps: int = 50) -> None:
        from captum.attr import LayerGradientXActivation, LayerIntegratedGradients
        from lime.lime_text import LimeTextExplainer

        self.model, self.tokenizer, self.labels, self.explainer = model, tokenizer, labels, explainer
        self.ref_max_evals, self.lime_samples, self.ig_steps = ref_max_evals, lime_samples, ig_steps
        layer = model.get_input_embeddings()
        self._ig = LayerIntegratedGradients(self._forward, layer)
        self._gxi = LayerGradientXActivation(self._forward, layer)
        self._lime = LimeTextExplainer(class_names=labels, bow=True, random_state=0)

    def _forward(self, ids):
        import torch

        return torch.softmax(self.model(input_ids=ids).logits, dim=-1)

    def predict(self, texts: list[str]) -> np.ndarray:
        """fp32 PyTorch probabilities of ``texts`` in one padded forward pass (the judge of every method)."""
        return judge_probs(self.model, self.tokenizer, texts)

    def ours(self, tw: TextWords, text: str, target: int, *, seed_explainer: Any = None) -> np.ndarray:
        explainer = seed_explainer or self.explainer
        explainer.clear_cache()
        return tw.to_words(explainer.explain(text).values[:, target])

    def reference(self, tw: TextWords, text: str, target: int) -> np.ndarray:
        from bench.speed.explain import large_budget_reference

        values = large_budget_reference(self.model, self.tokenizer, self.labels, text, self.ref_max_evals)
        return tw.to_words(values[:, target])

    def _gradient(self, method: Any, tw: TextWords, target: int, **kwargs) -> np.ndarray:
        import torch

        ids = torch.as_tensor(tw.ids[None, :])
        attr = method.attribute(ids, target=target, **kwargs)
        return tw.to_words(attr.sum(-1)[0].detach().numpy()[~tw.special])

    def integrated_gradients(self, tw: TextWords, text: str, target: int) -> np.ndarray:
        import torch

        pad = self.tokenizer.pad_token_id or 0
        base = torch.as_tensor(np.where(tw.special, tw.ids, pad)[None, :])
        return self._gradient(self._ig, tw, target, baselines=base, n_steps=self.ig_steps, internal_batch_size=64)

    def gradient_x_input(self, tw: TextWords, text: str, target: int) -> np.ndarray:
        return self._gradient(self._gxi, tw, target)

    def lime(self, tw: TextWords, text: str, target: int) -> np.ndarray:
        exp = self._lime.explain_instance(text, self.predict, labels=(target,), num_features=len(tw.words) + 1,
                                          num_samples=self.lime_samples)
        weights = dict(exp.as_list(label=target))
        return np.array([weights.get(text[w.start:w.end], 0.0) for w in tw.words])

    def random(self, tw: TextWords, text: str, target: int) -> np.ndarray:
        return np.random.default_rng([1, zlib.crc32(text.encode("utf-8"))]).random(len(tw.words))
