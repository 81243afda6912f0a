"""Is the given label's cue word negated, overturned by a contrast, or only wished for?

Two scopes, each a score in [0, 1] (higher = the cue word's emotion is less likely to be the
writer's, so the label made from it is more suspect):

- :func:`rule_scores` (column ``neg_rule``), on words alone. Within the cue's clause (the words
  before it back to a clause boundary: ``but``, ``and``, ``because``, ``when``, ...; punctuation; at
  most :data:`WINDOW` words):
  a negator (not, no, never, n't forms, without, hardly, nothing, no longer) gives 1.0, or 0.8 when it
  only softens ("not very confident"); ``used to`` gives 0.7; a wish or modal (want to, wish, hope,
  should, trying to, pretend) gives 0.4. After the cue, a contrast word (but, though, although,
  however, yet, now) followed by another class's word gives 0.5, by none 0.3; ``anymore`` gives 1.0.
- ``neg_parse``: the same, with negation read from spaCy's dependency parse
  (:func:`core.analysis.signals.parse.parse_scores`, one pass shared with ``cue_target``).

Also :func:`any_negator` (column ``neg_any``): 1 when the text has any negator at all, the bare
baseline of issue 29.

>>> rule_scores(["i didnt feel humiliated", "i feel humiliated"], ["sadness", "sadness"]).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.analysis.signals.lexicon import cue_params, find_cue, tokens, word_class
from core.analysis.signals.registry import SignalFamily, digest, register

WINDOW = 6
NEGATORS = frozenset({
    "not", "no", "never", "nt", "n't", "without", "nothing", "hardly", "barely", "neither", "nor", "cannot", "nobody",
    "dont", "didnt", "doesnt", "wasnt", "isnt", "arent", "werent", "cant", "couldnt", "wouldnt", "shouldnt", "wont",
    "havent", "hasnt", "hadnt", "aint", "don't", "didn't", "doesn't", "wasn't", "isn't", "aren't", "weren't", "can't",
    "couldn't", "wouldn't", "shouldn't", "won't", "haven't", "hasn't", "hadn't", "ain't", "stopped", "stop",
})
#: Split contractions the data writes as "don t": a lone "t" after one of these is a negator.
NT_STEMS = frozenset({"don", "didn", "doesn", "wasn", "isn", "aren", "weren", "can", "couldn", "wouldn", "shouldn",
                      "won", "haven", "hasn", "hadn", "ain"})
SOFTENERS = frozenset({"very", "so", "too", "that", "really", "overly", "exactly", "quite", "all", "particularly"})
BOUNDARIES = frozenset({"but", "and", "because", "cause", "cuz", "when", "while", "since", "though", "although",
                        "however", "yet", "if", "which", "who", "whereas", "until", "or"})
CONTRASTS = frozenset({"but", "though", "although", "however", "yet", "now", "instead", "whereas"})
WISHES = frozenset({"want", "wanted", "wanna", "wish", "wished", "hope", "hoping", "hoped", "should", "trying",
                    "try", "tried", "pretend", "pretending", "supposed", "would", "expect", "expected", "need"})
SCORES = {"negated": 1.0, "softened": 0.8, "used_to": 0.7, "contrast_other": 0.5, "wish": 0.4, "contrast": 0.3}


def is_negator(words: Sequence[str], i: int) -> bool:
    """Whether ``words[i]`` negates (a lone "t" counts after "don", "didn", ...)."""
    w = words[i]
    return w in NEGATORS or (w == "t" and i > 0 and words[i - 1] in NT_STEMS)


def _clause_start(text: str, toks, i: int) -> int:
    """Index of the first word of the cue's clause (at most WINDOW words back)."""
    j = i
    while j > 0 and i - j < WINDOW:
        prev = toks[j - 1]
        gap = text[prev.end():toks[j].start()]
        if prev.group() in BOUNDARIES or any(c in gap for c in ",.;:!?"):
            break
        j -= 1
    return j


def _stronger(best: tuple[str | None, str], kind: str, marker: str) -> tuple[str | None, str]:
    """``(kind, marker)`` when its score beats ``best``'s (the first of equal scores is kept)."""
    return (kind, marker) if best[0] is None or SCORES[kind] > SCORES[best[0]] else best


