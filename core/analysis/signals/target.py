"""Is the cue word the writer's own feeling, or about something or someone else?

Read from spaCy's dependency parse of the text (one pass shared with ``neg_parse``,
:func:`core.analysis.signals.parse.parse_signals`). Column ``cue_target``, a score in [0, 1]:

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

import numpy as np

from core.analysis.signals.registry import SignalFamily, digest, register

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


def target_params() -> dict:
    """What :func:`target_score` depends on (for cache keys)."""
    return {"scores": TARGET_SCORES, "writer": digest(WRITER), "climb_deps": digest(CLIMB_DEPS)}


def _compute(ctx) -> dict[str, np.ndarray]:
    return {"cue_target": ctx.parsed()["cue_target"]}


FAMILY = register(SignalFamily(
    name="target", title="emotion word about something else", compute=_compute, params=target_params,
    inputs=("parse",), optional=("parser",), columns={"cue_target": "emotion word about something else"}))
