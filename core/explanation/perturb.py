"""What-if edits of a text: pure, seeded functions ``edit(text, *, seed) -> text``.

Each edit leaves the text unchanged where it cannot apply (no word to negate, no word long enough
for a typo), so callers count an unchanged text as "not applicable", never as "robust". Random
choices come from ``random.Random`` seeded with the seed and the text, so one text and seed
always get the same edit. Every edit keeps the rest of the text character for character.

>>> negate("i feel happy")
'i do not feel happy'
>>> negate("i am not happy")
'i am happy'
>>> add_emoji("so tired", emoji="😭")
'so tired 😭'
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

__all__ = ["CLASS_EMOJI", "Perturbation", "add_emoji", "append", "elongate", "for_tokenizer", "intensify", "negate",
           "perturbations", "remove_span", "typos", "upper"]

# each emotion's typical emoji; other label names get no emoji edit
CLASS_EMOJI: dict[str, str] = {"sadness": "😭", "joy": "😂", "love": "😍", "anger": "😡", "fear": "😱",
                               "surprise": "😮"}
AUXILIARIES = ("am", "is", "are", "was", "were", "can", "could", "will", "would", "should", "do", "does", "did",
               "have", "has", "had", "must", "might")
FEEL_FORMS = {"feel": "do not feel", "feels": "does not feel", "felt": "did not feel", "feeling": "not feeling"}
# contracted and plain negations and what removing them leaves
NEGATIONS = {"don't": "do", "dont": "do", "doesn't": "does", "doesnt": "does", "didn't": "did", "didnt": "did",
             "can't": "can", "cant": "can", "cannot": "can", "won't": "will", "wont": "will", "isn't": "is",
             "isnt": "is", "aren't": "are", "arent": "are", "wasn't": "was", "wasnt": "was", "weren't": "were",
             "wouldn't": "would", "wouldnt": "would", "shouldn't": "should", "couldn't": "could", "haven't": "have",
             "hasn't": "has", "hadn't": "had", "not": "", "never": ""}
INTENSIFIERS = ("really", "so", "very", "extremely", "too", "pretty", "quite", "totally", "absolutely", "incredibly")
INTENSIFY_AFTER = ("feel", "feels", "felt", "feeling", "am", "is", "are", "was", "were", "be", "being", "been")
KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
VOWELS = "aeiouy"


def _rng(text: str, seed: int) -> random.Random:
    return random.Random(f"{int(seed)}\x00{text}")


def _words(text: str) -> list[re.Match]:
    return list(WORD.finditer(text))


def _match_case(template: str, word: str) -> str:
    return word.upper() if template.isupper() and len(template) > 1 else word


def negate(text: str, *, seed: int = 0) -> str:
    """Remove the first negation ("not", "never", "don't" → "do"), or add one when there is none.

    Added after the first auxiliary ("i am happy" → "i am not happy") or before the first "feel"
    ("i feel ok" → "i do not feel ok"). Unchanged when there is neither. ``seed`` is unused (the
    edit is deterministic); it is accepted so every edit has the same signature.
    """
    words = _words(text)
    for m in words:
        low = m.group().lower().replace("’", "'")
        if low in NEGATIONS:
            keep = _match_case(m.group(), NEGATIONS[low])
            start, end = m.start(), m.end()
            if not keep:  # drop the word and one space next to it
                if end < len(text) and text[end] == " ":
                    end += 1
                elif start > 0 and text[start - 1] == " ":
                    start -= 1
            return text[:start] + keep + text[end:]
    for m in words:
        low = m.group().lower()
        if low in AUXILIARIES:
            return text[: m.end()] + " " + _match_case(m.group(), "not") + text[m.end():]
        if low in FEEL_FORMS:
            return text[: m.start()] + _match_case(m.group(), FEEL_FORMS[low]) + text[m.end():]
    return text


def intensify(text: str, *, seed: int = 0) -> str:
    """Put "really" before the word after the first "feel"/"am"/"is"/... ("i feel sad" → "i feel really sad").

    Unchanged when there is no such word, or the next word is already an intensifier or a negation.
    """
    words = _words(text)
    for a, b in zip(words, words[1:], strict=False):
        if a.group().lower() in INTENSIFY_AFTER:
            nxt = b.group().lower()
            if nxt in INTENSIFIERS or nxt in NEGATIONS:
                return text
            return text[: b.start()] + _match_case(b.group(), "really") + " " + text[b.start():]
    return text


def elongate(text: str, *, seed: int = 0) -> str:
    """Stretch a word's last vowel to three letters ("so" → "sooo"): "so" if present, else a random word of 3+ letters.

    Unchanged when no word has a vowel to stretch.
    """
    words = [m for m in _words(text) if any(c in VOWELS for c in m.group().lower())]
    pick = [m for m in words if m.group().lower() == "so"] or [m for m in words if len(m.group()) >= 3]
    if not pick:
        return text
    m = pick[0] if pick[0].group().lower() == "so" else _rng(text, seed).choice(pick)
    w = m.group()
    i = max(j for j, c in enumerate(w.lower()) if c in VOWELS)
    return text[: m.start()] + w[: i + 1] + w[i] * 2 + w[i + 1:] + text[m.end():]


def _neighbour(c: str, rng: random.Random) -> str:
    for row in KEYBOARD_ROWS:
        j = row.find(c.lower())
        if j >= 0:
            options = [row[k] for k in (j - 1, j + 1) if 0 <= k < len(row)]
            out = rng.choice(options)
            return out.upper() if c.isupper() else out
    return c


def _typo(word: str, rng: random.Random) -> str:
    """One typo inside ``word`` (3+ letters) that changes it: swap, drop, double or a neighbouring key."""
    for _ in range(8):
        kind = rng.choice(("swap", "drop", "double", "key"))
        i = rng.randrange(1, len(word) - 1) if len(word) > 2 else 0
        if kind == "swap" and word[i] != word[i + 1]:
            out = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        elif kind == "drop":
            out = word[:i] + word[i + 1:]
        elif kind == "double":
            out = word[: i + 1] + word[i] + word[i + 1:]
        else:
            out = word[:i] + _neighbour(word[i], rng) + word[i + 1:]
        if out != word:
            return out
    return word[:1] + word[2:]  # drop the second letter: always a change


def typos(text: str, *, seed: int = 0, n: int = 2) -> str:
    """``n`` typos in random words of 3+ letters (distinct words where there are enough).

    A typo swaps two inner letters, drops or doubles one, or hits a neighbouring key. Unchanged
    when no word has 3 letters.
    """
    rng = _rng(text, seed)
    words = [m for m in _words(text) if len(m.group()) >= 3]
    if not words:
        return text
    chosen = rng.sample(words, n) if len(words) >= n else [rng.choice(words) for _ in range(n)]
    spans = {}
    for m in chosen:
        current = spans.get(m.start(), (m.end(), m.group()))[1]
        spans[m.start()] = (m.end(), _typo(current, rng))
    out, pos = [], 0
    for start in sorted(spans):
        end, new = spans[start]
        out += [text[pos:start], new]
        pos = end
    return "".join(out) + text[pos:]


def upper(text: str, *, seed: int = 0) -> str:
    """The text in upper case (unchanged when it has no lower-case letter)."""
    return text.upper()


def append(text: str, *, seed: int = 0, suffix: str, sep: str = " ") -> str:
    """``suffix`` after the text (trailing whitespace kept after it); ``sep`` goes between."""
    body = text.rstrip()
    if not body:
        return text
    return body + sep + suffix + text[len(body):]


def add_emoji(text: str, *, seed: int = 0, emoji: str) -> str:
    """The emoji appended after a space."""
    return append(text, suffix=emoji)


def remove_span(text: str, start: int, end: int) -> str:
    """``text`` without ``text[start:end]`` and one adjoining space (the top-attributed word's removal)."""
    if not 0 <= start < end <= len(text):
        return text
    if end < len(text) and text[end] == " ":
        end += 1
    elif start > 0 and text[start - 1] == " ":
        start -= 1
    return text[:start] + text[end:]


@dataclass(frozen=True)
class Perturbation:
    """A named edit; ``apply(text, seed=...)`` returns the edited text (the same text where it cannot apply)."""

    name: str
    description: str
    edit: Callable[..., str]

    def apply(self, text: str, *, seed: int = 0) -> str:
        return self.edit(text, seed=seed)


def perturbations(labels: Sequence[str] = ()) -> list[Perturbation]:
    """Every edit, in table order; one emoji edit per label with a typical emoji (:data:`CLASS_EMOJI`)."""
    out = [
        Perturbation("negation", 'remove the first negation, or add "not"', negate),
        Perturbation("intensifier", 'add "really" before the feeling word', intensify),
        Perturbation("elongation", 'stretch a vowel ("so" → "sooo")', elongate),
        Perturbation("two typos", "two typos in words of 3+ letters", typos),
        Perturbation("upper case", "the whole text in capitals", upper),
    ]
    out += [Perturbation(f"emoji {CLASS_EMOJI[name]}", f"append {CLASS_EMOJI[name]} ({name})",
                         partial(add_emoji, emoji=CLASS_EMOJI[name])) for name in labels if name in CLASS_EMOJI]
    out += [
        Perturbation("!!!", 'append "!!!"', partial(append, suffix="!!!", sep="")),
        Perturbation("filler lol", 'append "lol"', partial(append, suffix="lol")),
        Perturbation("filler today", 'append "today"', partial(append, suffix="today")),
    ]
    return out


# a text with lower-case letters in several words: an uncased tokenizer reads it and its capitals alike
CASE_PROBE = "i feel happy and loved today"
EMOJI_PROBE = "ok"


def for_tokenizer(edits: Sequence[Perturbation],
                  encode: Callable[[str], Sequence[int]] | None) -> tuple[list[Perturbation], list[str]]:
    """The edits that can change what the model reads, and one note per edit left out or merged.

    ``encode`` maps a text to the tokenizer's ids (``None``: keep every edit). "upper case" is left
    out when the capitals encode like the lower-case text (an uncased model). Emoji edits whose emoji
    encode alike (typically all to the unknown token) become one row, named after all of them.
    """
    if encode is None:
        return list(edits), []
    out: list[Perturbation] = []
    notes: list[str] = []
    emoji_groups: dict[tuple, list[Perturbation]] = {}
    for p in edits:
        if p.name == "upper case" and list(encode(CASE_PROBE)) == list(encode(upper(CASE_PROBE))):
            notes.append("upper case is left out: this model's tokenizer lower-cases every text, so capitals "
                         "cannot change its input")
            continue
        if p.name.startswith("emoji "):
            group = emoji_groups.setdefault(tuple(encode(p.apply(EMOJI_PROBE))), [])
            group.append(p)
            if len(group) > 1:
                continue
        out.append(p)
    for group in emoji_groups.values():
        if len(group) < 2:
            continue
        signs = " ".join(p.name.removeprefix("emoji ") for p in group)
        merged = Perturbation(f"emoji {signs}", f"append one of {signs}: the tokenizer reads them all as one token",
                              group[0].edit)
        out[out.index(group[0])] = merged
        notes.append(f"the {len(group)} emoji {signs} all become the same token for this model's tokenizer "
                     "(its unknown token), so one row stands for them")
    return out, notes
