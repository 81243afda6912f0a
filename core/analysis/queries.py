"""Pure queries of an analysis table: filter and sort its rows (the views page and show them).

Every function takes the analysis table (one row per sample; the index is the sample id) and
returns a new frame; nothing here touches Gradio or the model
(:class:`core.services.analyses.AnalysesService` runs them on its tables).

At hundreds of thousands of rows a query must not sort the whole table each time: the row order of
each sort column is computed once per table (:func:`core.analysis.order.sorted_positions`, a small cache keyed
by the table object, shared with the review queue) and a filter is a boolean mask read in
that order, so a filter or a sort change costs one pass over N booleans.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from core.analysis.order import sorted_positions
from core.analysis.signals.shipped import signal_names

ANY = "any"
ORDERS: dict[str, tuple[str, bool]] = {
    "highest loss": ("loss", False),
    "lowest loss": ("loss", True),
    "most suspicious": ("mislabel_score", False),
    "least confident": ("confidence", True),
}


def signal_orders() -> dict[str, tuple[str, bool]]:
    """One order per signal a family offers (most suspect first; the shipped ranking's first), read from the
    signal registry each time, so a family registered later is offered too."""
    return {f"signal: {name}": (col, False) for col, name in signal_names().items()}


def orders_of(table: pd.DataFrame) -> list[str]:
    """The orders a table can be sorted by: :data:`ORDERS`, then each :func:`signal_orders` whose column it holds.

    >>> orders_of(pd.DataFrame({"loss": [0.1], "aum": [0.2]}))[-1]
    'signal: low margin while learning'
    """
    return [*ORDERS, *(name for name, (col, _) in signal_orders().items() if col in table.columns)]


def order_spec(order: str, table: pd.DataFrame) -> tuple[str, bool]:
    """``(column, ascending)`` of one of :func:`orders_of` ``(table)``; a clear error otherwise."""
    spec = ORDERS.get(order) or signal_orders().get(order)
    if spec is None or spec[0] not in table.columns:
        raise ValueError(f"unknown order {order!r}; choose one of {orders_of(table)}")
    return spec


def _matches(values: pd.Series, wanted: str) -> np.ndarray:
    """(N,) bool: ``values == wanted``, compared on category codes where the column is categorical."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        if wanted not in values.cat.categories:
            return np.zeros(len(values), dtype=bool)
        return values.cat.codes.to_numpy() == values.cat.categories.get_loc(wanted)
    return (values == wanted).to_numpy(dtype=bool, na_value=False)


def filter_samples(
    table: pd.DataFrame,
    *,
    order: str = "highest loss",
    true_label: str = ANY,
    pred_label: str = ANY,
    search: str = "",
    confidence: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Rows matching the filters, sorted by ``order`` (one of :func:`orders_of` the table).

    ``search`` matches case-insensitively as plain text (never a regular expression);
    ``confidence`` keeps rows whose top probability lies in ``[low, high]``.
    """
    column, ascending = order_spec(order, table)
    keep: np.ndarray | None = None
    for name, wanted in (("label", true_label), ("pred", pred_label)):
        if wanted and wanted != ANY:
            hit = _matches(table[name], wanted)
            keep = hit if keep is None else keep & hit
    if search and search.strip():
        hit = table["text"].str.contains(search.strip(), case=False, regex=False, na=False).to_numpy(dtype=bool)
        keep = hit if keep is None else keep & hit
    if confidence is not None and tuple(confidence) != (0, 1):
        low, high = (float(x) for x in confidence)
        hit = table["confidence"].between(low, high).to_numpy(dtype=bool)
        keep = hit if keep is None else keep & hit
    positions = sorted_positions(table, column, ascending)
    if keep is not None:
        positions = positions[keep[positions]]
    return table.iloc[positions]


def cell_samples(table: pd.DataFrame, *, true_label: str, pred_label: str) -> pd.DataFrame:
    """Exactly the samples with this true and predicted label, highest loss first."""
    return filter_samples(table, order="highest loss", true_label=true_label, pred_label=pred_label)


def by_ids(table: pd.DataFrame, ids: Iterable[int], *, order: str = "highest loss") -> pd.DataFrame:
    """The rows whose index (the sample id) is one of ``ids`` (unknown ids ignored), sorted by ``order``.

    >>> t = pd.DataFrame({"loss": [0.1, 0.9, 0.5]}, index=[10, 11, 12])
    >>> by_ids(t, [12, 10, 99]).index.tolist()
    [12, 10]
    """
    wanted = {int(i) for i in ids if i is not None}
    return filter_samples(table[table.index.isin(wanted)], order=order)
