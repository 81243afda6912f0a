"""The confusion-matrix figure (counts or row-normalised; click a cell to list its samples)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.figures.style import (
    plotly_escape,
    style,
)


def confusion_figure(matrix: np.ndarray, labels: Sequence[str], *, normalize: bool,
                     title: str | None = None) -> go.Figure:
    """Heatmap of a confusion matrix: true label down, predicted label across.

    Parameters
    ----------
    matrix : (K, K) non-negative counts, row = true label, column = predicted, in ``labels`` order.
    labels : the K label names.
    normalize : show row percentages (each non-empty row sums to 100) instead of counts.

    Notes
    -----
    Each cell's ``customdata`` is ``[true_index, pred_index, count]`` for a click handler; the
    hover always shows the count. The y axis is reversed, so the diagonal runs top-left to
    bottom-right.
    """
    m = np.asarray(matrix)
    k = len(labels)
    if m.shape != (k, k):
        raise ValueError(f"matrix must be (K, K) = ({k}, {k}) for {k} labels; got {m.shape}")
    if np.any(m < 0):
        raise ValueError("matrix counts must be non-negative")
    counts = m.astype(np.int64)
    if normalize:
        rows = counts.sum(axis=1, keepdims=True)
        z = np.divide(100.0 * counts, rows, out=np.zeros(counts.shape), where=rows > 0)
        text = [[f"{v:.0f}%" for v in row] for row in z]
        value = "row share: %{z:.1f}%<br>"
    else:
        z = counts.astype(np.float64)
        text = [[str(v) for v in row] for row in counts]
        value = ""
    ti, pi = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    custom = np.stack([ti, pi, counts], axis=-1)
    names = [plotly_escape(x) for x in labels]
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=names, customdata=custom, text=text, texttemplate="%{text}",
        colorscale="Blues", zmin=0, zmax=100 if normalize else None,
        colorbar={"title": {"text": "% of row" if normalize else "count"}, "thickness": 12},
        hovertemplate="true: %{y}<br>predicted: %{x}<br>" + value + "count: %{customdata[2]}<extra></extra>",
        xgap=1, ygap=1,
    ))
    fig.update_xaxes(title_text="predicted label", side="bottom", tickangle=-30)
    fig.update_yaxes(title_text="true label", autorange="reversed")
    title = title or "confusion matrix"
    return style(fig, title=f"{title} (row %)" if normalize else f"{title} (counts)", height=440)
