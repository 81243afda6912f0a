"""Word-level explanations: token attributions grouped into the words a person reads.

A tokenizer splits "extraordinarily" into pieces ("extra", "##ord", "##ina", "##rily" for WordPiece,
"Ġextra", "ord", ... for byte-level BPE, "▁extra", ... for SentencePiece). Each piece carries the
character span it came from (``return_offsets_mapping``), so grouping needs no knowledge of the
piece markers: a word is a run of word characters (with inner apostrophes, ``don't``) or a run of
other non-space characters (``!!!``, ``😭😭``), and two such words that share a piece are one word.
A word's value is the sum of its pieces' values; shap's partition tree groups a word's pieces
together first, so this is the Owen value of the word's coalition.

The text is cut into :class:`Segment` s (words, and the gaps between them) that are slices of the
original string, so joining them gives the text back character for character, including emoji and
text the tokenizer maps to its unknown token (such a word has no piece and no value).

:class:`Explanation` is the one explanation type of the project: the pieces, the words and their
values toward every class, and one ranking (:meth:`Explanation.top_words`: largest absolute value
first, sign kept), the same one :meth:`core.explanation.explain.TokenAttribution.top_tokens` uses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LINE_BIN = 3  # the faithfulness line shows the 20% bin of :data:`core.explanation.faithfulness.BINS`

__all__ = ["Explanation", "Faithfulness", "Segment", "Word", "explanation_from_attribution", "group_words",
           "piece_offsets", "rank_by_magnitude", "segments"]

WORD_RE = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]+")


@dataclass(frozen=True)
class Word:
    """A span ``text[start:end]`` and the indices of the pieces inside it (empty when none, e.g. [UNK])."""

    start: int
    end: int
    pieces: tuple[int, ...]


@dataclass(frozen=True)
class Segment:
    """A slice of the text: a word (``index`` into the words) or the gap between words (``index`` None)."""

    text: str
    index: int | None


def rank_by_magnitude(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest ``|values|``, largest first (ties keep text order)."""
    values = np.asarray(values, dtype=float)
    return np.argsort(-np.abs(values), kind="stable")[: max(int(k), 0)]


