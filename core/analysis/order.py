"""Row orders of an analysis table, computed once per table and column (the views and the review queue share them).

At hundreds of thousands of rows sorting the table on every request costs hundreds of milliseconds;
:func:`sorted_positions` keeps a few orders in a small cache keyed by the table object, so a filter,
a sort change or a page change reads positions in a known order instead.

>>> t = pd.DataFrame({"loss": [0.2, float("nan"), 0.9, 0.2]})
>>> sorted_positions(t, "loss", False).tolist()
[2, 0, 3, 1]
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

_CACHE: dict[tuple[int, str, bool], tuple[pd.DataFrame, np.ndarray]] = {}
_SIZE = 8
_FROM_ROWS = 10_000  # smaller tables (a picked subset) are sorted afresh, not kept
_LOCK = threading.Lock()


def sorted_positions(table: pd.DataFrame, column: str, ascending: bool) -> np.ndarray:
    """Row positions of ``table`` sorted by ``column`` (stable, NaN last), cached per table object.

    Equal to the order of ``table.sort_values(column, ascending=ascending, kind="stable")``. The cache
    holds the table itself beside its order, so a new table (a new analysis) never reuses a stale one.
    """
    key = (id(table), column, ascending)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None and hit[0] is table and len(hit[1]) == len(table):
        return hit[1]
    values = table[column].to_numpy(dtype=np.float64, na_value=np.nan)
    order = np.argsort(values if ascending else -values, kind="stable")
    if len(table) < _FROM_ROWS:
        return order
    with _LOCK:
        if len(_CACHE) >= _SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (table, order)
    return order
