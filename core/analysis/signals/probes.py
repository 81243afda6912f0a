"""The product's what-if probes, aimed at the label's cue word.

For each row with a cue word for its given label (:func:`core.analysis.signals.lexicon.find_cue`),
the classifier sees two edits (:mod:`core.explanation.perturb`): the cue word removed
(``remove_span``) and the text negated (``negate``: the first negation removed, or "not" added).
Columns:

- ``probe_removed_not_given``: 1 - p(given) with the cue word removed; what the model makes of the
  rest of the sentence (high: the sentence alone points elsewhere).
- ``probe_removed_drop``: p(given) minus p(given) with the cue removed (high: the label rests on that
  one word).
- ``probe_negate_drop``: p(given) minus p(given) with the text's negation removed, only for texts
  that hold a negator (:func:`core.analysis.signals.negation.any_negator`): negating again affirms the
  cue, so a rise (negative drop) says the model reads the negation, and a drop near 0 says it ignores
  it, as the labeller did. Where the text has no negation, adding one would measure how the model reads
  negation in general, not this label; those rows get 0, which also halves the probe's cost.

Rows without a cue get 0 for all three (the edit does not apply).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.analysis.signals.lexicon import find_cue
from core.analysis.signals.negation import any_negator, rule_params
from core.analysis.signals.registry import SignalFamily, register
from core.explanation.perturb import negate, remove_span


def probe_edits(texts: Sequence[str], labels: Sequence[str]) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Each row's cue-removed and negation-removed text, whether it has a cue, and whether it holds a negator.

    Where an edit does not apply, the text is returned unchanged.
    """
    removed, negated, has = [], [], []
    for t, y in zip(texts, labels, strict=True):
        cue = find_cue(t, y)
        ok = cue is not None and t[cue.start:cue.start + len(cue.word)].lower() == cue.word
        removed.append(remove_span(t, cue.start, cue.start + len(cue.word)) if ok else t)
        has.append(ok)
    negatable = np.array(has, dtype=bool) & (any_negator(texts) > 0)
    negated = [negate(t) if n else t for t, n in zip(texts, negatable, strict=True)]
    return removed, negated, np.array(has, dtype=bool), negatable


def probe_scores(classifier, texts: Sequence[str], labels: Sequence[str], base_probs: np.ndarray, *,
                 batch_size: int = 64) -> dict[str, np.ndarray]:
    """The three probe columns (module docstring); ``base_probs`` are the classifier's (N, K) probabilities."""
    index = {c: j for j, c in enumerate(classifier.labels)}
    y = np.array([index[c] for c in labels], dtype=np.int64)
    removed, negated, has, negatable = probe_edits(texts, labels)
    rows, neg_rows = np.flatnonzero(has), np.flatnonzero(negatable)
    edits = [removed[r] for r in rows] + [negated[r] for r in neg_rows]
    probs = classifier.predict(edits, batch_size=batch_size).probs if len(edits) else np.zeros((0, len(index)))
    p_rem, p_neg = probs[: len(rows)], probs[len(rows):]
    base = np.asarray(base_probs)[np.arange(len(y)), y]
    out = {name: np.zeros(len(y), dtype=np.float32)
           for name in ("probe_removed_not_given", "probe_removed_drop", "probe_negate_drop")}
    out["probe_removed_not_given"][rows] = 1.0 - p_rem[np.arange(len(rows)), y[rows]]
    out["probe_removed_drop"][rows] = base[rows] - p_rem[np.arange(len(rows)), y[rows]]
    out["probe_negate_drop"][neg_rows] = base[neg_rows] - p_neg[np.arange(len(neg_rows)), y[neg_rows]]
    return out


FAMILY = register(SignalFamily(
    name="probes", title="what-if probes", needs_model=True, inputs=("classifier",),
    compute=lambda ctx: probe_scores(ctx.classifier, ctx.texts, ctx.labels, ctx.base_probs),
    params=lambda: {"rules": rule_params(), "edits": ["remove_span", "negate where negated"]},
    columns={"probe_removed_drop": "label rests on one word"}))
