"""Losses, confusion matrix, embedding map and overview: browse an analysed split and open samples.

Every view takes the app's split selector as an input, so switching split redraws every view from
that split's cached analysis.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
import pandas as pd

from dashboard import figures, queries, tables
from dashboard.plotly_bridge import figure_value, interactive_plot
from dashboard.sample_panel import build_sample_panel, show_sample
from dashboard.tabs.calibration import build_calibration_block, calibration_views

EMPTY_LIST = pd.DataFrame(columns=queries.LIST_COLUMNS)


def _selected_id(evt: gr.SelectData) -> int | None:
    row = getattr(evt, "row_value", None)
    if not row:
        return None
    try:
        return int(row[0])
    except (TypeError, ValueError):
        return None


def _sample_list(elem_id: str, label: str = "samples") -> gr.Dataframe:
    return gr.Dataframe(EMPTY_LIST, label=label, interactive=False, wrap=True, max_height=420,
                        elem_id=elem_id, column_widths=["8%", "8%", "10%", "10%", "9%", "9%", "46%"])


def _open_sample_wiring(service, table: gr.Dataframe, panel, split: gr.Dropdown) -> None:
    """Selecting a row opens the sample in the panel."""

    def on_select(split_, evt: gr.SelectData):
        return show_sample(service, _selected_id(evt), split=split_)

    table.select(on_select, split, panel.outputs, trigger_mode="always_last", api_visibility="private")


def prob_note(service, split: str | None, source: str | None = None) -> str:
    """Which probabilities the split's losses and rankings use, in one line."""
    from core.analysis.workspace import PROB_SOURCES

    a = service.analysis(split)
    source = source if source in a.sources else a.sources[0]
    note = f"**{a.split}** split, {len(a.table)} samples · probabilities: {PROB_SOURCES[source]}."
    if source == "out-of-fold" and a.oof_meta:
        m = a.oof_meta
        note += (f" ({m.get('method')}, {m.get('folds', '?')} folds of {m.get('recipe', {}).get('base', '?')}, "
                 f"{m.get('n_rows')} rows)")
    return note


def source_choice(service, prefix: str) -> gr.Radio:
    """The probability-source selector, shown when the split has more than one source."""
    sources = service.analysis(None).sources
    return gr.Radio(sources, value=sources[0], label="rank with probabilities", visible=len(sources) > 1,
                    elem_id=f"{prefix}-source")


def source_update(service, split: str | None) -> gr.Radio:
    """The selector's choices for ``split`` (hidden where there is one source)."""
    sources = service.analysis(split).sources
    return gr.Radio(choices=sources, value=sources[0], visible=len(sources) > 1)


def build_losses_tab(service, split: gr.Dropdown) -> tuple:
    """Samples sorted by loss (or mislabel score), filtered by labels, confidence and text, paged.

    Returns ``(refresh, inputs, outputs)`` so the app can fill the list when the page loads, and
    ``(send button, sample id)`` for sending the open sample to review.
    """
    choices = queries.label_choices(service.labels)
    with gr.Row():
        order = gr.Radio(list(queries.ORDERS), value="highest loss", label="order", elem_id="loss-order")
        true_label = gr.Dropdown(choices, value=queries.ANY, label="true label")
        pred_label = gr.Dropdown(choices, value=queries.ANY, label="predicted label")
    with gr.Row():
        search = gr.Textbox(label="text contains", placeholder="plain text search", scale=3)
        min_conf, max_conf = confidence_range("loss")
        page_size = gr.Slider(5, 100, value=20, step=5, label="page size", scale=2)
        page_number = gr.Number(value=1, precision=0, minimum=1, label="page", scale=1)
    source = source_choice(service, "loss")
    note = gr.Markdown(prob_note(service, None), elem_id="loss-prob-note")
    summary = gr.Textbox(label="matches", interactive=False, lines=1, elem_id="loss-summary")
    rows = _sample_list("loss-table")
    panel = build_sample_panel()
    send = gr.Button("Send to review", size="sm", elem_id="loss-send-review")

    def refresh(split_, source_, order_, true_, pred_, search_, lo, hi, size_, number_):
        a = service.analysis(split_)
        source_ = source_ if source_ in a.sources else a.sources[0]
        table = a.ranked(source_)
        matched = queries.filter_samples(table, order=order_, true_label=true_, pred_label=pred_,
                                         search=search_ or "", confidence=(lo, hi))
        shown, n_pages = queries.page(matched, page_number=int(number_ or 1), page_size=int(size_))
        text = f"{len(matched)} samples · page {min(int(number_ or 1), n_pages)} of {n_pages}"
        return queries.as_list(shown), text, prob_note(service, split_, source_)

    inputs = [split, source, order, true_label, pred_label, search, min_conf, max_conf, page_size, page_number]
    split.change(lambda s: source_update(service, s), split, source, api_visibility="private")
    for control in inputs:
        event = control.submit if control is search else (control.release if control in (min_conf, max_conf)
                                                           else control.change)
        event(refresh, inputs, [rows, summary, note], api_visibility="private")
    _open_sample_wiring(service, rows, panel, split)
    return (refresh, inputs, [rows, summary, note]), (send, panel.sample_id)


