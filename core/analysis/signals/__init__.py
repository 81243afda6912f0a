"""Ranking signals that do not share the labeller's mistake (issue 29, item 3).

dair-ai/emotion's labels were made from the emotion word a tweet contains, so a model fine-tuned on
them agrees with their errors. Each signal here is one float per row, higher = the given label more
likely wrong, built without the fine-tuned model's agreement with the labels:

========================  ===========================================================================
module                    columns
========================  ===========================================================================
``negation``              ``neg_rule``, ``neg_parse`` (spaCy), ``neg_any``: the cue word negated or overturned
``target``                ``cue_target`` (spaCy): the cue word about a thing or someone else, or figurative
``judges``                ``zs_not_given``, ``zs_margin`` (sentence encoder vs class descriptions),
                          ``lex_not_given`` (negation-aware lexicon vote)
``probes``                ``probe_removed_not_given``, ``probe_removed_drop``, ``probe_negate_drop``
``knn``                   ``knn_disagree_cls``, ``knn_disagree_enc``: neighbours with another label
``oof``                   ``oof_tfidf``, ``oof_context``, ``oof_embed`` (+ ``_margin``): other model families
``aum``                   ``aum``: area under the margin of a linear head on frozen embeddings
========================  ===========================================================================

:func:`compute_signals` builds them all for one split (cached);
``python -m core.analysis.signals --model M --data D --split train --out signals.parquet`` writes them.
Each module declares its families (name, display name, parameters, compute function) with
:func:`core.analysis.signals.registry.register`; :mod:`core.analysis.signals.registry` finds them, and
:func:`core.analysis.signals.context.family_params` gives everything that shapes a family's values (for
cache keys). The spaCy pass shared by ``neg_parse`` and ``cue_target`` is :mod:`core.analysis.signals.parse`.
"""

from __future__ import annotations


def compute_signals(*args, **kwargs):
    """See :func:`core.analysis.signals.compute.compute_signals` (imported on first use)."""
    from core.analysis.signals.compute import compute_signals as impl

    return impl(*args, **kwargs)


__all__ = ["compute_signals"]
