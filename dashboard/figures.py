"""Plotly figure builders: data in, ``go.Figure`` out (no I/O, no Gradio, no torch).

Every builder takes plain data (dicts, arrays, the analysis table of :mod:`core.analysis.table`) and
returns a figure in one house look (``plotly_white``, tight margins, 320-480 px high). Label
colours come from :func:`label_colors`, so a class has the same colour in every figure.

User text (tweets) may hold HTML or script; plotly renders hover labels as HTML-like markup, so every
piece of user text that reaches a hover label or a tick is escaped with :func:`html.escape` (:func:`plotly_escape`) and
long texts are truncated (:func:`hover_snippet`).
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

TEMPLATE = "plotly_white"
FONT = {"size": 13}
MARGIN = {"l": 10, "r": 10, "t": 48, "b": 10}
HOVER_CHARS = 200
HOVER_LINE = 60

# Okabe & Ito's colour-blind-safe palette, then Paul Tol's "muted" for label sets beyond it.
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#CC79A7", "#D55E00", "#009E73", "#56B4E9", "#F0E442",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
)
# The six emotions get colours that suit them: sadness blue, joy orange, love pink, anger red, ...
EMOTION_COLORS: dict[str, str] = {
    "sadness": "#0072B2", "joy": "#E69F00", "love": "#CC79A7",
    "anger": "#D55E00", "fear": "#009E73", "surprise": "#56B4E9",
}
POSITIVE, NEGATIVE = "#D55E00", "#0072B2"  # attribution toward / away from a class
CORRECT, WRONG = "#0072B2", "#D55E00"


def label_colors(labels: Sequence[str]) -> dict[str, str]:
    """A fixed hex colour per label name.

    The six emotion names always get the same colours; other names take the unused palette colours
    in the order given (so pass labels in model order), cycling past 16 labels.
    """
    colors: dict[str, str] = {}
    free = [c for c in PALETTE if c not in {EMOTION_COLORS[x] for x in labels if x in EMOTION_COLORS}]
    i = 0
    for name in labels:
        if name in colors:
            continue
        if name in EMOTION_COLORS:
            colors[name] = EMOTION_COLORS[name]
        else:
            colors[name] = free[i % len(free)] if free else PALETTE[i % len(PALETTE)]
            i += 1
    return colors


def plotly_escape(text: object) -> str:
    """:func:`html.escape` for plotly text. plotly.js decodes numeric entities and only a few named
    ones (``&lt; &gt; &amp;`` ...), not ``&quot;``, so a double quote is written as ``&#34;``.

    >>> plotly_escape('<b onclick="x">hi</b> & bye')
    '&lt;b onclick=&#34;x&#34;&gt;hi&lt;/b&gt; &amp; bye'
    """
    return html.escape(str(text)).replace("&quot;", "&#34;")


def hover_snippet(text: str, *, limit: int = HOVER_CHARS, width: int = HOVER_LINE) -> str:
    """``text`` made safe for a hover label: truncated to ``limit`` chars, wrapped, HTML-escaped."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    lines = textwrap.wrap(text, width=width, break_long_words=True) or [""]
    return "<br>".join(plotly_escape(line) for line in lines)


def _style(fig: go.Figure, *, title: str | None, height: int) -> go.Figure:
    fig.update_layout(
        template=TEMPLATE, font=FONT, height=height, margin=MARGIN,
        title={"text": title, "x": 0.01, "xanchor": "left"} if title else None,
    )
    return fig