def confidence_range(prefix: str) -> tuple[gr.Slider, gr.Slider]:
    """Two sliders bounding the model's confidence (its top probability), 0 to 1."""
    lo = gr.Slider(0, 1, value=0, step=0.01, label="confidence from", scale=1, elem_id=f"{prefix}-conf-min")
    hi = gr.Slider(0, 1, value=1, step=0.01, label="confidence to", scale=1, elem_id=f"{prefix}-conf-max")
    return lo, hi


def _overall(service, split: str | None) -> str:
    meta = service.analysis(split).meta
    return f"accuracy {meta['accuracy']:.4f} · weighted F1 {meta['f1_weighted']:.4f}"


def build_confusion_tab(service, split: gr.Dropdown) -> tuple:
    """Clickable confusion matrix with per-class metrics; a cell lists its samples, paged.

    Returns ``(send button, sample id, (fn, inputs, outputs))``: the last draws the matrix and the
    per-class report the first time the tab is opened (the app runs it on the tab's select event).
    """
    labels = service.labels

    def matrix_of(split_):
        return tables.confusion_matrix_of(service.analysis(split_).table, labels)

    with gr.Row():
        with gr.Column(scale=3):
            mode = gr.Radio(["counts", "row-normalised"], value="counts", label="show", elem_id="cm-mode")
            # Drawn when the tab first opens: plotly's first figure costs 0.4 s of the first page.
            plot = interactive_plot(None, elem_id="cm-plot")
        with gr.Column(scale=2):
            report = gr.Dataframe(None, headers=list(tables.REPORT_COLUMNS),
                                  label="per-class precision, recall, F1 and support", interactive=False)
            overall = gr.Textbox(value=_overall(service, None), label="overall", interactive=False)
    cell = gr.Textbox(label="cell", interactive=False, elem_id="cm-cell")
    picked = gr.State(None)
    drawn = gr.State(False)
    with gr.Row():
        page_number = gr.Number(value=1, precision=0, minimum=1, label="page", scale=1, elem_id="cm-page")
        page_size = gr.Slider(5, 100, value=20, step=5, label="page size", scale=2)
    rows = _sample_list("cm-table", label="samples in the cell, highest loss first")
    panel = build_sample_panel()
    send = gr.Button("Send to review", size="sm", elem_id="cm-send-review")

    def redraw(split_, mode_):
        table = service.analysis(split_).table
        fig = figures.confusion_figure(matrix_of(split_), labels, normalize=mode_ != "counts")
        return (figure_value(fig), tables.per_class_report(table, labels).round(3), _overall(service, split_),
                None, "", EMPTY_LIST)

    def show_cell(split_, cell_, number_, size_):
        if not cell_:
            return "", EMPTY_LIST
        r, c = cell_
        matched = queries.cell_samples(service.analysis(split_).table, true_label=labels[r], pred_label=labels[c])
        shown, n_pages = queries.page(matched, page_number=int(number_ or 1), page_size=int(size_))
        return (f"true {labels[r]} · predicted {labels[c]} · {len(matched)} samples · page "
                f"{min(int(number_ or 1), n_pages)} of {n_pages}", queries.as_list(shown))

    def on_cell(split_, size_, evt: gr.SelectData):
        cell_ = [int(x) for x in evt.index]
        return (cell_, 1, *show_cell(split_, cell_, 1, size_))

    def first_draw(split_, mode_, drawn_):
        if drawn_:  # opened before: the split and mode controls keep it current
            return (*[gr.skip()] * 6, True)
        return (*redraw(split_, mode_), True)

    outputs = [plot, report, overall, picked, cell, rows]
    for control in (split, mode):
        control.change(redraw, [split, mode], outputs, api_visibility="private")
    plot.select(on_cell, [split, page_size], [picked, page_number, cell, rows], trigger_mode="always_last",
                api_visibility="private")
    for control in (page_number, page_size):
        control.change(show_cell, [split, picked, page_number, page_size], [cell, rows], api_visibility="private")
    _open_sample_wiring(service, rows, panel, split)
    return send, panel.sample_id, (first_draw, [split, mode, drawn], [*outputs, drawn])


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
               max_points: int = figures.DENSITY_MAX_POINTS):
    """The embedding map of ``window`` (the whole map when ``None``): a density when the window holds more
    than ``max_points`` samples, else every sample in it as a point (hover text, click to open)."""
    x_range, y_range = window if window is not None else (None, None)
    return figures.density_embedding_figure(table, color_by=color_by, labels=labels, x_range=x_range,
                                            y_range=y_range, max_points=max_points)


