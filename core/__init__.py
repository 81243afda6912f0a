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
    "EmotionData": "core.data",
    "Split": "core.data",
    "DataError": "core.data",
    "load_splits": "core.data",
    "write_split": "core.data",
    # the classifier
    "Classifier": "core.model",
    "ModelError": "core.model",
    "load_classifier": "core.model",
    # the cached analysis of one split, and mislabel ranking
    "AnalysisOutcome": "core.precompute",
    "analyse_split": "core.precompute",
    "label_issue_columns": "core.mislabels",
    "mislabel_score": "core.mislabels",
    "run_crossval": "core.crossval",
    "find_oof": "core.crossval",
    # analyses of several models and splits, compare two checkpoints
    "Analysis": "core.workspace",
    "AnalysisRegistry": "core.workspace",
    "compare_tables": "core.compare",
    "CompareReport": "core.compare",
    # classify and explain through the service (the dashboard's one interface)
    "EmotionService": "core.service",
    "Classification": "core.service",
    "Explanation": "core.service",
    "InputError": "core.text_input",
    # review decisions and export
    "ReviewStore": "core.review_store",
    "ReviewStoreError": "core.review_store",
    "Decision": "core.review_store",
    "decisions_frame": "core.export",
    "decisions_csv": "core.export",
    "decisions_jsonl": "core.export",
    "corrected_split": "core.export",
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