def group_words(text: str, offsets: Sequence[tuple[int, int]]) -> list[Word]:
    """Group pieces (their character ``offsets`` in ``text``) into words, in text order.

    Parameters
    ----------
    text : the text the offsets point into.
    offsets : ``(start, end)`` per piece, as the tokenizer's ``offset_mapping`` gives them (special
        tokens already removed). Empty spans (``start == end``) join the word at their position.

    Returns
    -------
    Words covering every word-like run of ``text``; each piece belongs to exactly one word.
    """
    spans = [[m.start(), m.end()] for m in WORD_RE.finditer(text)]
    # A piece that straddles two words (e.g. a SentencePiece "s." piece) makes them one word.
    offsets = [_strip(text, s, e) for s, e in offsets]
    for start, end in offsets:
        if end <= start:
            continue
        hit = [i for i, (s, e) in enumerate(spans) if s < end and start < e]
        if not hit:  # a piece over whitespace only (rare): it becomes its own word
            spans.append([start, end])
            spans.sort()
            continue
        lo, hi = hit[0], hit[-1]
        if hi > lo:
            spans[lo:hi + 1] = [[spans[lo][0], spans[hi][1]]]
    pieces: list[list[int]] = [[] for _ in spans]
    starts = [s for s, _ in spans]
    for p, (start, end) in enumerate(offsets):
        mid = start if end > start else max(start - 1, 0)
        # the word whose span holds the piece's first character, else the nearest before it
        i = int(np.searchsorted(starts, mid, side="right")) - 1
        if i < 0 or (end > start and not (spans[i][0] <= start < spans[i][1])):
            i = min(range(len(spans)), key=lambda j: abs(spans[j][0] - start)) if spans else -1
        if i >= 0:
            pieces[i].append(p)
    return [Word(s, e, tuple(ps)) for (s, e), ps in zip(spans, pieces, strict=True)]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without leading or trailing whitespace (byte-level BPE pieces may hold the space)."""
    s, e = int(start), int(end)
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if e > s else (int(start), int(start))


def segments(text: str, spans: Sequence[tuple[int, int]]) -> list[Segment]:
    """Cut ``text`` into the given non-overlapping, sorted spans and the gaps between them.

    ``"".join(s.text for s in segments(text, spans)) == text`` always holds; overlapping or
    out-of-range spans are clipped so that no character is lost or repeated.
    """
    out: list[Segment] = []
    pos = 0
    for i, (start, end) in enumerate(spans):
        start, end = max(start, pos), min(max(end, start), len(text))
        if end <= start:
            continue
        if start > pos:
            out.append(Segment(text[pos:start], None))
        out.append(Segment(text[start:end], i))
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:], None))
    return out


def piece_offsets(tokenizer: Any, text: str, tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans in ``text`` of the explained pieces ``tokens`` (special tokens and [UNK] left out).

    The explainer drops every token the tokenizer calls special (its unknown token too) and may
    cut the text after ``len(tokens)`` pieces; this re-tokenises ``text`` the same way and checks
    that the pieces agree. Raises ``ValueError`` when they do not (a different tokenizer).
    """
    def pieces_of(part: str) -> tuple[list[str], list[tuple[int, int]]]:
        enc = tokenizer(part, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        special = tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
        keep = [i for i, s in enumerate(special) if not s][: len(tokens)]
        got = list(tokenizer.convert_ids_to_tokens([ids[i] for i in keep]))
        return got, [tuple(map(int, enc["offset_mapping"][i])) for i in keep]

    got, offsets = pieces_of(text)
    if got != list(tokens) and offsets:
        # the explainer cut the text after its last piece; the cut may tokenise its last word differently
        got, offsets = pieces_of(text[: offsets[-1][1]])
    if got != list(tokens):
        raise ValueError(f"the tokenizer's pieces {got[:8]} do not match the explained pieces {list(tokens)[:8]}")
    return offsets


@dataclass(frozen=True)
class Faithfulness:
    """Comprehensiveness and sufficiency of one explanation toward ``target``, as
    :mod:`core.explanation.faithfulness` computes and defines them (an :class:`Explanation` carries one).

    ``sizes``: words removed per bin; ``p_without`` / ``p_only``: p(target) per bin without the top
    words / with them alone; ``removed``: the top words of the 20% bin (the line's); ``random_comprehensiveness``:
    the same score for a random order; ``weak``: comprehensiveness − random's < ``margin``.
    """

    target: str
    p_text: float
    sizes: tuple[int, ...]
    p_without: tuple[float, ...]
    p_only: tuple[float, ...]
    comprehensiveness: float
    sufficiency: float
    random_comprehensiveness: float
    weak: bool
    margin: float
    removed: tuple[str, ...]

    def line(self) -> str:
        """One plain-text line, e.g. ``removing its top 2 words ("furious", "hate"): anger 97% → 41% · ...``."""
        k = len(self.removed)
        words = ", ".join(f'"{w}"' for w in self.removed)
        noun = "word" if k == 1 else f"{k} words"
        text = (f"removing its top {noun} ({words}): {self.target} {self.p_text:.0%} → {self.p_without[LINE_BIN]:.0%}"
                f" · comprehensiveness {self.comprehensiveness:.2f} (random words {self.random_comprehensiveness:.2f})"
                f" · sufficiency {self.sufficiency:.2f}")
        return text + (" · weak: hardly better than removing random words" if self.weak else "")

    def as_dict(self) -> dict:
        """JSON-ready fields and the line."""
        out = {f: getattr(self, f) for f in self.__dataclass_fields__}
        out.update(sizes=list(self.sizes), p_without=list(self.p_without), p_only=list(self.p_only),
                   removed=list(self.removed), line=self.line())
        return out


@dataclass(frozen=True)
class Explanation:
    """SHAP attributions of one text toward one ``target`` class, as pieces and as words.

    Attributes
    ----------
    text : the explained text (cleaned; the offsets point into it).
    target, predicted : the explained class and the predicted one.
    labels : class names, the column order of ``all_values`` and ``word_values``.
    tokens : the explained word pieces as the tokenizer writes them; ``offsets`` their character spans.
    all_values : ``(T, K)`` piece attributions on probabilities toward every class.
    words : the words (:class:`Word`) in text order; ``word_values`` ``(W, K)`` the sums of their pieces.
    base_value : the target's probability with every piece masked.
    probs : ``{label: probability}`` of the (possibly truncated) text.
    truncated : only the first pieces were explained. notes: messages for people. seconds: wall time.
    faithfulness : comprehensiveness and sufficiency (:mod:`core.explanation.faithfulness`), once scored.
    """

    text: str
    target: str
    predicted: str
    labels: list[str]
    tokens: list[str]
    offsets: list[tuple[int, int]]
    all_values: np.ndarray
    words: list[Word]
    word_values: np.ndarray
    base_value: float
    probs: dict[str, float]
    truncated: bool = False
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    faithfulness: Faithfulness | None = None

    @property
    def _k(self) -> int:
        return self.labels.index(self.target)

    @property
    def values(self) -> np.ndarray:
        """``(T,)`` piece attributions toward ``target``."""
        return self.all_values[:, self._k]

    def word_text(self, i: int) -> str:
        """The text of word ``i``, exactly as typed."""
        return self.text[self.words[i].start:self.words[i].end]

    def values_toward(self, label: str, *, pieces: bool = False) -> np.ndarray:
        """Attributions toward ``label``: ``(W,)`` per word, or ``(T,)`` per piece."""
        if label not in self.labels:
            raise KeyError(f"unknown label {label!r}; labels are {self.labels}")
        k = self.labels.index(label)
        return (self.all_values if pieces else self.word_values)[:, k]

    def explained_words(self) -> list[int]:
        """Indices of the words that hold at least one explained piece."""
        return [i for i, w in enumerate(self.words) if w.pieces]

    def top_words(self, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` explained words with the largest absolute value toward ``target``, largest first, sign kept."""
        idx = self.explained_words()
        vals = self.word_values[idx, self._k]
        return [(self.word_text(idx[i]), float(vals[i])) for i in rank_by_magnitude(vals, k)]

    def top_tokens(self, k: int = 10) -> list[tuple[str, float]]:
        """The same ranking over pieces (as :meth:`core.explanation.explain.TokenAttribution.top_tokens`)."""
        return [(self.tokens[i], float(self.values[i])) for i in rank_by_magnitude(self.values, k)]

    def segments(self, *, pieces: bool = False) -> list[tuple[str, float | None]]:
        """The whole text as ``(slice, value toward target or None)``; the slices join to ``text``.

        Words (or, with ``pieces=True``, single pieces) carry their value; gaps and words the
        explainer did not see (unknown-token text, text after a cut) carry None.
        """
        if pieces:
            spans, vals, has = self.offsets, self.values, [True] * len(self.offsets)
        else:
            spans = [(w.start, w.end) for w in self.words]
            vals, has = self.word_values[:, self._k], [bool(w.pieces) for w in self.words]
        return [(s.text, float(vals[s.index]) if s.index is not None and has[s.index] else None)
                for s in segments(self.text, spans)]


def explanation_from_attribution(att: Any, tokenizer: Any, *, target: str | None = None,
                                 notes: Sequence[str] = ()) -> Explanation:
    """Build the :class:`Explanation` of a :class:`core.explanation.explain.TokenAttribution` toward ``target``.

    ``target`` defaults to the predicted class. Raises ``KeyError`` for an unknown ``target``.
    """
    labels = list(att.labels)
    probs = {name: float(v) for name, v in zip(labels, att.probs, strict=True)}
    predicted = max(probs, key=probs.get)
    target = target or predicted
    if target not in labels:
        raise KeyError(f"unknown label {target!r}; labels are {labels}")
    offsets = piece_offsets(tokenizer, att.text, att.tokens)
    words = group_words(att.text, offsets)
    values = np.asarray(att.values, dtype=float).reshape(len(att.tokens), len(labels))
    word_values = np.zeros((len(words), len(labels)))
    for i, w in enumerate(words):
        if w.pieces:
            word_values[i] = values[list(w.pieces)].sum(axis=0)
    k = labels.index(target)
    return Explanation(att.text, target, predicted, labels, list(att.tokens), offsets, values, words, word_values,
                       float(att.base_values[k]), probs, bool(att.truncated), list(notes), float(att.seconds))
