"""Core: data, classifier, training and cached analysis (no Gradio).

The public Python API is the names in ``__all__``; each is imported from its module on first use,
so ``import core`` loads no torch, transformers, pandas or scikit-learn. The README's "Use from
Python" section walks through them.

>>> import core
>>> "load_splits" in core.__all__ and "EmotionService" in dir(core)
True
>>> core.not_a_name
Traceback (most recent call last):
...
AttributeError: module 'core' has no attribute 'not_a_name'
"""

from __future__ import annotations

import importlib

# Public name -> the module that defines it.
_MODULES: dict[str, str] = {
    # settings and data
    "Settings": "core.settings",
    "EmotionData": "core.data.splits",
    "Split": "core.data.splits",
    "DataError": "core.data.splits",
    "load_splits": "core.data.splits",
    "write_split": "core.data.splits",
    # the classifier
    "Classifier": "core.classifier.model",
    "ModelError": "core.classifier.model",
    "load_classifier": "core.classifier.model",
    # the cached analysis of one split, and mislabel ranking
    "AnalysisOutcome": "core.analysis.precompute",
    "analyse_split": "core.analysis.precompute",
    "label_issue_columns": "core.analysis.mislabels",
    "mislabel_score": "core.analysis.mislabels",
    "run_crossval": "core.analysis.crossval",
    "find_oof": "core.analysis.crossval",
    "compute_signals": "core.analysis.signals",
    # analyses of several models and splits, compare two checkpoints
    "Analysis": "core.analysis.workspace",
    "AnalysisRegistry": "core.analysis.workspace",
    "compare_tables": "core.analysis.compare",
    "CompareReport": "core.analysis.compare",
    # data health, explanation by training examples, error slices
    "data_health": "core.datahealth.run",
    "DataHealthReport": "core.datahealth.report",
    "TrainingExamples": "core.analysis.similar",
    "similar": "core.analysis.similar",
    "neighbour_disagreement": "core.analysis.similar",
    "find_slices": "core.analysis.slices",
    # classify and explain through the service (the dashboard's one interface)
    "EmotionService": "core.services.emotion",
    "Classification": "core.services.emotion",
    "Explanation": "core.services.emotion",
    "Faithfulness": "core.explanation.words",
    "InputError": "core.data.text_input",
    # review decisions and export
    "ReviewStore": "core.review.store",
    "ReviewStoreError": "core.review.store",
    "Decision": "core.review.store",
    "decisions_frame": "core.review.export",
    "decisions_csv": "core.review.export",
    "decisions_jsonl": "core.review.export",
    "corrected_split": "core.review.export",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> object:
    """Import a public name's module on first use (PEP 562)."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
