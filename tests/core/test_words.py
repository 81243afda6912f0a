"""Word grouping: pieces to words for WordPiece, byte-level BPE and SentencePiece tokenizers built in the test."""

from __future__ import annotations

import numpy as np
import pytest

from core.explanation.words import (
    Word,
    explanation_from_attribution,
    group_words,
    piece_offsets,
    rank_by_magnitude,
    segments,
)
from tests.core.tiny_tokenizers import KINDS, LABELS, build_model, build_tokenizer

TEXTS = [
    "I feel extraordinarily happy today",
    "don't worry, be happy!!! lol 😭😂",
    "  spaces   before and after  ",
    "unknown ☃ snowman and 🦄 unicorn, caf\u00e9 na\u00efve",
    "<b>not bold</b> &amp; tabs\tand\nnewlines",
]


@pytest.fixture(scope="module", params=KINDS)
def kind_tokenizer(request):
    return request.param, build_tokenizer(request.param)


def _explained(tokenizer, text):
    enc = tokenizer(text)
    ids = enc["input_ids"]
    special = tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
    return tokenizer.convert_ids_to_tokens([i for i, s in zip(ids, special, strict=True) if not s])


@pytest.mark.parametrize("text", TEXTS)
def test_grouping_round_trips_every_character(kind_tokenizer, text):
    kind, tok = kind_tokenizer
    tokens = _explained(tok, text)
    offsets = piece_offsets(tok, text, tokens)
    words = group_words(text, offsets)
    parts = segments(text, [(w.start, w.end) for w in words])
    assert "".join(p.text for p in parts) == text
    # every piece lands in exactly one word, and inside it (after trimming spaces)
    owned = sorted(p for w in words for p in w.pieces)
    assert owned == list(range(len(tokens))), kind
    for w in words:
        for p in w.pieces:
            s, e = offsets[p]
            assert text[s:e].strip() == "" or (w.start <= s + (len(text[s:e]) - len(text[s:e].lstrip())) < w.end)
    # words do not overlap and hold no spaces at their ends
    for a, b in zip(words, words[1:], strict=False):
        assert a.end <= b.start
    assert all(text[w.start:w.end] == text[w.start:w.end].strip() for w in words)


def test_extraordinarily_is_one_word_in_every_kind(kind_tokenizer):
    kind, tok = kind_tokenizer
    text = "I feel extraordinarily happy"
    tokens = _explained(tok, text)
    words = group_words(text, piece_offsets(tok, text, tokens))
    texts = [text[w.start:w.end] for w in words]
    assert texts == ["I", "feel", "extraordinarily", "happy"], kind
    long_word = words[2]
    assert len(long_word.pieces) >= 2 or kind == "bytelevel_bpe"  # BPE may have learned the whole word


def test_unknown_text_is_a_word_without_pieces():
    tok = build_tokenizer("wordpiece")
    text = "happy ☃ day"
    tokens = _explained(tok, text)
    assert "[UNK]" not in tokens  # the explainer drops the unknown token like every special one
    words = group_words(text, piece_offsets(tok, text, tokens))
    snow = [w for w in words if text[w.start:w.end] == "☃"]
    assert snow and snow[0].pieces == ()


def test_a_piece_across_two_words_joins_them():
    words = group_words("ab.cd", [(0, 3), (3, 5)])  # a piece "ab." spans the word "ab" and the "."
    assert [(w.start, w.end) for w in words] == [(0, 3), (3, 5)]
    assert words[0].pieces == (0,) and words[1].pieces == (1,)
    assert group_words("ab.cd", [(1, 4)]) == [Word(0, 5, (0,))]


def test_segments_clip_overlaps_and_keep_gaps():
    text = "hello world"
    parts = segments(text, [(0, 5), (3, 8), (6, 11)])
    assert "".join(p.text for p in parts) == text
    assert [p.index for p in parts] == [0, 1, 2]  # (3, 8) is clipped to (5, 8), (6, 11) to (8, 11)
    assert parts[1].text == " wo" and parts[2].text == "rld"


def test_rank_by_magnitude_keeps_sign_and_order():
    vals = np.array([0.1, -0.5, 0.5, 0.0])
    assert rank_by_magnitude(vals, 3).tolist() == [1, 2, 0]
    assert rank_by_magnitude(vals, 0).tolist() == []


def test_piece_offsets_refuse_a_foreign_tokenizer():
    with pytest.raises(ValueError, match="do not match"):
        piece_offsets(build_tokenizer("wordpiece"), "happy day", ["Ġhappy", "Ġday"])


@pytest.mark.parametrize("kind", KINDS)
def test_word_explanation_from_the_real_explainer(kind):
    """A tiny model of each tokenizer kind: word values are the sums of their pieces and add up to the prediction."""
    from core.explanation.explain import TokenShapExplainer

    tok = build_tokenizer(kind)
    model = build_model(tok)
    text = "i feel extraordinarily happy today 😭 don't"
    att = TokenShapExplainer(model, tok, LABELS, budget=10_000).explain(text)
    exp = explanation_from_attribution(att, tok, target="joy", notes=["n"])
    assert "".join(s for s, _ in exp.segments()) == text
    assert "".join(s for s, _ in exp.segments(pieces=True)) == text
    k = LABELS.index("joy")
    np.testing.assert_allclose(exp.word_values[:, k].sum(), exp.values.sum(), atol=1e-9)
    long = [i for i in range(len(exp.words)) if exp.word_text(i) == "extraordinarily"][0]
    np.testing.assert_allclose(exp.word_values[long], att.values[list(exp.words[long].pieces)].sum(axis=0))
    assert exp.target == "joy" and exp.notes == ["n"]
    assert exp.predicted == LABELS[int(np.argmax(att.probs))]
    # the word segments carry the word values; gaps carry None
    shown = dict((s, v) for s, v in exp.segments() if v is not None)
    assert shown["extraordinarily"] == pytest.approx(exp.word_values[long, k])
    top = exp.top_words(3)
    assert [abs(v) for _, v in top] == sorted((abs(v) for _, v in top), reverse=True)
    assert abs(top[0][1]) == pytest.approx(np.abs(exp.word_values[exp.explained_words(), k]).max())
    np.testing.assert_allclose(exp.values_toward("anger"), exp.word_values[:, LABELS.index("anger")])
    with pytest.raises(KeyError):
        exp.values_toward("boredom")
    with pytest.raises(KeyError):
        explanation_from_attribution(att, tok, target="boredom")


def test_a_truncated_explanation_keeps_the_whole_text():
    from core.explanation.explain import TokenShapExplainer

    tok = build_tokenizer("wordpiece")
    text = "i feel extraordinarily happy today and the weather is nice"
    att = TokenShapExplainer(build_model(tok), tok, LABELS, max_tokens=5, budget=10_000).explain(text)
    assert att.truncated and len(att.tokens) == 5
    exp = explanation_from_attribution(att, tok)
    assert "".join(s for s, _ in exp.segments()) == text
    seen = [s for s, v in exp.segments() if v is not None]
    assert seen[-1] == "extraordinarily" and "weather" not in seen  # cut inside a word: the word keeps its pieces
    assert sum(len(exp.words[i].pieces) for i in exp.explained_words()) == 5