def build_embedding_tab(service, split: gr.Dropdown, *, max_points: int = figures.DENSITY_MAX_POINTS) -> tuple:
    """UMAP of the hidden states coloured four ways; click or box-select to list samples; zoom for points.

    Returns ``(send button, sample id, (fn, inputs, outputs))``: the last draws the map the first time
    the tab is opened (the app runs it on the tab's select event).

    Up to ``max_points`` samples in view every point is drawn; past that the map is a binned density
    (a click on a cell lists that cell's samples), so the browser never gets 400,000 points. Zooming
    (or panning) redraws the map for the window in view, on the server: points once the window holds
    few enough samples; a double-click, autoscale or "whole map" returns to the full map.
    """
    labels = service.labels
    with gr.Row():
        color_by = gr.Radio(list(figures.EMBEDDING_COLORINGS), value="label", label="colour by",
                            elem_id="map-color")
        whole = gr.Button("Whole map", size="sm", scale=0, min_width=120, elem_id="map-reset")
    # Drawn when the tab first opens (the 400,000-row density and its JSON cost 0.65 s of the first page).
    plot = interactive_plot(None, elem_id="map-plot")
    window = gr.State(None)
    drawn = gr.State(False)
    picked_summary = gr.Textbox(label="picked", interactive=False, elem_id="map-picked")
    rows = _sample_list("map-table", label="picked samples, highest loss first")
    panel = build_sample_panel()
    send = gr.Button("Send to review", size="sm", elem_id="map-send-review")

    def redraw(split_, color_by_, window_=None):
        table = service.analysis(split_).table
        return figure_value(map_figure(table, color_by=color_by_, labels=labels, window=window_,
                                       max_points=max_points)), window_

    def on_zoom(split_, color_by_, evt: gr.EventData):
        return redraw(split_, color_by_, zoom_window(getattr(evt, "_data", None)))

    def on_pick(split_, window_, evt: gr.SelectData):
        table = service.analysis(split_).table
        if not isinstance(evt.value, list):  # a density cell: index [row, col] of the window's bins
            r, c = (int(x) for x in evt.index)
            x_range, y_range = window_ if window_ else (None, None)
            ids = table.index[figures.density_cell_rows(table, r, c, x_range=x_range, y_range=y_range)].tolist()
        else:
            ids = [v for v in evt.value if v is not None]
            ids = [int(v[0] if isinstance(v, list) else v) for v in ids]
        picked = queries.by_ids(table, ids)
        return f"{len(picked)} samples picked", queries.as_list(picked)

    def first_draw(split_, color_by_, drawn_):
        if drawn_:  # opened before: keep the user's zoom
            return gr.skip(), gr.skip(), True
        return (*redraw(split_, color_by_), True)

    split.change(lambda s, c: redraw(s, c), [split, color_by], [plot, window], api_visibility="private")
    whole.click(lambda s, c: redraw(s, c), [split, color_by], [plot, window], api_visibility="private")
    color_by.change(redraw, [split, color_by, window], [plot, window], api_visibility="private")
    plot.zoom(on_zoom, [split, color_by], [plot, window], trigger_mode="always_last", api_visibility="private")
    plot.select(on_pick, [split, window], [picked_summary, rows], trigger_mode="always_last",
                api_visibility="private")
    _open_sample_wiring(service, rows, panel, split)
    return send, panel.sample_id, (first_draw, [split, color_by, drawn], [plot, window, drawn])


