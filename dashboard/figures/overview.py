"""Figures of the Overview tab: class distribution, token lengths by class, the loss histogram and the
reliability diagram, all drawn from aggregates so they stay small at any N."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.style import (
    CORRECT,
    PALETTE,
    WRONG,
    empty,
    label_colors,
    plotly_escape,
    require_columns,
    style,
)


def class_distribution_figure(counts: Mapping[str, int], *, title: str = "samples per class") -> go.Figure:
    """Vertical bars of the number of samples per class, in the given (model) order.

    Parameters
    ----------
    counts : label name -> count (non-negative), K entries in model order.
    """
    if not counts:
        raise ValueError("counts is empty")
    values = [int(v) for v in counts.values()]
    if min(values) < 0:
        raise ValueError("counts must be non-negative")
    names = list(counts)
    colors = label_colors(names)
    fig = go.Figure(go.Bar(
        x=[plotly_escape(n) for n in names], y=values, marker_color=[colors[n] for n in names],
        text=values, textposition="outside", cliponaxis=False, hovertemplate="%{x}: %{y}<extra></extra>",
    ))
    fig.update_yaxes(title_text="samples", rangemode="tozero")
    fig.update_xaxes(title_text=None)
    return style(fig, title=title, height=340)


def _box_stats(values: np.ndarray) -> dict[str, float]:
    """Quartiles, Tukey fences (the furthest values within 1.5 IQR of the box) and mean of ``values``."""
    q1, median, q3 = (float(v) for v in np.percentile(values, [25, 50, 75]))
    reach = 1.5 * (q3 - q1)
    inside = values[(values >= q1 - reach) & (values <= q3 + reach)]
    return {"q1": q1, "median": median, "q3": q3, "lowerfence": float(inside.min()),
            "upperfence": float(inside.max()), "mean": float(values.mean())}


def token_length_figure(table: pd.DataFrame, labels: Sequence[str]) -> go.Figure:
    """Box plot of ``n_tokens`` per given label (one trace per class present, model order).

    Parameters
    ----------
    table : the analysis table, N rows (``label``, ``n_tokens``).
    labels : the K label names in model order.

    Notes
    -----
    The boxes are drawn from their statistics (quartiles, Tukey fences, mean; :func:`_box_stats`), not
    from the N lengths, so the figure is the same small size at any N; outlying points are not drawn.
    """
    require_columns(table, ("label", "n_tokens"))
    colors = label_colors(labels)
    given = table["label"].astype(str).to_numpy()
    lengths = table["n_tokens"].to_numpy(dtype=np.float64)
    traces = []
    for name in labels:
        mine = lengths[given == name]
        if mine.size:
            stats = {k: [v] for k, v in _box_stats(mine).items()}
            traces.append(go.Box(x=[plotly_escape(name)], name=plotly_escape(name), marker_color=colors[name],
                                 showlegend=False, boxpoints=False, **stats))
    fig = go.Figure(traces)
    fig.update_yaxes(title_text="tokens per text", rangemode="tozero")
    fig.update_xaxes(title_text="label")
    return style(fig, title="text length by class", height=360)


def loss_histogram(table: pd.DataFrame, *, bins: int = 40) -> go.Figure:
    """Overlaid histograms of the per-sample loss, correct vs wrong predictions, on shared bins.

    Parameters
    ----------
    table : the analysis table, N rows (``loss``, ``correct``).
    bins : number of equal-width bins over ``[0, max loss]``.

    Notes
    -----
    The counts are binned here (``np.histogram``) and drawn as bars, so the figure holds ``2 * bins``
    numbers at any N; non-finite losses are left out. The count axis is logarithmic (empty bins draw nothing).
    """
    require_columns(table, ("loss", "correct"))
    if bins < 1:
        raise ValueError(f"bins must be at least 1; got {bins}")
    loss = table["loss"].to_numpy(dtype=np.float64)
    ok = table["correct"].to_numpy(dtype=bool)
    finite = np.isfinite(loss)
    top = max(float(loss[finite].max()) if finite.any() else 1.0, 1e-6)
    edges = np.linspace(0.0, top, bins + 1)  # the last edge is the largest loss itself (no rounding past it)
    size = top / bins
    centres = (edges[:-1] + edges[1:]) / 2
    traces = []
    for name, rows, color in (("correct", ok & finite, CORRECT), ("wrong", ~ok & finite, WRONG)):
        counts, _ = np.histogram(loss[rows], bins=edges)
        traces.append(go.Bar(x=centres, y=counts, width=size, name=name, marker_color=color, opacity=0.6,
                             customdata=np.stack([edges[:-1], edges[1:]], axis=1),
                             hovertemplate=f"{name}, loss %{{customdata[0]:.2f}}-%{{customdata[1]:.2f}}: "
                                           "%{y}<extra></extra>"))
    fig = go.Figure(traces)
    fig.update_layout(barmode="overlay", bargap=0, legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right",
                                                           "yanchor": "bottom"})
    fig.update_xaxes(title_text="loss (cross-entropy of the given label)")
    # most rows have a loss near 0: on a linear axis the histogram is one bar, so counts are drawn on a log axis
    fig.update_yaxes(title_text="samples (log scale)", type="log")
    return style(fig, title="loss distribution", height=340)


def reliability_figure(series: Mapping[str, pd.DataFrame], *, title: str | None = "reliability") -> go.Figure:
    """Accuracy against mean confidence per confidence bin, one line per series, and the diagonal.

    Parameters
    ----------
    series : name -> a reliability table (:func:`core.analysis.calibration.reliability`: ``lo, hi, n, confidence,
        accuracy``); empty bins (``n == 0``) are left out. Points on the diagonal are calibrated; points
        below it are over-confident.
    """
    if not series:
        return empty("nothing to show", title=title, height=380)
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#888"},
                               name="calibrated", hoverinfo="skip"))
    for i, (name, table) in enumerate(series.items()):
        require_columns(table, ["lo", "hi", "n", "confidence", "accuracy"])
        t = table[table["n"] > 0]
        fig.add_trace(go.Scatter(
            x=t["confidence"], y=t["accuracy"], mode="lines+markers", name=plotly_escape(name),
            line={"color": PALETTE[i % len(PALETTE)]},
            marker={"size": np.clip(4 + 2 * np.sqrt(t["n"].to_numpy()), 5, 22)},
            customdata=np.stack([t["lo"], t["hi"], t["n"]], axis=1),
            hovertemplate=("confidence %{customdata[0]:.2f}-%{customdata[1]:.2f}: %{customdata[2]} predictions, "
                           "mean confidence %{x:.3f}, accuracy %{y:.3f}<extra></extra>"),
        ))
    fig.update_xaxes(range=[0, 1.02], title_text="mean confidence in the bin")
    fig.update_yaxes(range=[0, 1.02], title_text="accuracy in the bin")
    fig.update_layout(legend={"orientation": "h", "y": -0.2})
    return style(fig, title=title, height=420)
