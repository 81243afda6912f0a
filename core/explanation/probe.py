"""Probe one text: every what-if edit of :mod:`core.explanation.perturb` (and the removal of its top-attributed
word, when given), classified in one batched pass with the original. Over a whole split the same edits make
:mod:`core.analysis.robustness`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.explanation.perturb import Perturbation, for_tokenizer, perturbations, remove_span

__all__ = ["TOP_WORD", "ProbeResult", "probe"]

TOP_WORD = "top word removed"


@dataclass
class ProbeResult:
    """What-if edits of one text: ``rows`` has one row per edit that applies.

    Columns: ``edit``, ``text`` (the edited text), ``prediction``, ``p_predicted`` (the original
    prediction's probability after the edit), ``change`` (its shift), ``flipped`` (the label changed).
    """

    text: str
    predicted: str
    probs: dict[str, float]
    rows: pd.DataFrame
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _edits(text: str, edits: Sequence[Perturbation], seed: int) -> tuple[list[tuple[str, str]], list[str]]:
    done, skipped = [], []
    for p in edits:
        out = p.apply(text, seed=seed)
        (done.append((p.name, out)) if out != text else skipped.append(p.name))
    return done, skipped


def probe(predict: Callable[[list[str]], np.ndarray], text: str, labels: Sequence[str], *, seed: int = 0,
          top_word: tuple[int, int] | None = None,
          encode: Callable[[str], Sequence[int]] | None = None) -> ProbeResult:
    """Classify ``text`` and its edits in one call of ``predict`` (texts -> ``(N, K)`` probabilities).

    ``top_word`` is the character span of the top-attributed word; its removal is the last edit.
    Edits that leave the text unchanged are listed in ``skipped``. ``encode`` (the tokenizer's text -> ids)
    drops or merges the edits it cannot tell apart (:func:`core.explanation.perturb.for_tokenizer`), said in
    ``notes``.
    """
    labels = list(labels)
    edits, notes = for_tokenizer(perturbations(labels), encode)
    done, skipped = _edits(text, edits, seed)
    if top_word is not None:
        cut = remove_span(text, *top_word)
        name = f'{TOP_WORD} ("{text[top_word[0]:top_word[1]]}")'
        (done.append((name, cut)) if cut != text and cut.strip() else skipped.append(TOP_WORD))
    probs = np.asarray(predict([text] + [t for _, t in done]), dtype=float)
    k = int(np.argmax(probs[0]))
    after = probs[1:]
    rows = pd.DataFrame({
        "edit": [n for n, _ in done],
        "text": [t for _, t in done],
        "prediction": [labels[int(i)] for i in after.argmax(axis=1)] if len(done) else [],
        "p_predicted": np.round(after[:, k], 4) if len(done) else [],
        "change": np.round(after[:, k] - probs[0, k], 4) if len(done) else [],
        "flipped": (after.argmax(axis=1) != k) if len(done) else [],
    })
    first = {n: float(v) for n, v in zip(labels, probs[0], strict=True)}
    return ProbeResult(text, labels[k], first, rows, skipped, notes)