def overview_facts(service, split: str | None) -> pd.DataFrame:
    """Model, data and metrics of one analysis as a two-column table."""
    a = service.analysis(split)
    meta = a.meta
    from core.analysis.workspace import PROB_SOURCES

    return pd.DataFrame([
        ("model", str(meta.get("model"))), ("model fingerprint", str(meta.get("model_fingerprint"))),
        ("data", str(meta.get("data"))), ("split", f"{meta.get('split')} ({meta.get('n_rows')} samples)"),
        ("probabilities", PROB_SOURCES[a.prob_source]),
        ("accuracy", f"{meta.get('accuracy', float('nan')):.4f}"),
        ("weighted F1", f"{meta.get('f1_weighted', float('nan')):.4f}"),
        ("analysis built", f"{meta.get('created')} in {meta.get('seconds')} s"),
        ("libraries", ", ".join(f"{k} {v}" for k, v in (meta.get("versions") or {}).items())),
    ], columns=["what", "value"])


def overview_figures(service, split: str | None) -> tuple:
    """Class distribution, token lengths by class and the loss histogram of one analysis."""
    a = service.analysis(split)
    counts = a.table["label"].value_counts().reindex(a.labels, fill_value=0).astype(int).to_dict()
    return (figures.class_distribution_figure(counts, title=f"{a.split} samples per class"),
            figures.token_length_figure(a.table, a.labels), figures.loss_histogram(a.table))


def build_overview_tab(service, split: gr.Dropdown) -> tuple:
    """Which model and data, the metrics, class distribution and token lengths by class, calibration.

    The figures are built from aggregates (counts, box statistics, histogram bins), so they stay small
    at any N; they and the calibration block, which fits temperatures over every row, are filled when
    the tab is opened (0.4 s less before the first page at 400,000 rows). Returns
    ``(fn, inputs, outputs)`` for the app to run on the tab's select event.
    """
    facts = gr.Dataframe(overview_facts(service, None), label="model and data", interactive=False, wrap=True,
                         elem_id="overview-facts")
    if service.warnings:
        gr.Textbox("\n".join(service.warnings), label="warnings", interactive=False)
    with gr.Row():
        classes = gr.Plot(show_label=False)
        lengths = gr.Plot(show_label=False)
    losses = gr.Plot(show_label=False)

    def redraw(split_):
        return (overview_facts(service, split_), *overview_figures(service, split_))

    split.change(redraw, split, [facts, classes, lengths, losses], api_visibility="private")
    calibration = build_calibration_block(service, split, lazy=True)

    def fill(split_):
        return (*overview_figures(service, split_), *calibration_views(service, split_))

    return fill, split, [classes, lengths, losses, *calibration]
