"""Confusion-matrix tab: a clickable matrix with per-class metrics; a cell lists its samples, paged."""

from __future__ import annotations

import gradio as gr

from core.services.analyses import REPORT_COLUMNS
from dashboard import figures, queries
from dashboard.audited import NO_AUDIT, audited_summary
from dashboard.plotly_bridge import figure_value, interactive_plot
from dashboard.sample_panel import build_sample_panel
from dashboard.tabs.shared import EMPTY_LIST, open_sample_wiring, sample_list


def overall_line(service, split: str | None) -> str:
    """Accuracy and weighted F1 of the split, in one line."""
    info = service.analyses.facts(split)
    if not info.ready:
        return f"the {info.split} split is still being analysed"
    meta = info.meta
    return f"accuracy {meta['accuracy']:.4f} · weighted F1 {meta['f1_weighted']:.4f}"


def matrix_views(service, split: str | None, mode: str, truth: str = "given") -> tuple:
    """The matrix, the per-class table and the overall line on the given or the audited labels, and the
    cleared cell selection."""
    labels = service.labels
    if truth == "audited":
        m = service.audits.audited(split)
        if not m.get("rows"):
            raise gr.Error(NO_AUDIT, print_exception=False)
        fig = figures.confusion_figure(m["confusion"], labels, normalize=mode != "counts",
                                       title="confusion on audited labels")
        return figure_value(fig), m["per_class"].round(3).reset_index(), audited_summary(m), None, "", EMPTY_LIST
    fig = figures.confusion_figure(service.analyses.confusion(split), labels, normalize=mode != "counts")
    return (figure_value(fig), service.analyses.per_class_report(split).round(3), overall_line(service, split),
            None, "", EMPTY_LIST)


def build_confusion_tab(service, split: gr.Dropdown) -> tuple:
    """Clickable confusion matrix with per-class metrics; a cell lists its samples, paged.

    Returns ``(send button, [split, sample id] state, (fn, inputs, outputs))``: the last draws the matrix and the
    per-class report the first time the tab is opened (the app runs it on the tab's select event).
    """
    labels = service.labels
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                mode = gr.Radio(["counts", "row-normalised"], value="counts", label="show", elem_id="cm-mode")
                truth = gr.Radio(["given", "audited"], value="given", label="labels", elem_id="cm-labels",
                                 info="audited: the blind audit's rows only (rows = audited label)")
            # Drawn when the tab first opens: plotly's first figure costs 0.4 s of the first page.
            plot = interactive_plot(None, elem_id="cm-plot")
        with gr.Column(scale=2):
            report = gr.Dataframe(None, headers=list(REPORT_COLUMNS),
                                  label="per-class precision, recall, F1 and support", interactive=False)
            overall = gr.Markdown(value=overall_line(service, None), elem_id="cm-overall")
    cell = gr.Textbox(label="cell", interactive=False, elem_id="cm-cell")
    picked = gr.State(None)
    drawn = gr.State(False)
    with gr.Row():
        page_number = gr.Number(value=1, precision=0, minimum=1, label="page", scale=1, elem_id="cm-page")
        page_size = gr.Slider(5, 100, value=20, step=5, label="page size", scale=2)
    rows = sample_list("cm-table", label="samples in the cell, highest loss first")
    panel = build_sample_panel(prefix="cm")
    send = gr.Button("Send to review", size="sm", elem_id="cm-send-review")

    def redraw(split_, mode_, truth_="given"):
        return matrix_views(service, split_, mode_, truth_)

    def show_cell(split_, cell_, number_, size_):
        if not cell_:
            return "", EMPTY_LIST
        r, c = cell_
        matched = service.analyses.cell_samples(split_, true_label=labels[r], pred_label=labels[c])
        shown, n_pages = queries.page(matched, page_number=int(number_ or 1), page_size=int(size_))
        return (f"true {labels[r]} · predicted {labels[c]} · {len(matched)} samples · page "
                f"{min(int(number_ or 1), n_pages)} of {n_pages}", queries.as_list(shown))

    def on_cell(split_, size_, evt: gr.SelectData):
        cell_ = [int(x) for x in evt.index]
        return (cell_, 1, *show_cell(split_, cell_, 1, size_))

    def first_draw(split_, mode_, truth_, drawn_):
        if drawn_:  # opened before: the split and mode controls keep it current
            return (*[gr.skip()] * 6, True)
        return (*redraw(split_, mode_, truth_), True)

    outputs = [plot, report, overall, picked, cell, rows]
    for control in (split, mode, truth):
        control.change(redraw, [split, mode, truth], outputs, api_visibility="private")
    plot.select(on_cell, [split, page_size], [picked, page_number, cell, rows], trigger_mode="always_last",
                api_visibility="private")
    for control in (page_number, page_size):
        control.change(show_cell, [split, picked, page_number, page_size], [cell, rows], api_visibility="private")
    open_sample_wiring(service, rows, panel, split)
    return send, panel.ref, (first_draw, [split, mode, truth, drawn], [*outputs, drawn])
