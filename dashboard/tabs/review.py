"""Review tab: a queue of suspected mislabels, actions with keyboard shortcuts, exports."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from core.export import corrected_split, decisions_csv, decisions_jsonl
from dashboard import assets, queries
from dashboard.sample_panel import build_sample_panel, show_sample

SHORTCUTS_HELP = "Keys: **k** keep · **a** ambiguous · **s** skip · **1–{k}** relabel to the numbered class"


def shortcuts_js(n_labels: int) -> str:
    """Page script: keys press the review buttons (ignored while typing in a field); ``assets/review_shortcuts.js``."""
    return assets.page_script(n_labels)


@dataclass
class ReviewTab:
    """What the app needs to send samples here from other views."""

    open_sample: object
    outputs: list
    load: tuple


def build_review_tab(service) -> ReviewTab:
    """Queue (most suspicious first), sample with neighbours, actions, progress and exports."""
    labels = service.labels
    key = service.dataset_key
    total = len(service.table)
    choices = queries.label_choices(labels)

    with gr.Row():
        given = gr.Dropdown(choices, value=queries.ANY, label="given label")
        predicted = gr.Dropdown(choices, value=queries.ANY, label="predicted label")
        reviewer = gr.Textbox(value=service.settings.reviewer, label="reviewer (optional)")
    progress = gr.Textbox(label="progress", interactive=False, elem_id="review-progress")
    current = gr.State(None)
    skipped = gr.State([])
    panel = build_sample_panel(title="Current sample")
    neighbours = gr.Dataframe(label="nearest neighbours (hidden-state space)", interactive=False, wrap=True,
                              max_height=300, elem_id="review-neighbours")
    note = gr.Textbox(label="note (optional)", lines=1, elem_id="review-note")
    with gr.Row():
        keep = gr.Button("Keep label (k)", elem_id="review-keep", variant="primary")
        ambiguous = gr.Button("Ambiguous (a)", elem_id="review-ambiguous")
        skip = gr.Button("Skip (s)", elem_id="review-skip")
    with gr.Row():
        relabel = [gr.Button(f"{i + 1} → {name}", elem_id=f"review-relabel-{i}", size="sm")
                   for i, name in enumerate(labels)]
    gr.Markdown(SHORTCUTS_HELP.format(k=len(labels)))
    status = gr.Textbox(label="last action", interactive=False, elem_id="review-status")
    with gr.Accordion("Export", open=False):
        drop_ambiguous = gr.Checkbox(value=True, label="drop ambiguous rows from the corrected split")
        with gr.Row():
            export_csv = gr.Button("Decisions (CSV)")
            export_jsonl = gr.Button("Decisions (JSONL)")
            export_split = gr.Button(f"Corrected {service.settings.split} split ({service.split_format})")
        files = gr.File(label="download", interactive=False, elem_id="review-files")

    def progress_text() -> str:
        done = service.reviews.reviewed_count(key)
        return f"reviewed {done} of {total} ({done / max(total, 1):.1%})"

    def view(sample_id):
        if sample_id is None:
            return (None, *show_sample(service, None), None, progress_text() + " · queue empty")
        return (int(sample_id), *show_sample(service, sample_id), service.neighbours(int(sample_id)), progress_text())

    outputs = [current, *panel.outputs, neighbours, progress]

    def next_sample(given_, predicted_, skipped_):
        queue = queries.review_queue(service.table, service.reviews.reviewed_ids(key) | set(skipped_ or []),
                                     given=given_, predicted=predicted_)
        return view(int(queue.index[0]) if len(queue) else None)

    def act(action: str, new_label: str | None):
        def handler(sample_id, reviewer_, note_, given_, predicted_, skipped_):
            if sample_id is None:
                return ("", "", skipped_, *next_sample(given_, predicted_, skipped_))
            old = service.table.at[int(sample_id), "label"]
            if action == "relabel" and new_label == old:
                decision = service.reviews.record(key, int(sample_id), action="keep", old_label=old,
                                                  reviewer=reviewer_ or "", note=note_ or "")
            else:
                decision = service.reviews.record(key, int(sample_id), action=action, old_label=old,
                                                  new_label=new_label, reviewer=reviewer_ or "", note=note_ or "")
            skipped_ = list(skipped_ or []) + ([int(sample_id)] if action == "skip" else [])
            what = decision.action + (f" → {decision.new_label}" if decision.action == "relabel" else "")
            return (f"sample {sample_id}: {what} (saved)", "", skipped_,
                    *next_sample(given_, predicted_, skipped_))
        return handler

    action_inputs = [current, reviewer, note, given, predicted, skipped]
    action_outputs = [status, note, skipped, *outputs]
    keep.click(act("keep", None), action_inputs, action_outputs, api_visibility="private")
    ambiguous.click(act("ambiguous", None), action_inputs, action_outputs, api_visibility="private")
    skip.click(act("skip", None), action_inputs, action_outputs, api_visibility="private")
    for button, name in zip(relabel, labels, strict=True):
        button.click(act("relabel", name), action_inputs, action_outputs, api_visibility="private")
    for control in (given, predicted):
        control.change(next_sample, [given, predicted, skipped], outputs, api_visibility="private")

    def export(kind: str):
        def handler(drop):
            folder = Path(tempfile.mkdtemp(prefix="review-export-"))
            if kind == "csv":
                return str(decisions_csv(service.reviews, key, folder / "decisions.csv", table=service.table))
            if kind == "jsonl":
                return str(decisions_jsonl(service.reviews, key, folder / "decisions.jsonl", table=service.table))
            fmt = service.split_format if service.split_format in ("txt", "csv", "parquet") else "parquet"
            summary = corrected_split(service.table, service.reviews.latest(key), fmt=fmt, label_names=labels,
                                      drop_ambiguous=bool(drop),
                                      path=folder / f"{service.settings.split}.{fmt}")
            gr.Info(f"{summary.n_relabelled} relabelled, {summary.n_dropped} dropped, {summary.n_rows} rows")
            return str(summary.path)
        return handler

    export_csv.click(export("csv"), drop_ambiguous, files, api_visibility="private")
    export_jsonl.click(export("jsonl"), drop_ambiguous, files, api_visibility="private")
    export_split.click(export("split"), drop_ambiguous, files, api_visibility="private")

    return ReviewTab(open_sample=view, outputs=outputs, load=(next_sample, [given, predicted, skipped], outputs))
