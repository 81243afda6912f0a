"""The robustness report as grouped bars: per edit, the share of changed predictions (or mean shift)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.style import (
    empty,
    label_colors,
    plotly_escape,
    require_columns,
    style,
)


def robustness_figure(table: pd.DataFrame, labels: Sequence[str], *, value: str = "changed") -> go.Figure:
    """Grouped bars per edit: one bar per predicted class, and a marker for all rows.

    Parameters
    ----------
    table : :meth:`core.analysis.robustness.RobustnessReport.table` (``edit``, ``applies to``, ``all``, one column
        per label), values in percent or points.
    value : ``changed`` (share of predictions that change) or ``mean_shift`` (mean shift of the predicted
        class's probability), only for the axis title.
    """
    require_columns(table, ["edit", "all", *labels])
    titles = {"changed": "predictions that change (%)", "mean_shift": "mean shift of the predicted class (points)"}
    if value not in titles:
        raise ValueError(f"value must be one of {sorted(titles)}, got {value!r}")
    if table.empty:
        return empty("no edits", title=titles[value], height=420)
    edits = [plotly_escape(e) for e in table["edit"]]
    colors = label_colors(labels)
    fig = go.Figure()
    for name in labels:
        fig.add_trace(go.Bar(x=edits, y=table[name], name=plotly_escape(name), marker_color=colors[name],
                             hovertemplate=f"{plotly_escape(name)}, %{{x}}: %{{y:.1f}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=edits, y=table["all"], name="all rows", mode="markers",
                             marker={"symbol": "diamond", "size": 11, "color": "#222"},
                             hovertemplate="all rows, %{x}: %{y:.1f}<extra></extra>"))
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.35})
    fig.update_yaxes(title_text=titles[value], zeroline=True, zerolinecolor="#888")
    return style(fig, title=titles[value], height=460)
