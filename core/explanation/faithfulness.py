"""Faithfulness of a word explanation: comprehensiveness and sufficiency (ERASER, DeYoung et al. 2020).

For an explained class ŷ and the explained words ranked by their value toward ŷ (most positive
first; a word that pushes away from ŷ is no evidence for it), and for each ERASER bin of 1, 5, 10,
20 and 50% of the words (at least one word each):

* comprehensiveness = mean over bins of p(ŷ | text) − p(ŷ | text without the top-ranked words):
  high when the words the explanation points at are the ones the model needs;
* sufficiency = mean over bins of p(ŷ | text) − p(ŷ | the top-ranked words alone): low (near 0,
  or negative) when those words alone keep the prediction.

Words are removed by deleting them from the text (words the explainer did not see, e.g. text after
a cut, stay). The same bins are scored for :data:`RANDOM_ORDERS` random orders of the words (seeded
by the text), the random-words baseline. Every edited text goes through the model in one batched
forward pass: the unedited text, up to five texts per score and five per random order (the baseline
needs comprehensiveness only), bins of equal size sharing a text.

**The "weak" mark.** An explanation is weak when its comprehensiveness beats the random-words
baseline by less than :data:`WEAK_MARGIN`, what the baseline's own sampling noise reaches: the 95th
percentile of the difference between two independent baselines of :data:`RANDOM_ORDERS` orders each,
0.274 on 120 texts of the *train* split of emotion-minilm (seed 0; ``python bench/faithfulness/faithfulness.py
--fit-margin --margin-texts 120``, ``bench/faithfulness/results/faithfulness_margin.json``). The validation texts
the benchmark reports on played no part.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from core.explanation.words import LINE_BIN, Explanation, Faithfulness

__all__ = ["BINS", "LINE_BIN", "RANDOM_ORDERS", "WEAK_MARGIN", "Faithfulness", "bin_sizes", "edited_texts",
           "faithfulness", "one_pass", "rank_toward", "score_orders", "with_faithfulness"]

BINS: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20, 0.50)
RANDOM_ORDERS = 4  # random orders averaged for the random-words baseline
WEAK_MARGIN = 0.27  # measured on train texts (see the module docstring); never on the reported texts

Predict = Callable[[list[str]], np.ndarray]
"""``predict(texts) -> (N, K)`` probabilities, columns in label order, one batched call."""


def bin_sizes(n_words: int, bins: Sequence[float] = BINS) -> list[int]:
    """Words removed per bin: ``floor(fraction * n_words)``, at least 1 (and at most ``n_words``)."""
    if n_words < 1:
        raise ValueError("a faithfulness score needs at least one explained word")
    return [min(n_words, max(1, int(f * n_words + 1e-9))) for f in bins]


def rank_toward(values: np.ndarray) -> np.ndarray:
    """Word indices by value toward the explained class, most positive first (ties keep text order)."""
    return np.argsort(-np.asarray(values, dtype=float), kind="stable")


def _join(parts: list[str]) -> str:
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def edited_texts(text: str, spans: Sequence[tuple[int, int]], removed: Sequence[int]) -> tuple[str, str]:
    """``(text without the words removed, the words removed alone in text order)``.

    ``spans``: ``(start, end)`` of every word that may be removed, sorted and non-overlapping;
    ``removed``: indices into ``spans``. Whitespace runs are collapsed to one space.
    """
    gone = sorted(set(int(i) for i in removed))
    without, pos = [], 0
    for i in gone:
        start, end = spans[i]
        without.append(text[pos:start])
        pos = end
    without.append(text[pos:])
    alone = " ".join(text[spans[i][0]:spans[i][1]] for i in gone)
    return _join(without), _join([alone])


def score_orders(text: str, spans: Sequence[tuple[int, int]], orders: Sequence[Sequence[int]], predict: Predict,
                 target: int, *, bins: Sequence[float] = BINS,
                 only_orders: int | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """p(target | text) and, per order, ``(B,)`` p(target) without / with only its top words, in ONE ``predict`` call.

    Returns ``(p_text, p_without (O, B), p_only (O, B))`` for ``O`` orders and ``B`` bins. With
    ``only_orders=k`` the texts of the top words alone are built for the first ``k`` orders only (the
    others' ``p_only`` is NaN): the random baseline needs comprehensiveness alone.
    """
    sizes = bin_sizes(len(spans), bins)
    rows: dict[str, int] = {text: 0}
    index = np.zeros((len(orders), len(sizes), 2), dtype=int)
    skip = np.zeros((len(orders), len(sizes), 2), dtype=bool)
    for o, order in enumerate(orders):
        for b, k in enumerate(sizes):
            for j, edited in enumerate(edited_texts(text, spans, list(order)[:k])):
                if j == 1 and only_orders is not None and o >= only_orders:
                    skip[o, b, j] = True
                    continue
                index[o, b, j] = rows.setdefault(edited, len(rows))
    probs = np.asarray(predict(list(rows)), dtype=float)[:, target]
    picked = np.where(skip, np.nan, probs[index])
    return float(probs[0]), picked[..., 0], picked[..., 1]


def faithfulness(text: str, spans: Sequence[tuple[int, int]], values: np.ndarray, predict: Predict, target: int,
                 labels: Sequence[str], *, seed: int = 0, margin: float = WEAK_MARGIN,
                 random_orders: int = RANDOM_ORDERS) -> Faithfulness:
    """Score word ``values`` (toward ``labels[target]``, one per span) of ``text`` in one batched ``predict`` call.

    The ``random_orders`` random orders are drawn from ``seed`` and a hash of ``text`` (one text always gets
    the same); ``margin`` must be the one fitted for that many orders. Raises ``ValueError`` when there is no word.
    """
    values = np.asarray(values, dtype=float)
    if len(values) != len(spans):
        raise ValueError(f"{len(values)} values for {len(spans)} words")
    order = rank_toward(values)
    rng = np.random.default_rng([seed, zlib.crc32(text.encode("utf-8"))])
    randoms = [rng.permutation(len(spans)) for _ in range(random_orders)]
    p_text, without, only = score_orders(text, spans, [order, *randoms], predict, target, only_orders=1)
    comp, suff = float(np.mean(p_text - without[0])), float(np.mean(p_text - only[0]))
    rand = float(np.mean(p_text - without[1:]))
    k = bin_sizes(len(spans))[LINE_BIN]
    removed = tuple(text[spans[i][0]:spans[i][1]] for i in order[:k])
    return Faithfulness(labels[target], p_text, tuple(bin_sizes(len(spans))), tuple(map(float, without[0])),
                        tuple(map(float, only[0])), comp, suff, rand, bool(comp - rand < margin), float(margin),
                        removed)


def with_faithfulness(exp: Explanation, predict: Predict, *, seed: int = 0, margin: float = WEAK_MARGIN,
                      random_orders: int = RANDOM_ORDERS) -> Explanation:
    """``exp`` with its ``faithfulness`` set: its explained words scored toward its target (``margin`` and
    ``random_orders`` as in :func:`faithfulness`).

    An explanation without explained words is returned unchanged.
    """
    idx = exp.explained_words()
    if not idx:
        return exp
    spans = [(exp.words[i].start, exp.words[i].end) for i in idx]
    k = exp.labels.index(exp.target)
    score = faithfulness(exp.text, spans, exp.word_values[idx, k], predict, k, exp.labels, seed=seed, margin=margin,
                         random_orders=random_orders)
    return replace(exp, faithfulness=score)



def one_pass(classifier) -> Predict:
    """A :data:`Predict` on a :class:`core.classifier.model.Classifier`: every text in one padded forward pass."""
    def predict(texts: list[str]) -> np.ndarray:
        return classifier.predict(texts, batch_size=max(1, len(texts)), overhead_tokens=10**9).probs

    return predict
