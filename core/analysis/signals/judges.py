"""Judges that never saw these labels: a sentence encoder against class descriptions, and a lexicon vote.

Zero-shot (:func:`zero_shot`): each class is described by a few first-person sentences written from
the audit guideline's class definitions (:data:`CLASS_DESCRIPTIONS`, not tuned on any row). A text's
similarity to a class is its mean cosine similarity to that class's sentences (all-MiniLM-L6-v2,
:mod:`core.analysis.signals.encoder`); ``p = softmax(similarity / TEMPERATURE)``, with the
temperature fixed by design (0.05, the scale of contrastive training of such encoders).
Columns: ``zs_not_given = 1 - p(given)``, ``zs_margin = best other similarity - given similarity``,
``zs_suggest`` (argmax).

Lexicon (:func:`lexicon_vote`): every word that is not negated in its clause votes for its classes:
1 for a word of :data:`core.analysis.signals.lexicon.CLASS_WORDS`, and 0.5 shared among the classes
of the NRC Emotion Lexicon (``nrclex``) where the word is not in our lists. ``p = (votes + 0.5) /
(total + 3)``; ``lex_not_given = 1 - p(given)``, ``lex_suggest`` (argmax of the votes; empty without votes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.analysis.signals.lexicon import nrc_lexicon, tokens, word_class
from core.analysis.signals.negation import BOUNDARIES, WINDOW, is_negator, rule_params
from core.analysis.signals.registry import SignalFamily, register
from core.analysis.signals.resources import nrc_identity

TEMPERATURE = 0.05
CLASS_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "sadness": ("i feel sad, unhappy and down", "i feel lonely, hurt and rejected", "i feel ashamed, guilty and stupid",
                "i feel disappointed and full of regret", "i feel hopeless and miserable about my life"),
    "joy": ("i feel happy and glad", "i feel calm, content and relaxed", "i feel confident, proud and productive",
            "i feel relieved and satisfied", "i feel cheerful, amused and excited about today"),
    "love": ("i feel love and affection for someone", "i feel tender and caring towards them",
             "i feel romantic and passionate", "i feel nostalgic and longing for someone i love",
             "i feel sympathetic and devoted to the people i care about"),
    "anger": ("i feel angry and furious", "i feel irritated and annoyed", "i feel frustrated and bitter",
              "i feel resentful and offended by what they did", "i feel rushed, impatient and fed up"),
    "fear": ("i feel afraid and scared", "i feel anxious and nervous", "i feel insecure and uncertain about myself",
             "i feel overwhelmed and pressured", "i feel shaky and worried about what will happen"),
    "surprise": ("i feel surprised and amazed", "i feel shocked and stunned", "i feel curious about something new",
                 "i am amazed by something unexpected", "i feel astonished, i did not see that coming"),
}
LEX_PRIOR, LEX_NRC_WEIGHT = 0.5, 0.5


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def class_similarity(embeddings: np.ndarray, class_names: Sequence[str], *, encoder=None) -> np.ndarray:
    """(N, K) mean cosine similarity of each unit-length embedding to each class's descriptions."""
    from core.analysis.signals.encoder import embed

    unknown = [c for c in class_names if c not in CLASS_DESCRIPTIONS]
    if unknown:
        raise ValueError(f"no class description for {unknown}; described: {sorted(CLASS_DESCRIPTIONS)}")
    cols = []
    for c in class_names:
        d = embed(CLASS_DESCRIPTIONS[c], encoder=encoder)
        cols.append((np.asarray(embeddings, dtype=np.float32) @ d.T).mean(axis=1))
    return np.stack(cols, axis=1)


