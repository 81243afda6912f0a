"""The blind audit, a page of its own (``/audit``): judge a row from its text and given label alone.

While a row is open, nothing of the model is on this page or in any payload sent to it: the page holds
only the audit's own components, the server draws the row and sends its text, given label and a draw
token. The judgement is recorded against that token (once); only then does the reveal card show the
prediction with its probability bars, each signal's rank and where the row fell in the ranking. A
revealed judgement is final: a revision, with its reason, is recorded beside it and never changes the
estimates. The same calls are API endpoints for scripts: ``audit_next``, ``audit_decide``,
``audit_revise`` and ``audit_report``.
"""

from __future__ import annotations

from collections.abc import Mapping

import gradio as gr

from core.services.audits import JUDGEMENTS, SAMPLINGS, AuditError
from core.services.reviews import AccessDenied, ReviewStoreError
from dashboard.figures import probability_bars
from dashboard.review_access import caller_from

INTRO = ("## Blind audit\nJudge whether the given label is the emotion the writer expresses, from the text "
         "alone (the guideline: `bench/data/audit_guideline.md`). Nothing of the model is on this page until "
         "your judgement is stored; then a card shows what the model says. A judgement is final once revealed "
         "(a revision with its reason is kept beside it). *Uniform* draws estimate the split's error rate; "
         "*stratified* draws oversample the top of the ranking.")
ERRORS = (AuditError, AccessDenied, ReviewStoreError, KeyError, ValueError)


def _error(exc: Exception) -> gr.Error:
    return gr.Error(str(exc), print_exception=False)


def _unusable(exc: ReviewStoreError) -> str:
    """What the page shows in place of a row or the report when the review database cannot be used."""
    return f"(the review database could not be used: {exc})"


def report_text(service, split: str | None) -> str:
    """The audit report as Markdown, or what stopped it (a review database that cannot be used)."""
    try:
        return service.audits.report_text(split)
    except ReviewStoreError as exc:
        return _unusable(exc)


def reveal_card(reveal: Mapping) -> str:
    """The reveal as Markdown a person reads (labels and numbers only, never the row's text).

    >>> print(reveal_card({"judgement": "wrong", "label": "anger", "pred": "joy", "confidence": 0.91,
    ...                    "ranking": {"rank": 12, "of": 2000, "top_share": 0.006},
    ...                    "signals": {"loss": {"rank": 40, "of": 2000, "value": 2.1}}}))
    **Your judgement: wrong** (given label: anger). Now revealed:
    - the model predicts **joy** at 91%
    - the ranking puts this row at 12 of 2,000 (top 0.6%)
    - loss: rank 40 of 2,000
    """
    lines = [f"**Your judgement: {reveal['judgement'].replace('_', ' ')}** (given label: {reveal['label']}). "
             "Now revealed:"]
    if "pred" in reveal:
        confidence = f" at {100 * reveal['confidence']:.0f}%" if reveal.get("confidence") is not None else ""
        lines.append(f"- the model predicts **{reveal['pred']}**{confidence}")
    else:
        lines.append("- no model was analysed on this split")
    if reveal.get("ranking"):
        r = reveal["ranking"]
        lines.append(f"- the ranking puts this row at {r['rank']:,} of {r['of']:,} (top {100 * r['top_share']:.1f}%)")
    lines += [f"- {name}: rank {s['rank']:,} of {s['of']:,}" for name, s in reveal.get("signals", {}).items()]
    return "\n".join(lines)


def _show(service, split_, sampling_):
    """The next draw: (state, text, given label)."""
    try:
        row = service.audits.next(split_, sampling_)
    except ReviewStoreError as exc:
        return None, _unusable(exc), ""
    except AuditError as exc:
        return None, f"({exc})", ""
    if row is None:
        return None, "(no row left to audit in this draw)", ""
    return {"split": split_, "token": row["token"], "sample_id": row["sample_id"]}, row["text"], row["label"]


def _judge_handler(service, judgement: str):
    def handler(current_, split_, sampling_, correct_, reason_, reviewer_, request: gr.Request,
                profile: gr.OAuthProfile | None):
        if not current_:
            raise _error(AuditError("no row is shown; pick a draw first"))
        if current_["split"] != split_:
            raise _error(AuditError("the split changed since this row was shown; it is reloaded"))
        try:
            shown = service.audits.decide(current_["token"], judgement, split=split_,
                                          correct_label=correct_ or None, reason=reason_ or "",
                                          caller=caller_from(request, profile, reviewer_))
        except ERRORS as exc:  # the row, the class and the reason stay as they are
            raise _error(exc) from None
        figure = probability_bars(shown["probs"], title="the model's probabilities") if shown.get("probs") else None
        return (reveal_card(shown), gr.Plot(figure, visible=figure is not None), shown["sample_id"], None, "",
                *_show(service, split_, sampling_))
    return handler


