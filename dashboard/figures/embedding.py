"""The embedding map: every sample as a point, or a binned density when a window holds too many.

The browser never gets more than :data:`DENSITY_MAX_POINTS` points; a density cell lists its samples
(:func:`density_cell_rows`) with the same bins the figure drew.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.style import (
    CORRECT,
    WRONG,
    empty,
    hover_snippet,
    label_colors,
    plotly_escape,
    require_columns,
    style,
)


def _hover_texts(table: pd.DataFrame) -> list[str]:
    return [
        f"{hover_snippet(t)}<br><b>label</b> {plotly_escape(str(y))} · <b>pred</b> {plotly_escape(str(p))}"
        f" · <b>loss</b> {float(v):.3f}"
        for t, y, p, v in zip(table["text"], table["label"], table["pred"], table["loss"], strict=True)
    ]


def _points(rows: pd.DataFrame, hover: np.ndarray, ids: np.ndarray, mask: np.ndarray, **kwargs) -> go.Scattergl:
    return go.Scattergl(
        x=rows["umap_x"].to_numpy()[mask], y=rows["umap_y"].to_numpy()[mask], mode="markers",
        customdata=ids[mask], hovertext=hover[mask], hovertemplate="%{hovertext}<extra></extra>", **kwargs,
    )


def _by_category(column: str) -> Callable[..., list[go.Scattergl]]:
    def traces(table: pd.DataFrame, hover: np.ndarray, ids: np.ndarray, labels: Sequence[str]) -> list[go.Scattergl]:
        values = table[column].astype(str).to_numpy()
        unknown = sorted(set(values) - set(labels))
        if unknown:
            raise ValueError(f"{column} names {unknown} are not in labels {list(labels)}")
        colors = label_colors(labels)
        return [
            _points(table, hover, ids, values == name, name=plotly_escape(name),
                    marker={"color": colors[name], "size": 5, "opacity": 0.8})
            for name in labels if np.any(values == name)
        ]

    return traces


def _by_loss(table: pd.DataFrame, hover: np.ndarray, ids: np.ndarray, labels: Sequence[str]) -> list[go.Scattergl]:
    loss = table["loss"].to_numpy(dtype=np.float64)
    finite = loss[np.isfinite(loss)]
    top = float(np.quantile(finite, 0.99)) if finite.size else 1.0
    marker = {
        "color": loss, "colorscale": "Viridis", "cmin": 0.0, "cmax": max(top, 1e-6), "size": 5, "opacity": 0.8,
        "colorbar": {"title": {"text": "loss"}, "thickness": 12},
    }
    return [_points(table, hover, ids, np.ones(len(table), dtype=bool), name="loss", marker=marker, showlegend=False)]


def _by_correct(table: pd.DataFrame, hover: np.ndarray, ids: np.ndarray, labels: Sequence[str]) -> list[go.Scattergl]:
    ok = table["correct"].to_numpy(dtype=bool)
    return [  # wrong last, so it is drawn on top
        _points(table, hover, ids, ok, name="correct", marker={"color": CORRECT, "size": 5, "opacity": 0.45}),
        _points(table, hover, ids, ~ok, name="wrong", marker={"color": WRONG, "size": 6, "opacity": 0.9}),
    ]


EMBEDDING_COLORINGS: dict[str, Callable[..., list[go.Scattergl]]] = {
    "label": _by_category("label"),
    "pred": _by_category("pred"),
    "loss": _by_loss,
    "correct": _by_correct,
}


def embedding_figure(table: pd.DataFrame, *, color_by: str, labels: Sequence[str]) -> go.Figure:
    """2-D map of the samples' hidden states (``umap_x``, ``umap_y``), one WebGL point per row.

    Parameters
    ----------
    table : the analysis table, N rows (``text, label, pred, loss, correct, umap_x, umap_y``).
    color_by : one of :data:`EMBEDDING_COLORINGS`: ``"label"`` / ``"pred"`` (one trace per class,
        so the legend toggles classes), ``"loss"`` (continuous scale) or ``"correct"``.
    labels : the K label names in model order.

    Notes
    -----
    Each point's ``customdata`` is its row's index value (the sample id), so a selection maps back
    to ``table.loc[ids]``. The hover shows the escaped, truncated text with label, pred and loss.
    """
    if color_by not in EMBEDDING_COLORINGS:
        raise ValueError(f"color_by must be one of {sorted(EMBEDDING_COLORINGS)}; got {color_by!r}")
    require_columns(table, ("text", "label", "pred", "loss", "correct", "umap_x", "umap_y"))
    title = f"embedding (UMAP), coloured by {color_by}"
    if len(table) == 0:
        return empty("no samples", title=title, height=480)
    hover = np.asarray(_hover_texts(table), dtype=object)
    ids = table.index.to_numpy()
    fig = go.Figure(EMBEDDING_COLORINGS[color_by](table, hover, ids, labels))
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, title_text=None)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, title_text=None)
    fig.update_layout(dragmode="select", legend={"itemsizing": "constant"}, hovermode="closest")
    return style(fig, title=title, height=480)


DENSITY_BINS = 160
DENSITY_MAX_POINTS = 10_000  # a window with at most this many samples is drawn point by point (hover texts cost)


def _bin_of(table: pd.DataFrame, rows: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
    """The flat bin (``row * n_x + col``) of each of ``rows`` (left edges in, the last bin's right edge in)."""
    x, y = table["umap_x"].to_numpy()[rows], table["umap_y"].to_numpy()[rows]
    nx, ny = len(x_edges) - 1, len(y_edges) - 1
    ix = np.clip(np.searchsorted(x_edges, x, side="right") - 1, 0, nx - 1)
    iy = np.clip(np.searchsorted(y_edges, y, side="right") - 1, 0, ny - 1)
    return iy * nx + ix


def _window_rows(table: pd.DataFrame, xr: tuple[float, float], yr: tuple[float, float]) -> np.ndarray:
    x, y = table["umap_x"].to_numpy(dtype=np.float64), table["umap_y"].to_numpy(dtype=np.float64)
    return np.flatnonzero((x >= xr[0]) & (x <= xr[1]) & (y >= yr[0]) & (y <= yr[1]))


def density_cell_rows(table: pd.DataFrame, row: int, col: int, *, bins: int = DENSITY_BINS,
                      x_range: tuple[float, float] | None = None,
                      y_range: tuple[float, float] | None = None) -> np.ndarray:
    """Row positions of the samples in the density map's cell ``[row, col]`` (a heatmap click's index)."""
    x_edges, y_edges = density_bin_edges(table, bins=bins, x_range=x_range, y_range=y_range)
    inside = _window_rows(table, (x_edges[0], x_edges[-1]), (y_edges[0], y_edges[-1]))
    return inside[_bin_of(table, inside, x_edges, y_edges) == int(row) * (len(x_edges) - 1) + int(col)]


def _bin_stats(table: pd.DataFrame, rows: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray,
               color_by: str, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Per-bin count, colour value and hover text for :func:`density_embedding_figure`."""
    nx, ny = len(x_edges) - 1, len(y_edges) - 1
    flat = _bin_of(table, rows, x_edges, y_edges)
    count = np.bincount(flat, minlength=nx * ny).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if color_by == "loss":
            loss = np.nan_to_num(table["loss"].to_numpy(dtype=np.float64)[rows], nan=0.0, posinf=30.0)
            value, what = np.bincount(flat, weights=loss, minlength=nx * ny) / count, "mean loss"
        elif color_by == "correct":
            wrong = ~table["correct"].to_numpy(dtype=bool)[rows]
            value, what = np.bincount(flat, weights=wrong, minlength=nx * ny) / count, "share wrong"
        else:
            codes = pd.Categorical(table[color_by].to_numpy()[rows], categories=list(labels)).codes
            per = np.zeros((len(labels), nx * ny))
            np.add.at(per, (codes[codes >= 0], flat[codes >= 0]), 1.0)
            top = per.argmax(axis=0)
            share = per.max(axis=0) / count
            names = np.array([plotly_escape(x) for x in labels], dtype=object)[top]
            value, what = np.log10(count), "samples (log10)"
            hover = np.char.add(np.char.add(names.astype(str), " "), np.char.mod("%.0f%%", np.nan_to_num(share) * 100))
            return count, value, hover, what
    return count, value, np.char.mod("%.3f", np.nan_to_num(value)), what


def _span(values: np.ndarray, given: tuple[float, float] | None) -> tuple[float, float]:
    """The window along one axis: ``given`` (sorted), else the finite values' extent."""
    if given:
        low, high = sorted(float(v) for v in given)
        return low, high
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)


def density_bin_edges(table: pd.DataFrame, *, bins: int = DENSITY_BINS, x_range: tuple[float, float] | None = None,
                      y_range: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The x and y bin edges :func:`density_embedding_figure` uses for this window (``bins + 1`` each).

    A click on the heatmap's cell ``[row, col]`` covers ``x_edges[col:col + 2]`` and ``y_edges[row:row + 2]``.
    """
    bins = max(2, int(bins))
    xr = _span(table["umap_x"].to_numpy(dtype=np.float64), x_range)
    yr = _span(table["umap_y"].to_numpy(dtype=np.float64), y_range)
    return (np.linspace(xr[0], xr[1] if xr[1] > xr[0] else xr[0] + 1e-6, bins + 1),
            np.linspace(yr[0], yr[1] if yr[1] > yr[0] else yr[0] + 1e-6, bins + 1))


def density_embedding_figure(
    table: pd.DataFrame,
    *,
    color_by: str,
    labels: Sequence[str],
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    bins: int = DENSITY_BINS,
    max_points: int = DENSITY_MAX_POINTS,
) -> go.Figure:
    """The embedding map for many samples: a binned density heatmap, or points once few are in view.

    Parameters
    ----------
    table : the analysis table (``text, label, pred, loss, correct, umap_x, umap_y``), any number of rows.
    color_by : as :func:`embedding_figure`. ``label``/``pred``: the colour is the number of samples
        per bin (log10) and the hover names the bin's most common class and its share; ``loss``: the
        bin's mean loss; ``correct``: its share of wrong predictions.
    x_range, y_range : the window in view (the whole map when ``None``), e.g. after the user zooms.
    bins : bins along each axis of the window.
    max_points : when the window holds at most this many samples they are drawn one by one
        (:func:`embedding_figure`, clickable, with hover texts) instead of binned.

    Notes
    -----
    Only the window's bins (at most ``bins``² cells) or its points reach the browser, so the figure
    stays small at any N. Each heatmap cell's ``customdata`` is ``[x0, x1, y0, y1]`` (the bin's box);
    :func:`density_cell_rows` lists exactly the samples of a clicked cell.
    """
    if color_by not in EMBEDDING_COLORINGS:
        raise ValueError(f"color_by must be one of {sorted(EMBEDDING_COLORINGS)}; got {color_by!r}")
    require_columns(table, ("text", "label", "pred", "loss", "correct", "umap_x", "umap_y"))
    xr = _span(table["umap_x"].to_numpy(dtype=np.float64), x_range)
    yr = _span(table["umap_y"].to_numpy(dtype=np.float64), y_range)
    inside = _window_rows(table, xr, yr)
    title = f"embedding (UMAP), coloured by {color_by}"
    if len(inside) == 0:
        return empty("no samples in view", title=title, height=480)
    if len(inside) <= max_points:
        fig = embedding_figure(table.iloc[inside], color_by=color_by, labels=labels)
        if x_range or y_range:
            fig.update_xaxes(range=list(xr))
            fig.update_yaxes(range=list(yr))
        return fig
    x_edges, y_edges = density_bin_edges(table, bins=bins, x_range=x_range, y_range=y_range)
    bins = len(x_edges) - 1
    count, value, hover, what = _bin_stats(table, inside, x_edges, y_edges, color_by, labels)
    shape = (bins, bins)
    z = np.where(count > 0, value, np.nan).reshape(shape)
    xc, yc = (x_edges[:-1] + x_edges[1:]) / 2, (y_edges[:-1] + y_edges[1:]) / 2
    x0, y0 = np.meshgrid(x_edges[:-1], y_edges[:-1])
    x1, y1 = np.meshgrid(x_edges[1:], y_edges[1:])
    box = np.stack([x0, x1, y0, y1], axis=-1)
    text = np.char.add(np.char.add(np.char.mod("%d samples<br>", count), f"{what}: "), hover)
    text = np.where(count > 0, text, "0 samples").reshape(shape)  # empty cells: a short text (they are most)
    scale = "Viridis" if color_by in ("loss", "correct") else "Blues"
    fig = go.Figure(go.Heatmap(
        x=xc, y=yc, z=z, customdata=box, text=text, hovertemplate="%{text}<extra></extra>", colorscale=scale,
        colorbar={"title": {"text": what}, "thickness": 12}, hoverongaps=False,
    ))
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, title_text=None, range=list(xr))
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, title_text=None, range=list(yr))
    fig.update_layout(hovermode="closest")
    return style(fig, title=f"{title}: density of {len(inside):,} samples (zoom in for points)", height=480)
