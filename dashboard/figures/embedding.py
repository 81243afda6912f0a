"""The embedding map: every sample as a WebGL point, or a sample of them per colour group when a window holds
too many.

The browser never gets more than :data:`MAP_MAX_POINTS` points. Past that, the points drawn are sampled per
class (or per colour group: correct and wrong), so the map keeps the colouring its title names and its
legend has one entry per class; zooming in draws the rest. A box or lasso selects by its geometry over the
whole table (:func:`rows_in_selection`), so it lists the samples inside, drawn or not.
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


MAP_MAX_POINTS = 10_000  # a window with at most this many samples is drawn point by point (hover texts cost)


def _window_rows(table: pd.DataFrame, xr: tuple[float, float], yr: tuple[float, float]) -> np.ndarray:
    x, y = table["umap_x"].to_numpy(dtype=np.float64), table["umap_y"].to_numpy(dtype=np.float64)
    return np.flatnonzero((x >= xr[0]) & (x <= xr[1]) & (y >= yr[0]) & (y <= yr[1]))


def _span(values: np.ndarray, given: tuple[float, float] | None) -> tuple[float, float]:
    """The window along one axis: ``given`` (sorted), else the finite values' extent."""
    if given:
        low, high = sorted(float(v) for v in given)
        return low, high
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)


def colour_groups(table: pd.DataFrame, color_by: str) -> np.ndarray:
    """Each row's legend entry under ``color_by``: its class (``label``, ``pred``), ``correct``/``wrong``, or
    ``loss`` (one group: a continuous scale)."""
    if color_by in ("label", "pred"):
        return table[color_by].astype(str).to_numpy()
    if color_by == "correct":
        return np.where(table["correct"].to_numpy(dtype=bool), "correct", "wrong")
    return np.full(len(table), "loss", dtype=object)


def sample_per_group(groups: np.ndarray, max_points: int, *, seed: int = 0) -> np.ndarray:
    """Sorted positions of at most ``max_points`` rows, drawn per group: each group keeps its share of the
    points, and at least ``max_points // (2 * groups)`` of its rows (all of a small one), so no class vanishes.

    >>> g = np.array(["a"] * 990 + ["b"] * 10)
    >>> picked = sample_per_group(g, 100)
    >>> len(picked), int((g[picked] == "b").sum())
    (100, 10)
    """
    names, codes, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if len(groups) <= max_points:
        return np.arange(len(groups))
    floor = np.minimum(sizes, max_points // (2 * len(names)))
    quota = floor + np.floor((max_points - floor.sum()) * (sizes - floor) / max(1, (sizes - floor).sum()))
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(codes == g), size=int(min(q, n)), replace=False)
              for g, (q, n) in enumerate(zip(quota, sizes, strict=True))]
    return np.sort(np.concatenate(picked))


def map_window_figure(
    table: pd.DataFrame,
    *,
    color_by: str,
    labels: Sequence[str],
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    max_points: int = MAP_MAX_POINTS,
    seed: int = 0,
) -> go.Figure:
    """The embedding map of a window, for any number of samples: every point in it, or a sample per group.

    Parameters
    ----------
    table : the analysis table (``text, label, pred, loss, correct, umap_x, umap_y``), any number of rows.
    color_by : as :func:`embedding_figure`; the colouring is kept however many samples are in view.
    x_range, y_range : the window in view (the whole map when ``None``), e.g. after the user zooms.
    max_points : when the window holds more samples, ``max_points`` of them are drawn, sampled per
        colour group (:func:`sample_per_group`, seeded by ``seed``); the title says how many are drawn.

    Notes
    -----
    Only drawn points reach the browser, so the figure stays small at any N. A box or lasso over a
    sampled map names its geometry; :func:`rows_in_selection` lists every sample inside it.
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
    drawn = inside[sample_per_group(colour_groups(table.iloc[inside], color_by), max_points, seed=seed)]
    fig = embedding_figure(table.iloc[drawn], color_by=color_by, labels=labels)
    if x_range or y_range or len(drawn) < len(inside):
        fig.update_xaxes(range=list(xr))
        fig.update_yaxes(range=list(yr))
    if len(drawn) < len(inside):
        how = {"label": "sampled per class", "pred": "sampled per class", "correct": "sampled per group"}
        note = (f"{len(drawn):,} of {len(inside):,} samples drawn, {how.get(color_by, 'a random sample')}: "
                "zoom in for all; a box or lasso lists every sample inside")
        fig.update_layout(title_text=f"{title}<br><sup>{note}</sup>", margin_t=64)
    return fig


def _in_polygon(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Whether each point (x, y) lies inside the polygon (px, py) (even-odd rule, the polygon closed)."""
    inside = np.zeros(len(x), dtype=bool)
    for (x0, y0), (x1, y1) in zip(zip(px, py, strict=True), zip(np.roll(px, 1), np.roll(py, 1), strict=True),
                                  strict=True):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < at)
    return inside


def rows_in_selection(table: pd.DataFrame, *, box: dict | None = None, lasso: dict | None = None,
                      color_by: str | None = None, hidden: Sequence[str] = ()) -> np.ndarray:
    """Row positions of every sample inside a box (``{"x": [x0, x1], "y": [y0, y1]}``) or a lasso
    (``{"x": [...], "y": [...]}``, the polygon's corners), as plotly's selection event names them.

    ``hidden``: legend entries switched off (escaped names, as the traces are named); under ``color_by``
    their samples are left out, as plotly leaves out hidden points.
    """
    x, y = table["umap_x"].to_numpy(dtype=np.float64), table["umap_y"].to_numpy(dtype=np.float64)
    if lasso and len(lasso.get("x") or []) >= 3:
        keep = _in_polygon(x, y, np.asarray(lasso["x"], dtype=np.float64), np.asarray(lasso["y"], dtype=np.float64))
    elif box and len(box.get("x") or []) == 2 and len(box.get("y") or []) == 2:
        (x0, x1), (y0, y1) = sorted(map(float, box["x"])), sorted(map(float, box["y"]))
        keep = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    else:
        raise ValueError("a selection needs a box (x and y ranges) or a lasso (three corners or more)")
    if color_by and hidden:
        names = np.array([plotly_escape(str(g)) for g in colour_groups(table, color_by)], dtype=object)
        keep &= ~np.isin(names, list(hidden))
    return np.flatnonzero(keep)
