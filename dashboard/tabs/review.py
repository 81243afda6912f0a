"""Review tab: a queue of suspected mislabels, actions with keyboard shortcuts, exports, retraining.

The same service calls back the tab's buttons and three API endpoints for scripted bulk work with
``gradio_client``: ``review_queue``, ``review_decide`` and ``review_export``. Every write passes the
caller (:func:`dashboard.review_access.caller_from`: the signed-in profile or logged-in name, never a
typed one except in open access) to the service, whose :func:`core.review.access.authorize` check refuses
anonymous and unlisted callers before anything is recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import gradio as gr

from core.services.live import InputError
from core.services.reviews import DEFAULT_RANKING, AccessDenied, ReviewStoreError
from dashboard import assets, queries
from dashboard.review_access import build_access_panel, caller_from, handed_over
from dashboard.sample_panel import (
    SamplePanel,
    build_sample_panel,
    faithfulness_text,
    ref_in,
    sample_ref,
    show_sample,
    word_highlight,
)
from dashboard.tabs.ranking_api import ranking_endpoints
from dashboard.tabs.review_history import build_history
from dashboard.tabs.shared import confidence_range, prob_note, source_choice, source_update

SHORTCUTS_HELP = ("Keys: **k** keep · **a** ambiguous · **s** skip · **u** undo the last decision · **1–{k}** relabel "
                  "to the numbered class (not the given one: that is **k**)")


def shortcuts_js(n_labels: int) -> str:
    """Page script: keys press the review buttons (ignored while typing in a field); ``assets/review_shortcuts.js``."""
    return assets.page_script(n_labels)


QUEUE_COLUMNS = ["sample_id", "label", "pred", "confidence", "loss", "text"]


def _error(exc: Exception) -> gr.Error:
    if isinstance(exc, ReviewStoreError):
        return gr.Error(f"The review database could not be used, so nothing was recorded: {exc}",
                        print_exception=False)
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
class _Controls:
    """The tab's components, in page order."""

    given: gr.Dropdown
    predicted: gr.Dropdown
    min_conf: gr.Slider
    max_conf: gr.Slider
    reviewer: gr.Textbox
    source: gr.Dropdown
    rank_by: gr.Dropdown  # the queue's order: the stored mislabel score, loss, or one signal of the shipped ranking
    note_md: gr.Markdown
    progress: gr.Textbox
    skipped: gr.State  # [split, sample_id] of every sample skipped in this session
    panel: SamplePanel
    neighbours: gr.Dataframe
    note: gr.Textbox
    buttons: list  # (button, action, new label)
    status: gr.Textbox  # what the last key or button did, shown above the sample's text
    undo: gr.Button
    exports: list  # (button, kind)
    drop_ambiguous: gr.Checkbox
    files: gr.File
    export_note: gr.Textbox
    command: gr.Code

    @property
    def filters(self) -> list:
        return [self.given, self.predicted, self.min_conf, self.max_conf, self.rank_by]

    @property
    def outputs(self) -> list:
        """What showing a sample fills: the panel, its neighbours, the progress line."""
        return [*self.panel.outputs, self.neighbours, self.progress]

    @property
    def explained(self) -> list:
        """What :meth:`_Queue.explain_current` fills."""
        return [self.panel.shap, self.panel.faithfulness]


def rank_update(service, split: str | None, current: str) -> gr.Dropdown:
    """The rank-by choices of ``split`` (one per signal where its analysis has them), keeping ``current`` if offered."""
    orders = service.analyses.orders(split)
    return gr.Dropdown(choices=orders, value=current if current in orders else DEFAULT_RANKING)


def _filters_row(service) -> tuple:
    choices = queries.label_choices(service.labels)
    with gr.Row():
        given = gr.Dropdown(choices, value=queries.ANY, label="given label", elem_id="review-given")
        predicted = gr.Dropdown(choices, value=queries.ANY, label="predicted label", elem_id="review-predicted")
        min_conf, max_conf = confidence_range("review")
        reviewer = gr.Textbox(value=service.settings.reviewer, label="reviewer (optional)", elem_id="review-reviewer",
                              visible=service.settings.access == "open")
    return given, predicted, min_conf, max_conf, reviewer


def _action_buttons(labels: list[str]) -> list:
    """(button, action, new label) for keep, ambiguous, skip and one relabel button per class."""
    with gr.Row():
        keep = gr.Button("Keep label (k)", elem_id="review-keep", variant="primary")
        ambiguous = gr.Button("Ambiguous (a)", elem_id="review-ambiguous")
        skip = gr.Button("Skip (s)", elem_id="review-skip")
    with gr.Row():
        relabel = [gr.Button(f"{i + 1} → {name}", elem_id=f"review-relabel-{i}", size="sm")
                   for i, name in enumerate(labels)]
    gr.Markdown(SHORTCUTS_HELP.format(k=len(labels)))
    return [(keep, "keep", None), (ambiguous, "ambiguous", None), (skip, "skip", None),
            *((b, "relabel", name) for b, name in zip(relabel, labels, strict=True))]


