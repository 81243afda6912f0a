"""Embedding-map tab: the UMAP of the hidden states, coloured four ways; pick samples (click, box, lasso), zoom in."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pandas as pd

from dashboard import figures, queries
from dashboard.plotly_bridge import figure_value, interactive_plot
from dashboard.sample_panel import build_sample_panel
from dashboard.tabs.shared import open_sample_wiring, sample_list

Window = tuple[tuple[float, float], tuple[float, float]]


def zoom_window(data: object) -> Window | None:
    """The map window a plotly zoom event names (``{x0, x1, y0, y1}``, sent by ``assets/plotly_bridge.js``),
    or ``None`` for a reset (``{reset: true}``, a double-click or autoscale) or anything unusable."""
    if not isinstance(data, dict) or data.get("reset"):
        return None
    try:
        x0, x1, y0, y1 = (float(data[k]) for k in ("x0", "x1", "y0", "y1"))
    except (KeyError, TypeError, ValueError):
        return None
    if not all(np.isfinite([x0, x1, y0, y1])) or x0 == x1 or y0 == y1:
        return None
    return (min(x0, x1), max(x0, x1)), (min(y0, y1), max(y0, y1))


def map_figure(table: pd.DataFrame, *, color_by: str, labels, window: Window | None = None,
               max_points: int = figures.MAP_MAX_POINTS):
    """The embedding map of ``window`` (the whole map when ``None``): every sample in it as a point (hover
    text, click to open), or ``max_points`` of them sampled per class when it holds more."""
    x_range, y_range = window if window is not None else (None, None)
    return figures.map_window_figure(table, color_by=color_by, labels=labels, x_range=x_range,
                                     y_range=y_range, max_points=max_points)


def picked_positions(table: pd.DataFrame, data: object, color_by: str) -> np.ndarray | None:
    """Row positions a box or lasso selection covers (its geometry, sent by ``assets/plotly_bridge.js``, over
    the whole table: drawn or not), legend entries switched off left out; ``None`` for a click or a
    selection without geometry."""
    if not isinstance(data, dict) or data.get("kind") != "box" or not (data.get("range") or data.get("lasso")):
        return None
    hidden = [str(h) for h in data.get("hidden") or []]
    try:
        return figures.rows_in_selection(table, box=data.get("range"), lasso=data.get("lasso"),
                                         color_by=color_by, hidden=hidden)
    except (TypeError, ValueError):
        return None


def build_embedding_tab(service, split: gr.Dropdown, *, max_points: int = figures.MAP_MAX_POINTS) -> tuple:
    """UMAP of the hidden states coloured four ways; click or box-select to list samples; zoom for points.

    Returns ``(send button, [split, sample id] state, (fn, inputs, outputs))``: the last draws the map the first time
    the tab is opened (the app runs it on the tab's select event).

    Up to ``max_points`` samples in view every point is drawn; past that ``max_points`` of them, sampled per
    class, so the browser never gets 400,000 points and the legend keeps one entry per class. A box or
    lasso lists every sample inside it, drawn or not. Zooming (or panning) redraws the map for the window
    in view, on the server: every point once the window holds few enough samples; a double-click,
    autoscale or "whole map" returns to the full map.
    """
    labels = service.labels
    with gr.Row():
        color_by = gr.Radio(list(figures.EMBEDDING_COLORINGS), value="label", label="colour by",
                            elem_id="map-color")
        whole = gr.Button("Whole map", size="sm", scale=0, min_width=120, elem_id="map-reset")
    # Drawn when the tab first opens (a 400,000-row map and its JSON cost 0.65 s of the first page).
    plot = interactive_plot(None, elem_id="map-plot")
    window = gr.State(None)
    drawn = gr.State(False)
    picked_summary = gr.Textbox(label="picked", interactive=False, elem_id="map-picked")
    rows = sample_list("map-table", label="picked samples, highest loss first")
    panel = build_sample_panel(prefix="map")
    send = gr.Button("Send to review", size="sm", elem_id="map-send-review")

    def redraw(split_, color_by_, window_=None):
        table = service.analyses.table(split_)
        return figure_value(map_figure(table, color_by=color_by_, labels=labels, window=window_,
                                       max_points=max_points)), window_

    def on_zoom(split_, color_by_, evt: gr.EventData):
        return redraw(split_, color_by_, zoom_window(getattr(evt, "_data", None)))

    def on_pick(split_, color_by_, evt: gr.SelectData):
        table = service.analyses.table(split_)
        inside = picked_positions(table, getattr(evt, "_data", None), color_by_)
        if inside is not None:  # a box or lasso: every sample inside it, drawn or not
            ids = table.index[inside].tolist()
        else:
            ids = [v for v in (evt.value if isinstance(evt.value, list) else []) if v is not None]
            ids = [int(v[0] if isinstance(v, list) else v) for v in ids]
        picked = service.analyses.by_ids(split_, ids)
        return f"{len(picked)} samples picked", queries.as_list(picked)

    def first_draw(split_, color_by_, drawn_):
        if drawn_:  # opened before: keep the user's zoom
            return gr.skip(), gr.skip(), True
        return (*redraw(split_, color_by_), True)

    split.change(lambda s, c: redraw(s, c), [split, color_by], [plot, window], api_visibility="private")
    whole.click(lambda s, c: redraw(s, c), [split, color_by], [plot, window], api_visibility="private")
    color_by.change(redraw, [split, color_by, window], [plot, window], api_visibility="private")
    plot.zoom(on_zoom, [split, color_by], [plot, window], trigger_mode="always_last", api_visibility="private")
    plot.select(on_pick, [split, color_by], [picked_summary, rows], trigger_mode="always_last",
                api_visibility="private")
    open_sample_wiring(service, rows, panel, split)
    return send, panel.ref, (first_draw, [split, color_by, drawn], [plot, window, drawn])
