"""Numbers a person can read: percentages, 2-3 significant digits, p-values as "< 1e-10", lists in words.

Every view formats its numbers with these before a table or a note shows them.

>>> percent(0.9183187484741211)
'91.8%'
>>> sig(0.9183187484741211), sig(1234.5678), sig(0.000123456)
('0.918', '1230', '0.000123')
>>> p_value(2.021954066884915e-79), p_value(0.0123), p_value(0.2)
('< 1e-10', '0.012', '0.20')
>>> words([364, 6563]), words(["anger", "sadness"])
('364, 6563', 'anger, sadness')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["P_FLOOR", "p_value", "percent", "readable", "sig", "words"]

#: p-values below this are shown as "< 1e-10" (nothing a person decides on changes below it).
P_FLOOR = 1e-10


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def sig(x, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits, no exponent between 1e-4 and 1e6 ("" for a missing value)."""
    if _missing(x):
        return ""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return str(x if x else 0)
    if 1e-4 <= abs(x) < 1e6:
        decimals = digits - 1 - math.floor(math.log10(abs(x)))
        return f"{round(x, decimals):.{max(decimals, 0)}f}"
    return f"{x:.{digits - 1}e}"


def percent(share, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage ("91.8%"; "" for a missing value)."""
    return "" if _missing(share) else f"{100 * float(share):.{decimals}f}%"


def p_value(p) -> str:
    """A p-value with 2 significant digits, "< 1e-10" below :data:`P_FLOOR` ("" for a missing value)."""
    if _missing(p):
        return ""
    p = float(p)
    return f"< {P_FLOOR:.0e}" if p < P_FLOOR else sig(p, 2)


def words(items: Iterable) -> str:
    """A list as words: ``[364, 6563]`` -> ``"364, 6563"``, ``['anger', 'sadness']`` -> ``"anger, sadness"``."""
    if isinstance(items, str):
        return items
    return ", ".join(str(int(i)) if isinstance(i, (int, np.integer)) else str(i) for i in items)


def readable(frame: pd.DataFrame, *, percents: Sequence[str] = (), p_values: Sequence[str] = (),
             digits: int = 3) -> pd.DataFrame:
    """A copy of ``frame`` with ``percents`` columns as percentages, ``p_values`` as p-values, list cells in words
    and every other float column rounded to ``digits`` significant digits (kept numeric, so it still sorts)."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if col in percents:
            out[col] = values.map(percent)
        elif col in p_values:
            out[col] = values.map(p_value)
        elif values.dtype == object and values.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
            out[col] = values.map(lambda v: words(v) if isinstance(v, (list, tuple, np.ndarray)) else v)
        elif pd.api.types.is_float_dtype(values):
            out[col] = values.map(lambda v: v if _missing(v) else float(sig(v, digits)))
    return out
