"""Losses, confusion matrix and embedding map: browse the analysed split and open samples."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from dashboard import figures, queries, tables
from dashboard.plotly_bridge import figure_value, interactive_plot
from dashboard.sample_panel import build_sample_panel, show_sample

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


def _open_sample_wiring(service, table: gr.Dataframe, panel) -> None:
    """Selecting a row opens the sample in the panel."""

    def on_select(evt: gr.SelectData):
        return show_sample(service, _selected_id(evt))

    table.select(on_select, None, panel.outputs, trigger_mode="always_last", api_visibility="private")


def build_losses_tab(service) -> tuple:
    """Samples sorted by loss (or suspicion), filtered by labels and text, paged.

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
        page_size = gr.Slider(5, 100, value=20, step=5, label="page size", scale=2)
        page_number = gr.Number(value=1, precision=0, minimum=1, label="page", scale=1)
    summary = gr.Textbox(label="matches", interactive=False, lines=1)
    rows = _sample_list("loss-table")
    panel = build_sample_panel()
    send = gr.Button("Send to review", size="sm", elem_id="loss-send-review")

    def refresh(order_, true_, pred_, search_, size_, number_):
        matched = queries.filter_samples(service.table, order=order_, true_label=true_, pred_label=pred_,
                                         search=search_ or "")
        shown, n_pages = queries.page(matched, page_number=int(number_ or 1), page_size=int(size_))
        return queries.as_list(shown), f"{len(matched)} samples · page {min(int(number_ or 1), n_pages)} of {n_pages}"

    inputs = [order, true_label, pred_label, search, page_size, page_number]
    for control in inputs:
        event = control.submit if control is search else control.change
        event(refresh, inputs, [rows, summary], api_visibility="private")
    _open_sample_wiring(service, rows, panel)
    return (refresh, inputs, [rows, summary]), (send, panel.sample_id)


def build_confusion_tab(service) -> tuple:
    """Clickable confusion matrix with per-class metrics; a cell lists its samples."""
    labels = service.labels
    matrix = tables.confusion_matrix_of(service.table, labels)
    report = tables.per_class_report(service.table, labels).round(3)
    with gr.Row():
        with gr.Column(scale=3):
            mode = gr.Radio(["counts", "row-normalised"], value="counts", label="show", elem_id="cm-mode")
            plot = interactive_plot(figures.confusion_figure(matrix, labels, normalize=False), elem_id="cm-plot")
        with gr.Column(scale=2):
            gr.Dataframe(report, label="per-class precision, recall, F1 and support", interactive=False)
            gr.Textbox(value=f"accuracy {service.meta['accuracy']:.4f} · weighted F1 {service.meta['f1_weighted']:.4f}",
                       label="overall", interactive=False)
    cell = gr.Textbox(label="cell", interactive=False, elem_id="cm-cell")
    rows = _sample_list("cm-table", label="samples in the cell, highest loss first")
    panel = build_sample_panel()
    send = gr.Button("Send to review", size="sm", elem_id="cm-send-review")

    def redraw(mode_):
        return figure_value(figures.confusion_figure(matrix, labels, normalize=mode_ != "counts"))

    def on_cell(evt: gr.SelectData):
        r, c = (int(x) for x in evt.index)
        picked = queries.cell_samples(service.table, true_label=labels[r], pred_label=labels[c])
        return f"true {labels[r]} · predicted {labels[c]} · {len(picked)} samples", queries.as_list(picked)

    mode.change(redraw, mode, plot, api_visibility="private")
    plot.select(on_cell, None, [cell, rows], trigger_mode="always_last", api_visibility="private")
    _open_sample_wiring(service, rows, panel)
    return send, panel.sample_id


def build_embedding_tab(service) -> tuple:
    """UMAP of the hidden states, every point, coloured four ways; click or box-select to list samples."""
    labels = service.labels
    with gr.Row():
        color_by = gr.Radio(list(figures.EMBEDDING_COLORINGS), value="label", label="colour by",
                            elem_id="map-color")
    plot = interactive_plot(figures.embedding_figure(service.table, color_by="label", labels=labels),
                            elem_id="map-plot")
    picked_summary = gr.Textbox(label="picked", interactive=False, elem_id="map-picked")
    rows = _sample_list("map-table", label="picked samples, highest loss first")
    panel = build_sample_panel()
    send = gr.Button("Send to review", size="sm", elem_id="map-send-review")

    def redraw(color_by_):
        return figure_value(figures.embedding_figure(service.table, color_by=color_by_, labels=labels))

    def on_pick(evt: gr.SelectData):
        ids = [v for v in (evt.value or []) if v is not None]
        ids = [int(v[0] if isinstance(v, list) else v) for v in ids]
        picked = queries.by_ids(service.table, ids)
        return f"{len(picked)} samples picked", queries.as_list(picked)

    color_by.change(redraw, color_by, plot, api_visibility="private")
    plot.select(on_pick, None, [picked_summary, rows], trigger_mode="always_last", api_visibility="private")
    _open_sample_wiring(service, rows, panel)
    return send, panel.sample_id


def build_overview_tab(service) -> None:
    """Which model and data, the metrics, class distribution and token lengths by class."""
    meta = service.meta
    facts = pd.DataFrame([
        ("model", str(meta.get("model"))), ("model fingerprint", str(meta.get("model_fingerprint"))),
        ("data", str(meta.get("data"))), ("split", f"{meta.get('split')} ({meta.get('n_rows')} samples)"),
        ("accuracy", f"{meta.get('accuracy', float('nan')):.4f}"),
        ("weighted F1", f"{meta.get('f1_weighted', float('nan')):.4f}"),
        ("analysis built", f"{meta.get('created')} in {meta.get('seconds')} s"),
        ("libraries", ", ".join(f"{k} {v}" for k, v in (meta.get("versions") or {}).items())),
    ], columns=["what", "value"])
    gr.Dataframe(facts, label="model and data", interactive=False, wrap=True)
    if service.warnings:
        gr.Textbox("\n".join(service.warnings), label="warnings", interactive=False)
    counts = service.table["label"].value_counts().reindex(service.labels, fill_value=0).astype(int).to_dict()
    with gr.Row():
        gr.Plot(figures.class_distribution_figure(counts, title=f"{meta.get('split')} samples per class"),
                show_label=False)
        gr.Plot(figures.token_length_figure(service.table, service.labels), show_label=False)
    gr.Plot(figures.loss_histogram(service.table), show_label=False)
