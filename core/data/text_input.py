"""Clean user text before it reaches the tokenizer, and say what was changed.

Example
-------
>>> clean_text("  hi\\x00 there  ").text
'hi there'
>>> clean_text("   ")
Traceback (most recent call last):
...
core.data.text_input.InputError: Type some text to classify: the input is empty.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_CHARS = 20_000
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class InputError(ValueError):
    """Text that cannot be classified; the message is meant for the user."""


@dataclass(frozen=True)
class CleanText:
    """The text the model will see, and notes on what was changed."""

    text: str
    notes: list[str] = field(default_factory=list)


def clean_text(text: object, *, max_chars: int = MAX_CHARS) -> CleanText:
    """Make arbitrary input safe for the tokenizer.

    - ``None`` or non-strings are rejected; lone surrogates become U+FFFD;
    - NUL and other control characters are removed (newlines and tabs become spaces);
    - text longer than ``max_chars`` characters is cut there (the model reads far fewer tokens);
    - empty or whitespace-only text raises :class:`InputError`.
    """
    if text is None:
        raise InputError("Type some text to classify: the input is empty.")
    if not isinstance(text, str):
        raise InputError(f"Expected text, got {type(text).__name__}.")
    notes: list[str] = []
    fixed = _SURROGATE.sub("\ufffd", text)
    if fixed != text:
        notes.append("invalid characters (lone surrogates) were replaced with U+FFFD")
    fixed = unicodedata.normalize("NFC", fixed)
    stripped = _CONTROL.sub("", fixed.replace("\t", " ").replace("\r", " ").replace("\n", " "))
    if stripped != fixed:
        removed = len(fixed) - len(stripped)
        if removed:
            notes.append(f"{removed} control character{'s' if removed > 1 else ''} removed")
    stripped = re.sub(r" {2,}", " ", stripped).strip()
    if not stripped:
        raise InputError("Type some text to classify: the input is empty.")
    if len(stripped) > max_chars:
        notes.append(f"text cut from {len(stripped):,} to {max_chars:,} characters")
        stripped = stripped[:max_chars]
    return CleanText(stripped, notes)
