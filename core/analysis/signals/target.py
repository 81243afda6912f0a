"""Is the cue word the writer's own feeling, or about something or someone else?

Read from spaCy's dependency parse of the text (one pass shared with ``neg_parse``,
:func:`parse_signals`). Column ``cue_target``, a score in [0, 1]:

- 0.6: the cue word describes a thing, not the writer: an adjective modifying a noun ("a scary
  movie", "sad news"), or the cue is a noun that is an object or a prepositional object ("a story
  about fear").
- 0.5: the feeling belongs to another subject: the cue's clause has a subject other than the writer
  ("she feels sad", "it was scary", "people are angry").
- 0.3: a comparison or figure of speech: the cue sits under "like" or "as" ("feel like a scared child").
- 0: otherwise (the writer's own feeling: "i feel sad", "feeling sad today").

The checks run in the order figurative, thing, subject; the first that applies gives the score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.analysis.signals.lexicon import find_cue, tokens
from core.analysis.signals.negation import _after, _parse_negated, join_split_contractions, load_parser, rule_score

WRITER = frozenset({"i", "im", "me", "we", "myself", "ive", "id", "ill", "i'm", "i've", "i'd", "i'll"})
TARGET_SCORES = {"thing": 0.6, "other_subject": 0.5, "figurative": 0.3}
CLIMB_DEPS = frozenset({"acomp", "xcomp", "advmod", "oprd", "attr", "conj", "ccomp", "amod", "npadvmod", "dep"})


def _subject(verb):
    for child in verb.children:
        if child.dep_ in ("nsubj", "nsubjpass", "expl"):
            return child
    return None


def target_score(token) -> float:
    """``cue_target`` of one cue token (module docstring)."""
    if any(a.lower_ in ("like", "as") and a.dep_ == "prep" for a in list(token.ancestors)[:4]):
        return TARGET_SCORES["figurative"]
    if token.dep_ in ("amod", "compound") and token.head.pos_ in ("NOUN", "PROPN") and token.head.lower_ not in WRITER:
        return TARGET_SCORES["thing"]
    if token.pos_ == "NOUN" and token.dep_ in ("dobj", "pobj"):
        return TARGET_SCORES["thing"]
    node = token
    for _ in range(6):
        subj = _subject(node) if node.pos_ in ("VERB", "AUX") else None
        if subj is not None:
            return 0.0 if subj.lower_ in WRITER else TARGET_SCORES["other_subject"]
        if node.head is node or (node.dep_ not in CLIMB_DEPS and node.dep_ != "prep" and node.dep_ != "pobj"):
            break
        node = node.head
    return 0.0


def parse_signals(texts: Sequence[str], labels: Sequence[str], *, nlp=None, batch_size: int = 256) -> dict:
    """``neg_parse`` (:mod:`core.analysis.signals.negation`) and ``cue_target`` from one spaCy pass."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    nlp = nlp if nlp is not None else load_parser()
    neg = np.zeros(len(texts), dtype=np.float32)
    target = np.zeros(len(texts), dtype=np.float32)
    joined = [join_split_contractions(t.lower()) for t in texts]
    for r, doc in enumerate(nlp.pipe(joined, batch_size=batch_size)):
        text, label = joined[r], labels[r]
        cue = find_cue(text, label)
        if cue is None:
            continue
        span = doc.char_span(cue.start, cue.start + len(cue.word), alignment_mode="expand")
        if span is None or len(span) == 0:
            neg[r] = rule_score(text, label)
            continue
        words = [m.group() for m in tokens(text)]
        neg[r] = max(_parse_negated(span[0]), _after(words, cue.index, label))
        target[r] = target_score(span[0])
    return {"neg_parse": neg, "cue_target": target}
