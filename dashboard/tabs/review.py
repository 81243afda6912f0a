"""Review tab: a queue of suspected mislabels, actions with keyboard shortcuts, exports, retraining.

The same reviews service (:mod:`core.services.reviews`) serves the tab's buttons and three API
endpoints for scripted bulk work (:mod:`dashboard.tabs.review_api`). Every write passes the caller
(:func:`dashboard.review_access.caller_from`: the signed-in profile or logged-in name, never a typed
one except in open access) to the service, whose check refuses anonymous and unlisted callers before
anything is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from core.services.live import InputError
from core.services.reviews import AccessDenied
from dashboard import assets, queries
from dashboard.review_access import build_access_panel, caller_from
from dashboard.sample_panel import SamplePanel, build_sample_panel, show_sample, word_highlight
from dashboard.tabs.review_api import add_review_api
from dashboard.tabs.shared import confidence_range, prob_note, source_choice, source_update

SHORTCUTS_HELP = "Keys: **k** keep · **a** ambiguous · **s** skip · **1–{k}** relabel to the numbered class"


def shortcuts_js(n_labels: int) -> str:
    """Page script: keys press the review buttons (ignored while typing in a field); ``assets/review_shortcuts.js``."""
    return assets.page_script(n_labels)


def _error(exc: Exception) -> gr.Error:
    return gr.Error(str(exc), print_exception=False)


@dataclass
class ReviewTab:
    """What the app needs to send samples here from other views."""

    open_sample: object
    outputs: list
    load: tuple
    explain: tuple = ()  # (fn, inputs, output): the shown sample's explanation, run after the panel
    access_load: tuple = ()  # (fn, inputs, output): who the visitor writes as, on page load


@dataclass
class _Widgets:
    """The tab's components (built by :func:`_layout`)."""

    filters: list  # given, predicted, min and max confidence
    reviewer: gr.Textbox
    source: gr.Radio
    note_md: gr.Markdown
    progress: gr.Textbox
    current: gr.State
    skipped: gr.State
    panel: SamplePanel
    neighbours: gr.Dataframe
    note: gr.Textbox
    buttons: list  # (button, action, new label)
    status: gr.Textbox
    drop_ambiguous: gr.Checkbox
    exports: list  # (button, kind)
    files: gr.File
    export_note: gr.Textbox
    command: gr.Code


def _layout(service) -> _Widgets:
    choices = queries.label_choices(service.labels)
    with gr.Row():
        given = gr.Dropdown(choices, value=queries.ANY, label="given label", elem_id="review-given")
        predicted = gr.Dropdown(choices, value=queries.ANY, label="predicted label", elem_id="review-predicted")
        min_conf, max_conf = confidence_range("review")
        reviewer = gr.Textbox(value=service.settings.reviewer, label="reviewer (optional)", elem_id="review-reviewer",
                              visible=service.settings.access == "open")
    source = source_choice(service, "review")
    note_md = gr.Markdown(prob_note(service, None), elem_id="review-prob-note")
    progress = gr.Textbox(label="progress", interactive=False, elem_id="review-progress")
    current, skipped = gr.State(None), gr.State([])
    panel = build_sample_panel(title="Current sample")
    neighbours = gr.Dataframe(label="nearest neighbours (hidden-state space)", interactive=False, wrap=True,
                              max_height=300, elem_id="review-neighbours")
    note = gr.Textbox(label="note (optional)", lines=1, elem_id="review-note")
    buttons = _action_buttons(service.labels)
    status = gr.Textbox(label="last action", interactive=False, elem_id="review-status")
    with gr.Accordion("Export and retrain", open=False):
        drop_ambiguous = gr.Checkbox(value=True, label="drop ambiguous rows from the corrected split")
        with gr.Row():
            exports = [(gr.Button("Decisions (CSV)", elem_id="review-export-csv"), "csv"),
                       (gr.Button("Decisions (JSONL)", elem_id="review-export-jsonl"), "jsonl"),
                       (gr.Button("Corrected split (data folder)", elem_id="review-export-split"), "split")]
        files = gr.File(label="download", interactive=False, elem_id="review-files")
        export_note = gr.Textbox(label="export", interactive=False, elem_id="review-export-note")
        command = gr.Code(service.reviews.retrain_command(), language="shell", interactive=False,
                          label="retrain on the corrected data (export the corrected split first)",
                          elem_id="review-retrain-command")
    return _Widgets([given, predicted, min_conf, max_conf], reviewer, source, note_md, progress, current, skipped,
                    panel, neighbours, note, buttons, status, drop_ambiguous, exports, files, export_note, command)