def _before_reason(words: list[str], lo: int, i: int) -> tuple[str | None, str]:
    """``(kind, marker word)`` of what precedes the cue in its clause (kind ``None`` when nothing does)."""
    best: tuple[str | None, str] = (None, "")
    for j in range(lo, i):
        if is_negator(words, j):
            soft = j + 1 < i and words[j + 1] in SOFTENERS
            marker = f"{words[j - 1]}'t" if words[j] == "t" and j > 0 else words[j]
            best = _stronger(best, "softened" if soft else "negated", marker)
        elif words[j] == "longer" and j > 0 and words[j - 1] == "no":
            best = _stronger(best, "negated", "no longer")
        elif words[j] == "used" and j + 1 < len(words) and words[j + 1] == "to":
            best = _stronger(best, "used_to", "used to")
        elif words[j] in WISHES:
            best = _stronger(best, "wish", words[j])
    return best


def after_reason(words: list[str], i: int, label: str) -> tuple[str | None, str]:
    """``(kind, marker word)`` of what follows the cue: a denial ("anymore") or a contrast that brings another
    emotion (``contrast_other``) or none (``contrast``); kind ``None`` when neither."""
    classes = word_class()
    if "anymore" in words[i + 1:i + 4]:
        return "negated", "anymore"
    for j in range(i + 1, len(words)):
        if words[j] in CONTRASTS:
            other = any(classes.get(w) not in (None, label) for w in words[j + 1:])
            return ("contrast_other" if other else "contrast"), words[j]
    return None, ""


def after_score(words: list[str], i: int, label: str) -> float:
    """Score of what follows the cue: a denial ("anymore") or a contrast that brings another emotion."""
    kind, _ = after_reason(words, i, label)
    return SCORES[kind] if kind else 0.0


@dataclass(frozen=True)
class RuleReason:
    """Why the word rules suspect a row: its cue word, the rule's kind (a key of :data:`SCORES`, ``None``
    when no rule applies) and the word that triggered it ("not", "but", "anymore", "used to")."""

    cue: str | None
    kind: str | None
    marker: str

    @property
    def score(self) -> float:
        """The row's ``neg_rule`` score."""
        return SCORES[self.kind] if self.kind else 0.0


def rule_reason(text: str, label: str) -> RuleReason:
    """The cue word of ``label`` in ``text`` and the strongest word rule around it (module docstring).

    >>> rule_reason("i dont feel angry at all", "anger")
    RuleReason(cue='angry', kind='negated', marker='dont')
    """
    cue = find_cue(text, label)
    if cue is None:
        return RuleReason(None, None, "")
    toks = tokens(text)
    words = [m.group() for m in toks]
    lo = _clause_start(text.lower(), toks, cue.index)
    before = _before_reason(words, lo, cue.index)
    after = after_reason(words, cue.index, label)
    if after[0] is not None and (before[0] is None or SCORES[after[0]] > SCORES[before[0]]):
        return RuleReason(cue.word, *after)
    return RuleReason(cue.word, *before)


def rule_score(text: str, label: str) -> float:
    """:func:`rule_scores` for one text."""
    return rule_reason(text, label).score


def rule_scores(texts: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """(N,) word-rule scope score of each row's cue word for its given label (module docstring)."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    return np.array([rule_score(t, y) for t, y in zip(texts, labels, strict=True)], dtype=np.float32)


def any_negator(texts: Sequence[str]) -> np.ndarray:
    """(N,) 1.0 where the text holds any negator word, else 0.0."""
    out = []
    for t in texts:
        words = [m.group() for m in tokens(t)]
        out.append(float(any(is_negator(words, i) for i in range(len(words)))))
    return np.array(out, dtype=np.float32)


SPLIT_NT = re.compile(r"\b(" + "|".join(sorted(NT_STEMS)) + r")\s+t\b")


def join_split_contractions(text: str) -> str:
    """"don t" -> "don't", so the parser sees a negation (the data often writes contractions split).

    >>> join_split_contractions("i don t feel it")
    "i don't feel it"
    """
    return SPLIT_NT.sub(r"\1't", text)


def rule_params() -> dict:
    """What the word rules depend on: the window, the scores and every word list, hashed (for cache keys)."""
    lists = {"negators": NEGATORS, "nt_stems": NT_STEMS, "softeners": SOFTENERS, "boundaries": BOUNDARIES,
             "contrasts": CONTRASTS, "wishes": WISHES}
    return {"window": WINDOW, "scores": SCORES, **{k: digest(v) for k, v in lists.items()}, "cue": cue_params()}


def _compute(ctx) -> dict[str, np.ndarray]:
    return {"neg_rule": rule_scores(ctx.texts, ctx.labels), "neg_parse": ctx.negation_parsed(),
            "neg_any": any_negator(ctx.texts)}


FAMILY = register(SignalFamily(
    name="negation", title="negated emotion word", compute=_compute, params=rule_params, inputs=("parse",),
    optional=("parser",), columns={"neg_parse": "negated emotion word (parse)",
                                   "neg_rule": "negated emotion word (rule)", "neg_any": "any negation word"}))