def _empty(message: str, *, title: str | None, height: int) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=plotly_escape(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _style(fig, title=title, height=height)


def _require(table: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}")


def probability_bars(probs: Mapping[str, float], *, title: str | None = None) -> go.Figure:
    """Horizontal bars of every class probability in percent, largest at the top.

    Parameters
    ----------
    probs : label name -> probability in [0, 1], in model order (that order fixes the colours).

    >>> bars = probability_bars({"fear": 0.2, "joy": 0.7, "love": 0.1}).data[0]
    >>> list(bars.y), list(bars.x)
    (['joy', 'fear', 'love'], [70.0, 20.0, 10.0])
    """
    if not probs:
        raise ValueError("probs is empty")
    values = np.asarray(list(probs.values()), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("probs must be finite")
    colors = label_colors(list(probs))
    order = sorted(probs, key=lambda name: -float(probs[name]))
    pct = [100.0 * float(probs[name]) for name in order]
    fig = go.Figure(go.Bar(
        x=pct, y=[plotly_escape(n) for n in order], orientation="h",
        marker_color=[colors[n] for n in order],
        text=[f"{p:.1f}%" for p in pct], textposition="auto", cliponaxis=False,
        hovertemplate="%{y}: %{x:.2f}%<extra></extra>",
    ))
    fig.update_xaxes(range=[0, 100], title_text="probability (%)")
    fig.update_yaxes(autorange="reversed")
    return _style(fig, title=title, height=max(220, 60 + 40 * len(order)))


def token_attribution_bars(
    tokens_and_values: Sequence[tuple[str, float]], *, label: str, k: int = 10
) -> go.Figure:
    """The ``k`` tokens with the largest ``|value|`` as horizontal bars, largest at the top.

    Parameters
    ----------
    tokens_and_values : (token, attribution toward ``label``) per token, T pairs; tokens may repeat.
    label : the class the values are attributions toward (named in the title).
    k : how many tokens to show, at least 1.

    Notes
    -----
    Positive values (pushing toward ``label``) are warm, negative ones cool. Bars sit on positions
    ``0 .. k-1`` with the tokens as tick text, so a token that occurs twice keeps two bars.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}")
    title = f"toward {plotly_escape(label)} / away"
    if not tokens_and_values:
        return _empty("no tokens to explain", title=title, height=320)
    tokens = [str(t) for t, _ in tokens_and_values]
    values = np.asarray([v for _, v in tokens_and_values], dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("attribution values must be finite")
    top = np.argsort(-np.abs(values), kind="stable")[:k]
    shown = [plotly_escape(tokens[i]) for i in top]
    fig = go.Figure(go.Bar(
        x=values[top], y=list(range(len(top))), orientation="h",
        marker_color=[POSITIVE if values[i] > 0 else NEGATIVE for i in top],
        customdata=shown, hovertemplate="%{customdata}: %{x:+.4f}<extra></extra>",
    ))
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(top))), ticktext=shown, autorange="reversed")
    fig.update_xaxes(title_text=f"attribution (+ toward {plotly_escape(label)}, - away)", zeroline=True,
                     zerolinecolor="#888")
    return _style(fig, title=title, height=max(240, 80 + 28 * len(top)))


def confusion_figure(matrix: np.ndarray, labels: Sequence[str], *, normalize: bool) -> go.Figure:
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
    return _style(fig, title="confusion matrix (row %)" if normalize else "confusion matrix (counts)", height=440)


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
    _require(table, ("text", "label", "pred", "loss", "correct", "umap_x", "umap_y"))
    title = f"embedding (UMAP), coloured by {color_by}"
    if len(table) == 0:
        return _empty("no samples", title=title, height=480)
    hover = np.asarray(_hover_texts(table), dtype=object)
    ids = table.index.to_numpy()
    fig = go.Figure(EMBEDDING_COLORINGS[color_by](table, hover, ids, labels))
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, title_text=None)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, title_text=None)
    fig.update_layout(dragmode="select", legend={"itemsizing": "constant"}, hovermode="closest")
    return _style(fig, title=title, height=480)


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
    _require(table, ("text", "label", "pred", "loss", "correct", "umap_x", "umap_y"))
    xr = _span(table["umap_x"].to_numpy(dtype=np.float64), x_range)
    yr = _span(table["umap_y"].to_numpy(dtype=np.float64), y_range)
    inside = _window_rows(table, xr, yr)
    title = f"embedding (UMAP), coloured by {color_by}"
    if len(inside) == 0:
        return _empty("no samples in view", title=title, height=480)
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
    return _style(fig, title=f"{title}: density of {len(inside):,} samples (zoom in for points)", height=480)


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
    return _style(fig, title=title, height=340)


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
    _require(table, ("label", "n_tokens"))
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
    return _style(fig, title="text length by class", height=360)


def loss_histogram(table: pd.DataFrame, *, bins: int = 40) -> go.Figure:
    """Overlaid histograms of the per-sample loss, correct vs wrong predictions, on shared bins.

    Parameters
    ----------
    table : the analysis table, N rows (``loss``, ``correct``).
    bins : number of equal-width bins over ``[0, max loss]``.

    Notes
    -----
    The counts are binned here (``np.histogram``) and drawn as bars, so the figure holds ``2 * bins``
    numbers at any N; non-finite losses are left out.
    """
    _require(table, ("loss", "correct"))
    if bins < 1:
        raise ValueError(f"bins must be at least 1; got {bins}")
    loss = table["loss"].to_numpy(dtype=np.float64)
    ok = table["correct"].to_numpy(dtype=bool)
    finite = np.isfinite(loss)
    size = max(float(loss[finite].max()) if finite.any() else 1.0, 1e-6) / bins
    edges = np.arange(bins + 1) * size
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
    fig.update_yaxes(title_text="samples")
    return _style(fig, title="loss distribution", height=340)


def reliability_figure(series: Mapping[str, pd.DataFrame], *, title: str | None = "reliability") -> go.Figure:
    """Accuracy against mean confidence per confidence bin, one line per series, and the diagonal.

    Parameters
    ----------
    series : name -> a reliability table (:func:`core.analysis.calibration.reliability`: ``lo, hi, n, confidence,
        accuracy``); empty bins (``n == 0``) are left out. Points on the diagonal are calibrated; points
        below it are over-confident.
    """
    if not series:
        return _empty("nothing to show", title=title, height=380)
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#888"},
                               name="calibrated", hoverinfo="skip"))
    for i, (name, table) in enumerate(series.items()):
        _require(table, ["lo", "hi", "n", "confidence", "accuracy"])
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
    return _style(fig, title=title, height=420)


def robustness_figure(table: pd.DataFrame, labels: Sequence[str], *, value: str = "changed") -> go.Figure:
    """Grouped bars per edit: one bar per predicted class, and a marker for all rows.

    Parameters
    ----------
    table : :meth:`core.explanation.robustness.RobustnessReport.table` (``edit``, ``applies to``, ``all``, one column
        per label), values in percent or points.
    value : ``changed`` (share of predictions that change) or ``mean_shift`` (mean shift of the predicted
        class's probability), only for the axis title.
    """
    _require(table, ["edit", "all", *labels])
    titles = {"changed": "predictions that change (%)", "mean_shift": "mean shift of the predicted class (points)"}
    if value not in titles:
        raise ValueError(f"value must be one of {sorted(titles)}, got {value!r}")
    if table.empty:
        return _empty("no edits", title=titles[value], height=420)
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
    return _style(fig, title=titles[value], height=460)
