"""Data health: leakage between splits, conflicting duplicates, outliers, non-emotion text, class
imbalance and label-set problems, as a report (:func:`data_health`) and a command line::

    python -m core.datahealth --data D [--model M] [--splits train validation test] [--json OUT]

Nothing heavy is imported until a function runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DataHealthReport", "data_health"]


def __getattr__(name: str) -> Any:
    if name == "data_health":
        from core.datahealth.run import data_health

        return data_health
    if name == "DataHealthReport":
        from core.datahealth.report import DataHealthReport

        return DataHealthReport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