def _layout(service) -> _Controls:
    """Build the tab's components (the access panel comes before, the API endpoints after)."""
    given, predicted, min_conf, max_conf, reviewer = _filters_row(service)
    source = source_choice(service, "review")
    rank_by = gr.Dropdown(service.analyses.orders(None), value=DEFAULT_RANKING, label="rank by",
                          elem_id="review-rank-by")
    note_md = gr.Markdown(prob_note(service, None), elem_id="review-prob-note")
    with gr.Row():
        progress = gr.Textbox(label="progress and ranking", interactive=False, elem_id="review-progress", lines=2)
        status = gr.Textbox(label="last action", interactive=False, elem_id="review-status", scale=2)
        undo = gr.Button("Undo last (u)", elem_id="review-undo", size="sm", scale=0, min_width=120)
    skipped = gr.State([])
    panel = build_sample_panel(title="Current sample", prefix="review")
    neighbours = gr.Dataframe(label="nearest neighbours (hidden-state space)", interactive=False, wrap=True,
                              max_height=300, elem_id="review-neighbours")
    note = gr.Textbox(label="note (optional)", lines=1, elem_id="review-note")
    buttons = _action_buttons(service.labels)
    with gr.Accordion("Export and retrain", open=False):
        drop_ambiguous = gr.Checkbox(value=True, label="drop ambiguous rows from the corrected data")
        with gr.Row():
            exports = [(gr.Button("Corrected data (every split)", elem_id="review-export-data", variant="primary"),
                        "data"),
                       (gr.Button("Corrected split only", elem_id="review-export-split"), "split"),
                       (gr.Button("Decisions (CSV)", elem_id="review-export-csv"), "csv"),
                       (gr.Button("Decisions (JSONL)", elem_id="review-export-jsonl"), "jsonl")]
        files = gr.File(label="download", interactive=False, elem_id="review-files")
        export_note = gr.Textbox(label="export", interactive=False, elem_id="review-export-note")
        command = gr.Code(service.reviews.retrain_command(), language="shell", interactive=False,
                          label="retrain on the corrected data (export Corrected data first)",
                          elem_id="review-retrain-command")
    return _Controls(given, predicted, min_conf, max_conf, reviewer, source, rank_by, note_md, progress, skipped, panel,
                     neighbours, note, buttons, status, undo, exports, drop_ambiguous, files, export_note, command)


