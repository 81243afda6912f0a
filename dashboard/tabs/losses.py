"""Losses tab: samples sorted by loss (or mislabel score), filtered by labels, confidence and text, paged."""

from __future__ import annotations

import gradio as gr

from dashboard import queries
from dashboard.sample_panel import build_sample_panel
from dashboard.tabs.shared import (
    confidence_range,
    open_sample_wiring,
    prob_note,
    sample_list,
    source_choice,
    source_update,
)


def order_update(service, split: str | None, current: str) -> gr.Radio:
    """The order choices of ``split`` (one per signal where its analysis has them), keeping ``current`` if offered."""
    orders = service.analyses.orders(split)
    return gr.Radio(choices=orders, value=current if current in orders else "highest loss")


def build_losses_tab(service, split: gr.Dropdown) -> tuple:
    """Samples sorted by loss (or mislabel score), filtered by labels, confidence and text, paged.

    Returns ``(refresh, inputs, outputs)`` so the app can fill the list when the page loads, and
    ``(send button, the open sample's [split, sample id] state)`` for sending it to review.
    """
    choices = queries.label_choices(service.labels)
    with gr.Row():
        order = gr.Radio(service.analyses.orders(None), value="highest loss", label="order", elem_id="loss-order")
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
    rows = sample_list("loss-table")
    panel = build_sample_panel(prefix="loss")
    send = gr.Button("Send to review", size="sm", elem_id="loss-send-review")

    def refresh(split_, source_, order_, true_, pred_, search_, lo, hi, size_, number_):
        if order_ not in service.analyses.orders(split_):  # a signal order of another split
            order_ = "highest loss"
        matched = service.analyses.samples(split_, source=source_, order=order_, true_label=true_,
                                           pred_label=pred_, search=search_ or "", confidence=(lo, hi))
        shown, n_pages = queries.page(matched, page_number=int(number_ or 1), page_size=int(size_))
        text = f"{len(matched)} samples · page {min(int(number_ or 1), n_pages)} of {n_pages}"
        return queries.as_list(shown), text, prob_note(service, split_, source_)

    inputs = [split, source, order, true_label, pred_label, search, min_conf, max_conf, page_size, page_number]
    split.change(lambda s: source_update(service, s), split, source, api_visibility="private")
    split.change(lambda s, o: order_update(service, s, o), [split, order], order, api_visibility="private")
    for control in inputs:
        event = control.submit if control is search else (control.release if control in (min_conf, max_conf)
                                                           else control.change)
        event(refresh, inputs, [rows, summary, note], api_visibility="private")
    open_sample_wiring(service, rows, panel, split)
    return (refresh, inputs, [rows, summary, note]), (send, panel.ref)
