"""The what-if edits: each does what it says, is seeded, and leaves text alone where it cannot apply."""

from __future__ import annotations

import re

import pytest

from core.explanation.perturb import (
    CLASS_EMOJI,
    add_emoji,
    append,
    elongate,
    for_tokenizer,
    intensify,
    negate,
    perturbations,
    remove_span,
    typos,
    upper,
)
from tests.conftest import DISTILBERT, LABELS, needs_distilbert_tokenizer

TWEETS = [
    "i feel so happy today",
    "i am not sure what to do",
    "i didnt feel humiliated",
    "he was furious at me",
    "I Can't Believe It",
    "i feel extraordinarily grateful for my friends and family",
]


@pytest.mark.parametrize(("text", "expected"), [
    ("i feel happy", "i do not feel happy"),
    ("i am happy", "i am not happy"),
    ("she felt scared", "she did not feel scared"),
    ("i am not happy", "i am happy"),
    ("i never cry", "i cry"),
    ("i don't care", "i do care"),
    ("i didnt feel humiliated", "i did feel humiliated"),
    ("I CAN'T", "I CAN"),
    ("happy birthday", "happy birthday"),  # nothing to negate
    ("", ""),
])
def test_negate(text, expected):
    assert negate(text) == expected


def test_negate_twice_restores_added_not():
    for text in ("i am happy", "we were there"):
        assert negate(negate(text)) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("i feel sad", "i feel really sad"),
    ("it was a good day", "it was really a good day"),
    ("i feel so sad", "i feel so sad"),  # already intensified
    ("i am not sad", "i am not sad"),  # the next word is a negation
    ("sad day", "sad day"),  # no feeling word
])
def test_intensify(text, expected):
    assert intensify(text) == expected


def test_elongate_prefers_so_and_stretches_the_last_vowel():
    assert elongate("i feel so tired") == "i feel sooo tired"
    out = elongate("i feel tired", seed=3)
    assert out != "i feel tired"
    m = re.search(r"([aeiouy])\1\1", out)
    assert m is not None
    assert re.sub(r"([aeiouy])\1\1", r"\1", out) == "i feel tired"
    assert elongate("zzz 123 !!") == "zzz 123 !!"  # no vowel to stretch


@pytest.mark.parametrize("text", TWEETS)
def test_two_typos_change_two_words_or_one_twice(text):
    out = typos(text, seed=1)
    assert out != text
    before, after = text.split(), out.split()
    assert len(before) == len(after)  # typos stay inside words
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert 1 <= len(changed) <= 2
    for i in changed:
        assert abs(len(before[i]) - len(after[i])) <= 2


def test_typos_are_seeded():
    text = TWEETS[5]
    assert typos(text, seed=7) == typos(text, seed=7)
    assert len({typos(text, seed=s) for s in range(10)}) > 1
    assert typos("a an 12", seed=1) == "a an 12"  # no word of 3+ letters


def test_upper_and_appends():
    assert upper("i am ok :)") == "I AM OK :)"
    assert upper("123 !!") == "123 !!"
    assert append("so tired  ", suffix="!!!", sep="") == "so tired!!!  "
    assert append("so tired", suffix="lol") == "so tired lol"
    assert append("   ", suffix="lol") == "   "  # nothing to append to
    assert add_emoji("ugh", emoji="😡") == "ugh 😡"


def test_remove_span():
    assert remove_span("i feel very happy", 7, 11) == "i feel happy"
    assert remove_span("happy", 0, 5) == ""
    assert remove_span("i am sad", 5, 8) == "i am"
    assert remove_span("abc", 2, 9) == "abc"  # out of range: unchanged


def test_perturbation_list_has_one_emoji_per_known_label():
    names = [p.name for p in perturbations(LABELS)]
    assert [n for n in names if n.startswith("emoji")] == [f"emoji {CLASS_EMOJI[x]}" for x in LABELS]
    assert len(names) == len(set(names))
    assert not [p for p in perturbations(["LABEL_0", "LABEL_1"]) if p.name.startswith("emoji")]
    text = "i feel happy today"  # every edit applies to it
    for p in perturbations(LABELS):
        out = p.apply(text, seed=0)
        assert isinstance(out, str) and out != text, p.name
        assert p.apply(text, seed=0) == out  # same seed, same edit


@needs_distilbert_tokenizer
def test_for_tokenizer_drops_case_and_merges_unknown_emoji_for_an_uncased_tokenizer():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(DISTILBERT)

    def encode(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    edits, notes = for_tokenizer(perturbations(LABELS), encode)
    names = [p.name for p in edits]
    assert "upper case" not in names
    emoji_rows = [p for p in edits if p.name.startswith("emoji")]
    # the emoji this tokenizer cannot tell apart share one row named after all of them
    groups = {}
    for name in LABELS:
        groups.setdefault(tuple(encode("ok " + CLASS_EMOJI[name])), []).append(CLASS_EMOJI[name])
    assert len(emoji_rows) == len(groups) < len(LABELS)
    merged = [p for p in emoji_rows if len(p.name.split()) > 2]
    assert merged and all(e in merged[0].name for e in max(groups.values(), key=len))
    assert merged[0].apply("so tired") != "so tired"
    assert any("upper case" in n for n in notes) and any("same token" in n for n in notes)
    assert len(names) == len(set(names))


def test_for_tokenizer_keeps_every_edit_a_cased_reading_tells_apart():
    every = perturbations(LABELS)
    edits, notes = for_tokenizer(every, lambda text: [ord(c) for c in text])  # each character its own id
    assert [p.name for p in edits] == [p.name for p in every] and notes == []
    assert for_tokenizer(every, None) == (every, [])