class _Queue:
    """The tab's callbacks over the service: show a sample, explain it, take the next, record an action."""

    def __init__(self, service) -> None:
        self.service = service

    def progress_text(self, split_) -> str:
        """Reviewed so far and, for a split the signals rank, which ranking orders the queue and how well."""
        done, total = self.service.reviews.progress(split_)
        split_name = self.service.analyses.info(split_).split
        line = f"reviewed {done} of {total} ({done / max(total, 1):.1%}) in the {split_name} split"
        ranking = self.service.ranking
        if ranking.applies(split_name):
            ranking.check(split_name)  # a background refit every REFIT_EVERY new judgements
            line += " · " + ranking.header(split_name)
        return line

    def view(self, sample_id, split_=None):
        """The panel for one sample, without its explanation (that follows in :meth:`explain_current`)."""
        if sample_id is None:
            return (*show_sample(self.service, None), None, self.progress_text(split_) + " · queue empty")
        return (*show_sample(self.service, sample_id, explain=False, split=split_),
                self.service.analyses.neighbours(int(sample_id), split=split_), self.progress_text(split_))

    def explain_current(self, ref):
        if not ref:
            return None, ""
        row = self.service.analyses.sample(int(ref[1]), ref[0])
        exp = self.service.live.explain(row["text"], target=row["pred"], faithful=True)
        return word_highlight(exp), faithfulness_text(exp)

    def next_sample(self, split_, source_, given_, predicted_, lo, hi, rank_, skipped_):
        info = self.service.analyses.info(split_)
        exclude = [sid for sid in (ref_in(ref, info.split) for ref in skipped_ or []) if sid is not None]
        rank_ = rank_ if rank_ in self.service.analyses.orders(info.split) else None  # a signal of another split
        try:
            queue = self.service.reviews.queue(info.split, given=given_, predicted=predicted_, min_confidence=lo,
                                               max_confidence=hi, exclude=exclude, limit=1,
                                               source=info.pick_source(source_), rank_by=rank_)
        except (InputError, ReviewStoreError) as exc:
            raise _error(exc) from None
        return self.view(int(queue.index[0]) if len(queue) else None, info.split)

    def on_filter(self, split_, source_, given_, predicted_, lo, hi, rank_, skipped_):
        return (*self.next_sample(split_, source_, given_, predicted_, lo, hi, rank_, skipped_),
                prob_note(self.service, split_, source_), self.service.reviews.retrain_command(split_))

    def act(self, action: str, new_label: str | None, outputs_of: list):
        """The handler of one action button: record it for the caller, then show the next sample. A relabel
        to the sample's given label is said, not stored (``outputs_of``: the panel's outputs, left as they are)."""
        service, next_sample = self.service, self.next_sample

        def handler(ref, split_, source_, reviewer_, note_, given_, predicted_, lo, hi, rank_, skipped_,
                    request: gr.Request, profile: gr.OAuthProfile | None):
            here = service.analyses.info(split_).split
            sample_id = ref_in(ref, here)
            if sample_id is None:  # nothing shown, or a sample of the split shown before this one
                moved = f"the split is now {here}: nothing recorded; the next {here} sample is shown" if ref else ""
                return (moved, note_, skipped_, *next_sample(here, source_, given_, predicted_, lo, hi, rank_,
                                                             skipped_))
            if action == "relabel" and service.analyses.sample(sample_id, here)["label"] == new_label:
                said = (f"sample {sample_id}: {new_label} is its given label, so nothing was stored "
                        "(k keeps the given label; a number relabels to another class)")
                return (said, note_, skipped_, *[gr.skip()] * len(outputs_of))
            try:
                decision = service.reviews.decide(sample_id, action, split=here, new_label=new_label,
                                                  note=note_ or "", caller=caller_from(request, profile, reviewer_))
            except (InputError, AccessDenied, ReviewStoreError) as exc:
                raise _error(exc) from None
            skipped_ = list(skipped_ or []) + ([sample_ref(here, sample_id)] if action == "skip" else [])
            what = decision.action + (f" → {decision.new_label}" if decision.action == "relabel" else "")
            return (f"sample {sample_id}: {what} (saved)", "", skipped_,
                    *next_sample(here, source_, given_, predicted_, lo, hi, rank_, skipped_))
        return handler

    def undo(self, split_, reviewer_, request: gr.Request, profile: gr.OAuthProfile | None):
        """Withdraw the caller's last decision on the split (a new event) and show that sample again."""
        here = self.service.analyses.info(split_).split
        try:
            d = self.service.reviews.undo(here, caller=caller_from(request, profile, reviewer_))
        except (InputError, AccessDenied, ReviewStoreError) as exc:
            raise _error(exc) from None
        return (f"sample {d.sample_id}: undone ({d.note}); it is shown again", *self.view(d.sample_id, here))


def _wire(queue: _Queue, c: _Controls, split: gr.Dropdown) -> None:
    """Action buttons, filters and exports call the queue (each shown sample's explanation follows)."""
    service = queue.service
    current = c.panel.ref  # [split, sample_id] of the sample shown (dashboard.sample_panel.sample_ref)
    action_inputs = [current, split, c.source, c.reviewer, c.note, *c.filters, c.skipped]
    for button, action, name in c.buttons:
        button.click(queue.act(action, name, c.outputs), action_inputs, [c.status, c.note, c.skipped, *c.outputs],
                     api_visibility="private").then(
            queue.explain_current, current, c.explained, api_visibility="private", trigger_mode="always_last")
    c.undo.click(queue.undo, [split, c.reviewer], [c.status, *c.outputs], api_visibility="private").then(
        queue.explain_current, current, c.explained, api_visibility="private", trigger_mode="always_last")
    split.change(lambda s: source_update(service, s), split, c.source, api_visibility="private")
    split.change(lambda s, r: rank_update(service, s, r), [split, c.rank_by], c.rank_by, api_visibility="private")
    for control in (split, c.source, *c.filters):
        event = control.release if control in (c.min_conf, c.max_conf) else control.change
        event(queue.on_filter, [split, c.source, *c.filters, c.skipped], [*c.outputs, c.note_md, c.command],
              api_visibility="private").then(
            queue.explain_current, current, c.explained, api_visibility="private", trigger_mode="always_last")

    def export(kind: str):
        def handler(split_, drop, reviewer_, request: gr.Request, profile: gr.OAuthProfile | None):
            return run_export(service, c.files, kind, split_, drop, caller_from(request, profile, reviewer_))
        return handler

    for button, kind in c.exports:
        button.click(export(kind), [split, c.drop_ambiguous, c.reviewer], [c.files, c.export_note],
                     api_visibility="private")