def build_audit_page(service) -> tuple:
    """The audit page's blocks; returns ``(fn, inputs, outputs)`` that loads the first row."""
    gr.Markdown(INTRO)
    with gr.Row():
        split = gr.Dropdown(service.splits, value=service.analyses.default_split, label="split",
                            visible=len(service.splits) > 1, elem_id="audit-split")
        sampling = gr.Radio(list(SAMPLINGS), value="uniform", label="draw", elem_id="audit-sampling")
        reviewer = gr.Textbox(value=service.settings.reviewer, label="reviewer (optional)", elem_id="audit-reviewer",
                              visible=service.settings.access == "open")
    current = gr.State(None)  # {"split", "token", "sample_id"}: a judgement lands only on the row drawn
    text = gr.Textbox(label="text", interactive=False, lines=3, elem_id="audit-text")
    given = gr.Textbox(label="given label", interactive=False, elem_id="audit-given")
    with gr.Row():
        correct = gr.Dropdown(service.labels, value=None, label="correct class (for wrong)", elem_id="audit-correct")
        reason = gr.Textbox(label="reason (one line, for wrong)", elem_id="audit-reason")
    with gr.Row():
        buttons = {j: gr.Button(j.replace("_", " "), elem_id=f"audit-{j}",
                                variant="primary" if j == "right" else "secondary") for j in JUDGEMENTS}
    with gr.Group():
        card = gr.Markdown("*The model's view appears here after your judgement.*", elem_id="audit-reveal")
        bars = gr.Plot(visible=False, elem_id="audit-reveal-bars", show_label=False)
    last = gr.State(None)
    with gr.Accordion("Revise the last judgement (kept beside it; the estimates keep the blind one)", open=False):
        with gr.Row():
            rev_judgement = gr.Dropdown(list(JUDGEMENTS), label="revised judgement", elem_id="audit-revise-judgement")
            rev_correct = gr.Dropdown(service.labels, value=None, label="correct class (for wrong)")
            rev_reason = gr.Textbox(label="why (required)", elem_id="audit-revise-reason")
        revise = gr.Button("Record the revision", elem_id="audit-revise")
        revised = gr.Markdown(elem_id="audit-revised")
    with gr.Accordion("Audit report", open=False):
        with gr.Row():
            refresh = gr.Button("Update the report", elem_id="audit-report-refresh")
            import_button = gr.Button("Import the committed audit of this split", elem_id="audit-import")
        report = gr.Markdown(elem_id="audit-report")
    row_outputs = [current, text, given]
    for judgement, button in buttons.items():
        button.click(_judge_handler(service, judgement), [current, split, sampling, correct, reason, reviewer],
                     [card, bars, last, correct, reason, *row_outputs], api_visibility="private")
    _wire_revision(service, revise, [last, split, rev_judgement, rev_correct, rev_reason, reviewer], revised)
    for control in (split, sampling):
        control.change(lambda s, m: ("", gr.Plot(visible=False), *_show(service, s, m)), [split, sampling],
                       [card, bars, *row_outputs], api_visibility="private")
    refresh.click(lambda s: report_text(service, s), split, report, api_visibility="private")
    import_button.click(_import_handler(service), [split, reviewer], report, api_visibility="private")
    _api_endpoints(service)
    return (lambda s, m: _show(service, s, m)), [split, sampling], row_outputs


def _wire_revision(service, button: gr.Button, inputs: list, output: gr.Markdown) -> None:
    def revise(sample_id, split_, judgement, correct_, reason_, reviewer_, request: gr.Request,
               profile: gr.OAuthProfile | None):
        if sample_id is None:
            raise _error(AuditError("judge a row first: only a revealed judgement can be revised"))
        try:
            service.audits.revise(int(sample_id), judgement or "", split=split_, correct_label=correct_ or None,
                                  reason=reason_ or "", caller=caller_from(request, profile, reviewer_))
        except ERRORS as exc:
            raise _error(exc) from None
        return f"Revision of sample {sample_id} recorded: {judgement}. The estimates keep the blind judgement."

    button.click(revise, inputs, output, api_visibility="private")


def _import_handler(service):
    def run(split_, reviewer_, request: gr.Request, profile: gr.OAuthProfile | None):
        try:
            result = service.audits.import_committed(split_, caller=caller_from(request, profile, reviewer_))
        except ERRORS as exc:
            raise _error(exc) from None
        return result.line() + "\n\n" + report_text(service, split_)
    return run


def _api_endpoints(service) -> None:
    """``audit_next``, ``audit_decide``, ``audit_revise`` and ``audit_report`` for ``gradio_client`` scripts."""

    def audit_next(split: str = "", sampling: str = "uniform") -> dict | None:
        """The next row to judge blind: a draw token, sample id, text and given label, nothing of the model."""
        try:
            return service.audits.next(split or None, sampling)
        except ERRORS as exc:
            raise _error(exc) from None

    def audit_decide(token: str, judgement: str, correct_label: str = "", reason: str = "", split: str = "",
                     reviewer: str = "", request: gr.Request = None, profile: gr.OAuthProfile | None = None) -> dict:
        """Store the judgement of a draw (right, wrong, ambiguous, not_emotion); returns what the model says."""
        try:
            return service.audits.decide(token, judgement, split=split or None, correct_label=correct_label or None,
                                         reason=reason, caller=caller_from(request, profile, reviewer))
        except ERRORS as exc:
            raise _error(exc) from None

    def audit_revise(sample_id: int, judgement: str, reason: str, correct_label: str = "", split: str = "",
                     reviewer: str = "", request: gr.Request = None, profile: gr.OAuthProfile | None = None) -> dict:
        """Record a revision of a revealed judgement, with its reason (the estimates keep the blind one)."""
        try:
            return service.audits.revise(int(sample_id), judgement, reason=reason, split=split or None,
                                         correct_label=correct_label or None,
                                         caller=caller_from(request, profile, reviewer))
        except ERRORS as exc:
            raise _error(exc) from None

    def audit_report(split: str = "") -> dict:
        """The split's estimated share of wrong, ambiguous and non-emotion labels, and each signal's quality."""
        try:
            return service.audits.report(split or None)
        except ERRORS as exc:
            raise _error(exc) from None

    for fn in (audit_next, audit_decide, audit_revise, audit_report):
        gr.api(fn, api_name=fn.__name__)