def _action_buttons(labels: list[str]) -> list[tuple[gr.Button, str, str | None]]:
    with gr.Row():
        buttons = [(gr.Button("Keep label (k)", elem_id="review-keep", variant="primary"), "keep", None),
                   (gr.Button("Ambiguous (a)", elem_id="review-ambiguous"), "ambiguous", None),
                   (gr.Button("Skip (s)", elem_id="review-skip"), "skip", None)]
    with gr.Row():
        buttons += [(gr.Button(f"{i + 1} → {name}", elem_id=f"review-relabel-{i}", size="sm"), "relabel", name)
                    for i, name in enumerate(labels)]
    gr.Markdown(SHORTCUTS_HELP.format(k=len(labels)))
    return buttons


class _Handlers:
    """The tab's callbacks: each reads its inputs, calls the services, returns the components' values."""

    def __init__(self, service) -> None:
        self.service = service

    def progress_text(self, split_) -> str:
        done, total = self.service.reviews.progress(split_)
        split_name = self.service.analyses.info(split_).split
        return f"reviewed {done} of {total} ({done / max(total, 1):.1%}) in the {split_name} split"

    def view(self, sample_id, split_=None) -> tuple:
        """The panel for one sample, without its explanation (that follows in :meth:`explain_current`)."""
        if sample_id is None:
            return (None, *show_sample(self.service, None), None, self.progress_text(split_) + " · queue empty")
        return (int(sample_id), *show_sample(self.service, sample_id, explain=False, split=split_),
                self.service.analyses.neighbours(int(sample_id), split=split_), self.progress_text(split_))

    def explain_current(self, sample_id, split_):
        if sample_id is None:
            return None
        row = self.service.analyses.sample(int(sample_id), split_)
        return word_highlight(self.service.live.explain(row["text"], target=row["pred"]))

    def next_sample(self, split_, source_, given_, predicted_, lo, hi, skipped_) -> tuple:
        source_ = self.service.analyses.info(split_).pick_source(source_)
        queue = self.service.reviews.queue(split_, given=given_, predicted=predicted_, min_confidence=lo,
                                           max_confidence=hi, exclude=skipped_ or [], limit=1, source=source_)
        return self.view(int(queue.index[0]) if len(queue) else None, split_)

    def act(self, action: str, new_label: str | None):
        def handler(sample_id, split_, source_, reviewer_, note_, given_, predicted_, lo, hi, skipped_,
                    request: gr.Request, profile: gr.OAuthProfile | None):
            if sample_id is None:
                return ("", "", skipped_, *self.next_sample(split_, source_, given_, predicted_, lo, hi, skipped_))
            try:
                decision = self.service.reviews.decide(int(sample_id), action, split=split_, new_label=new_label,
                                                       note=note_ or "",
                                                       caller=caller_from(request, profile, reviewer_))
            except (InputError, AccessDenied) as exc:
                raise _error(exc) from None
            skipped_ = list(skipped_ or []) + ([int(sample_id)] if action == "skip" else [])
            what = decision.action + (f" → {decision.new_label}" if decision.action == "relabel" else "")
            return (f"sample {sample_id}: {what} (saved)", "", skipped_,
                    *self.next_sample(split_, source_, given_, predicted_, lo, hi, skipped_))
        return handler

    def on_filter(self, split_, source_, given_, predicted_, lo, hi, skipped_) -> tuple:
        return (*self.next_sample(split_, source_, given_, predicted_, lo, hi, skipped_),
                prob_note(self.service, split_, source_), self.service.reviews.retrain_command(split_))

    def export(self, kind: str):
        def handler(split_, drop):
            try:
                path, line = self.service.reviews.export(kind, split=split_, drop_ambiguous=bool(drop))
            except (InputError, ValueError) as exc:
                raise _error(exc) from None
            return str(path), line
        return handler


def build_review_tab(service, split: gr.Dropdown) -> ReviewTab:
    """Queue (most suspicious first), sample with neighbours, actions, progress, exports, retraining."""
    access = build_access_panel(service)
    w, h = _layout(service), _Handlers(service)
    outputs = [w.current, *w.panel.outputs, w.neighbours, w.progress]
    explain = (h.explain_current, [w.current, split], w.panel.shap)
    action_inputs = [w.current, split, w.source, w.reviewer, w.note, *w.filters, w.skipped]
    for button, action, name in w.buttons:
        button.click(h.act(action, name), action_inputs, [w.status, w.note, w.skipped, *outputs],
                     api_visibility="private").then(*explain, api_visibility="private", trigger_mode="always_last")
    queue_inputs = [split, w.source, *w.filters, w.skipped]
    split.change(lambda s: source_update(service, s), split, w.source, api_visibility="private")
    for control in (split, w.source, *w.filters):
        event = control.release if isinstance(control, gr.Slider) else control.change
        event(h.on_filter, queue_inputs, [*outputs, w.note_md, w.command], api_visibility="private").then(
            *explain, api_visibility="private", trigger_mode="always_last")
    for button, kind in w.exports:
        button.click(h.export(kind), [split, w.drop_ambiguous], [w.files, w.export_note], api_visibility="private")
    add_review_api(service)
    return ReviewTab(open_sample=h.view, outputs=outputs, explain=explain, access_load=access.load,
                     load=(h.next_sample, queue_inputs, outputs))