def judge_scores(scores: np.ndarray, label_ids: np.ndarray, *, temperature: float | None = None) -> dict:
    """``not_given`` (1 - p(given)), ``margin`` (best other minus given) and ``suggest`` (argmax ids) of (N, K) scores.

    >>> out = judge_scores(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0]), temperature=0.1)
    >>> out["suggest"].tolist(), bool(out["not_given"][1] > out["not_given"][0])
    ([0, 1], True)
    """
    scores = np.asarray(scores, dtype=np.float64)
    label_ids = np.asarray(label_ids, dtype=np.int64)
    rows = np.arange(len(label_ids))
    p = _softmax(scores / temperature) if temperature else scores / scores.sum(axis=1, keepdims=True)
    others = scores.copy()
    others[rows, label_ids] = -np.inf
    return {"not_given": (1.0 - p[rows, label_ids]).astype(np.float32),
            "margin": (others.max(axis=1) - scores[rows, label_ids]).astype(np.float32),
            "suggest": scores.argmax(axis=1)}


def zero_shot(embeddings: np.ndarray, label_ids: np.ndarray, class_names: Sequence[str], *, encoder=None) -> dict:
    """The zero-shot judge's ``not_given``, ``margin`` and ``suggest`` (module docstring)."""
    sims = class_similarity(embeddings, class_names, encoder=encoder)
    return judge_scores(sims, label_ids, temperature=TEMPERATURE)


def _word_votes(words: list[str], class_index: dict[str, int], k: int) -> np.ndarray:
    ours, nrc = word_class(), nrc_lexicon()
    votes = np.zeros(k)
    for i, w in enumerate(words):
        lo = i
        while lo > 0 and i - lo < WINDOW and words[lo - 1] not in BOUNDARIES:
            lo -= 1
        if any(is_negator(words, j) for j in range(lo, i)):
            continue
        if w in ours and ours[w] in class_index:
            votes[class_index[ours[w]]] += 1.0
        elif nrc.get(w):
            emos = [e for e in nrc[w] if e in class_index]
            for e in emos:
                votes[class_index[e]] += LEX_NRC_WEIGHT / len(emos)
    return votes


def lexicon_vote(texts: Sequence[str], label_ids: np.ndarray, class_names: Sequence[str]) -> dict:
    """The lexicon judge's ``not_given`` and ``suggest`` (-1 without votes) (module docstring)."""
    k = len(class_names)
    index = {c: j for j, c in enumerate(class_names)}
    votes = np.stack([_word_votes([m.group() for m in tokens(t)], index, k) for t in texts]) if len(texts) \
        else np.zeros((0, k))
    p = (votes + LEX_PRIOR) / (votes.sum(axis=1, keepdims=True) + LEX_PRIOR * k)
    rows = np.arange(len(texts))
    suggest = np.where(votes.sum(axis=1) > 0, votes.argmax(axis=1), -1)
    return {"not_given": (1.0 - p[rows, np.asarray(label_ids, dtype=np.int64)]).astype(np.float32),
            "suggest": suggest}


def _lexicon(ctx) -> dict[str, np.ndarray]:
    out = lexicon_vote(ctx.texts, ctx.y, ctx.names)
    return {"lex_not_given": out["not_given"], "lex_suggest": out["suggest"]}


def _zero_shot(ctx) -> dict[str, np.ndarray]:
    out = zero_shot(ctx.embeddings(), ctx.y, ctx.names)
    return {"zs_not_given": out["not_given"], "zs_margin": out["margin"], "zs_suggest": out["suggest"]}


LEXICON = register(SignalFamily(
    name="lexicon", title="lexicon judge", compute=_lexicon, optional=("nrc",),
    params=lambda: {"prior": LEX_PRIOR, "nrc_weight": LEX_NRC_WEIGHT, "rules": rule_params(), "nrc": nrc_identity()},
    columns={"lex_not_given": "lexicon disagrees"}))
ZERO_SHOT = register(SignalFamily(
    name="zero_shot", title="zero-shot judge", compute=_zero_shot, inputs=("embeddings",),
    params=lambda: {"temperature": TEMPERATURE, "descriptions": CLASS_DESCRIPTIONS},
    columns={"zs_not_given": "sentence encoder disagrees"}))