def build_review_tab(service, split: gr.Dropdown) -> ReviewTab:
    """Queue (most suspicious first), sample with neighbours, actions, progress, exports, retraining."""
    access = build_access_panel(service)
    c = _layout(service)
    build_history(service, c.reviewer)
    queue = _Queue(service)
    _wire(queue, c, split)
    _api_endpoints(service)
    ranking_endpoints(service)
    return ReviewTab(open_sample=queue.view, outputs=c.outputs,
                     explain=(queue.explain_current, c.panel.ref, c.explained), access_load=access.load,
                     load=(queue.next_sample, [split, c.source, *c.filters, c.skipped], c.outputs))


def run_export(service, files: gr.File, kind: str, split, drop, caller) -> tuple[str, str]:
    """One export for ``caller`` (checked by the reviews service): (file to download, summary line).

    Decision files are written into a temporary folder removed once ``files`` holds its copy; the
    corrected split is written (whole) into the corrected-data folder on the server.
    """
    line = ""

    def write(folder: Path | None) -> Path:
        nonlocal line
        path, line = service.reviews.export(kind, split=split or None, drop_ambiguous=bool(drop), folder=folder,
                                            caller=caller)
        return path

    try:
        path = write(None) if kind in ("split", "data") else handed_over(files, write)
    except (InputError, KeyError, ValueError, AccessDenied, ReviewStoreError, OSError) as exc:
        raise _error(exc) from None
    return str(path), line


def _api_endpoints(service) -> None:
    """``review_queue``, ``review_decide`` and ``review_export`` for ``gradio_client`` scripts."""

    def review_queue(given_label: str = queries.ANY, predicted_label: str = queries.ANY, split: str = "",
                     limit: int = 50, source: str = "", rank_by: str = "") -> list[dict]:
        """Unreviewed samples of a split, most suspicious first, filtered by given and predicted label;
        ``source`` picks the probabilities that rank them (held-out, in-sample or out-of-fold), ``rank_by``
        another order (``highest loss``, or one signal of the shipped ranking, e.g. ``signal: lexicon disagrees``)."""
        service.ranking.check(split or None)  # a background refit every REFIT_EVERY new judgements
        try:
            rows = service.reviews.queue(split or None, given=given_label, predicted=predicted_label,
                                         source=source or None, limit=max(0, int(limit)), rank_by=rank_by or None)
        except (InputError, KeyError, ReviewStoreError) as exc:
            raise _error(exc) from None
        out = rows.head(max(0, int(limit))).assign(sample_id=lambda f: f.index.to_numpy())
        cols = [c for c in [*QUEUE_COLUMNS, rows.attrs["rank_by"]] if c in out.columns]
        return out[list(dict.fromkeys(cols))].to_dict(orient="records")

    def review_decide(sample_id: int, action: str, new_label: str = "", note: str = "", split: str = "",
                      reviewer: str = "", request: gr.Request = None,
                      profile: gr.OAuthProfile | None = None) -> dict:
        """Record a decision (keep, relabel, ambiguous, skip) on one sample; returns it as stored. A relabel to
        the sample's given label is refused with a message (nothing stored): use keep."""
        try:
            decision = service.reviews.decide(int(sample_id), action, split=split or None,
                                              new_label=new_label or None, note=note,
                                              caller=caller_from(request, profile, reviewer))
        except (InputError, KeyError, ValueError, AccessDenied, ReviewStoreError) as exc:
            raise _error(exc) from None
        return asdict(decision)

    gr.api(review_queue, api_name="review_queue")
    gr.api(review_decide, api_name="review_decide")
    with gr.Row(visible=False):
        kind = gr.Dropdown(["csv", "jsonl", "split", "data"], value="csv", label="kind")
        split = gr.Textbox(value="", label="split")
        drop = gr.Checkbox(value=True, label="drop_ambiguous")
        out = gr.File(label="file")
        trigger = gr.Button("export")

    def review_export(kind: str, split: str, drop_ambiguous: bool, request: gr.Request = None,
                      profile: gr.OAuthProfile | None = None) -> str:
        """Write decisions (csv, jsonl), the corrected dataset (data: every split with its own decisions, as a
        zip) or the corrected split alone (split); returns the file. Reviewers only (anyone in open access)."""
        return run_export(service, out, kind, split, drop_ambiguous, caller_from(request, profile))[0]

    trigger.click(review_export, [kind, split, drop], out, api_name="review_export")
