"""Import, once and in one thread, the libraries that the served handlers would otherwise import lazily.

A Gradio server runs handlers in a thread pool, and one page load fires several at once. When two
threads import, for the first time, packages that import each other, Python's per-module import locks
can deadlock; one of the threads then fails with ``_DeadlockError``. Seen here: plotly imports narwhals
lazily when it builds a figure, and shap imports scikit-learn, which imports narwhals: the live
prediction or the review tab's first explanation failed on about one fresh start in two. Imported
before the server starts, they are one dictionary lookup for every handler.
"""

from __future__ import annotations

import importlib

#: What handlers import on first use: plotly's tabular layer (figures), the explainer's shap (which brings
#: scikit-learn, scipy and numba), and the scipy and scikit-learn parts the reports and audits use.
LAZY_LIBRARIES = ("narwhals.stable.v1", "narwhals.stable.v2", "scipy.sparse", "scipy.stats", "sklearn.metrics",
                  "shap")


def preload_libraries(names: tuple[str, ...] = LAZY_LIBRARIES) -> None:
    """Import ``names`` in this thread (call before serving).

    A library that is not installed is skipped: the handler that needs it reports that itself.
    """
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
