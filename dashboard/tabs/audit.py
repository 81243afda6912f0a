"""Blind audit mode of the Review tab: judge a row from its text and given label alone.

The row's prediction, probabilities and scores stay on the server until the judgement is stored; the
reveal then shows them. The report estimates the split's share of wrong labels, with 95% intervals,
and how well each ranking signal finds them. The same calls are API endpoints for scripts:
``audit_next``, ``audit_decide`` and ``audit_report``.
"""

from __future__ import annotations

import gradio as gr

from core.services.audits import JUDGEMENTS, SAMPLINGS, AuditError
from core.services.reviews import AccessDenied, ReviewStoreError
from dashboard.review_access import caller_from

INTRO = ("**Blind audit.** Judge whether the given label is the emotion the writer expresses, from the text "
         "alone (see `bench/data/audit_guideline.md`). What the model thinks appears after you decide. "
         "*Uniform* draws estimate the split's error rate; *stratified* draws oversample the top of the ranking.")


def _error(exc: Exception) -> gr.Error:
    return gr.Error(str(exc), print_exception=False)


def _unusable(exc: ReviewStoreError) -> str:
    """What the panel shows in place of a row or the report when the review database cannot be used."""
    return f"(the review database could not be used: {exc})"


def report_text(service, split: str | None) -> str:
    """The audit report as Markdown, or what stopped it (a review database that cannot be used)."""
    try:
        return service.audits.report_text(split)
    except ReviewStoreError as exc:
        return _unusable(exc)


def build_audit_panel(service, split: gr.Dropdown) -> tuple:
    """The audit controls; returns ``(fn, inputs, outputs)`` that loads the first row."""
    labels = service.labels
    gr.Markdown(INTRO)
    with gr.Row():
        sampling = gr.Radio(list(SAMPLINGS), value="uniform", label="draw", elem_id="audit-sampling")
        reviewer = gr.Textbox(value=service.settings.reviewer, label="reviewer (optional)", elem_id="audit-reviewer",
                              visible=service.settings.access == "open")
    current = gr.State(None)  # {"split", "sample_id", "sampling"}: a judgement lands only on the row shown
    text = gr.Textbox(label="text", interactive=False, lines=3, elem_id="audit-text")
    given = gr.Textbox(label="given label", interactive=False, elem_id="audit-given")
    with gr.Row():
        correct = gr.Dropdown(labels, value=None, label="correct class (for wrong)", elem_id="audit-correct")
        reason = gr.Textbox(label="reason (one line, for wrong)", elem_id="audit-reason")
    with gr.Row():
        buttons = {j: gr.Button(j.replace("_", " "), elem_id=f"audit-{j}",
                                variant="primary" if j == "right" else "secondary") for j in JUDGEMENTS}
    reveal = gr.JSON(label="the model's view (shown after your judgement)", elem_id="audit-reveal")
    with gr.Accordion("Audit report", open=False):
        refresh = gr.Button("Update the report", elem_id="audit-report-refresh")
        report = gr.Markdown(elem_id="audit-report")

    def show(split_, sampling_):
        try:
            row = service.audits.next(split_, sampling_)
        except ReviewStoreError as exc:  # the Review tab says so too; the audit waits for a usable database
            return None, _unusable(exc), ""
        if row is None:
            return None, "(no row left to audit in this draw)", ""
        return {"split": split_, "sample_id": row["sample_id"], "sampling": row["sampling"]}, row["text"], row["label"]

    def judge(judgement: str):
        def handler(current_, split_, sampling_, correct_, reason_, reviewer_, request: gr.Request,
                    profile: gr.OAuthProfile | None):
            if not current_:
                raise _error(AuditError("no row is shown; pick a draw first"))
            if current_["split"] != split_:
                raise _error(AuditError("the split changed since this row was shown; it is reloaded"))
            try:
                shown = service.audits.decide(current_["sample_id"], current_["sampling"], judgement, split=split_,
                                              correct_label=correct_ or None, reason=reason_ or "",
                                              caller=caller_from(request, profile, reviewer_))
            except (AuditError, AccessDenied, ReviewStoreError) as exc:
                raise _error(exc) from None
            return (shown, None, "", *show(split_, sampling_))
        return handler

    row_outputs = [current, text, given]
    for judgement, button in buttons.items():
        button.click(judge(judgement), [current, split, sampling, correct, reason, reviewer],
                     [reveal, correct, reason, *row_outputs], api_visibility="private")
    for control in (split, sampling):
        control.change(lambda s, m: (None, *show(s, m)), [split, sampling], [reveal, *row_outputs],
                       api_visibility="private")
    refresh.click(lambda s: report_text(service, s), split, report, api_visibility="private")
    _api_endpoints(service)
    return show, [split, sampling], row_outputs


def _api_endpoints(service) -> None:
    """``audit_next``, ``audit_decide`` and ``audit_report`` for ``gradio_client`` scripts."""

    def audit_next(split: str = "", sampling: str = "uniform") -> dict | None:
        """The next row to judge blind: sample id, text and given label, nothing of the model."""
        try:
            return service.audits.next(split or None, sampling)
        except (AuditError, ReviewStoreError, KeyError, ValueError) as exc:
            raise _error(exc) from None

    def audit_decide(sample_id: int, sampling: str, judgement: str, correct_label: str = "", reason: str = "",
                     split: str = "", reviewer: str = "", request: gr.Request = None,
                     profile: gr.OAuthProfile | None = None) -> dict:
        """Store one judgement (right, wrong, ambiguous, not_emotion); returns what the model says of the row."""
        try:
            return service.audits.decide(int(sample_id), sampling, judgement, split=split or None,
                                         correct_label=correct_label or None, reason=reason,
                                         caller=caller_from(request, profile, reviewer))
        except (AuditError, AccessDenied, ReviewStoreError, KeyError, ValueError) as exc:
            raise _error(exc) from None

    def audit_report(split: str = "") -> dict:
        """The split's estimated share of wrong, ambiguous and non-emotion labels, and each signal's quality."""
        try:
            return service.audits.report(split or None)
        except (ReviewStoreError, KeyError, ValueError) as exc:
            raise _error(exc) from None

    gr.api(audit_next, api_name="audit_next")
    gr.api(audit_decide, api_name="audit_decide")
    gr.api(audit_report, api_name="audit_report")
