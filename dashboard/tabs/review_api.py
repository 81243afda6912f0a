"""The Review tab's API endpoints for ``gradio_client`` scripts: ``review_queue``, ``review_decide`` and
``review_export``, served by the same reviews service as the tab's buttons (which authorises writes)."""

from __future__ import annotations

from dataclasses import asdict

import gradio as gr

from core.services.live import InputError
from core.services.reviews import AccessDenied
from dashboard import queries
from dashboard.review_access import caller_from

QUEUE_COLUMNS = ["sample_id", "label", "pred", "confidence", "loss", "text"]


def _error(exc: Exception) -> gr.Error:
    return gr.Error(str(exc), print_exception=False)


def add_review_api(service) -> None:
    """Register ``review_queue``, ``review_decide`` and ``review_export`` in the current Blocks."""

    def review_queue(given_label: str = queries.ANY, predicted_label: str = queries.ANY, split: str = "",
                     limit: int = 50, source: str = "") -> list[dict]:
        """Unreviewed samples of a split, most suspicious first, filtered by given and predicted label;
        ``source`` picks the probabilities that rank them (held-out, in-sample or out-of-fold)."""
        try:
            rows = service.reviews.queue(split or None, given=given_label, predicted=predicted_label,
                                         source=source or None, limit=max(0, int(limit)))
        except (InputError, KeyError) as exc:
            raise _error(exc) from None
        out = rows.head(max(0, int(limit))).assign(sample_id=lambda f: f.index.to_numpy())
        cols = [c for c in [*QUEUE_COLUMNS, rows.attrs["rank_by"]] if c in out.columns]
        return out[list(dict.fromkeys(cols))].to_dict(orient="records")

    def review_decide(sample_id: int, action: str, new_label: str = "", note: str = "", split: str = "",
                      reviewer: str = "", request: gr.Request = None,
                      profile: gr.OAuthProfile | None = None) -> dict:
        """Record a decision (keep, relabel, ambiguous, not_emotion, skip) on one sample; returns it as stored."""
        try:
            decision = service.reviews.decide(int(sample_id), action, split=split or None,
                                              new_label=new_label or None, note=note,
                                              caller=caller_from(request, profile, reviewer))
        except (InputError, KeyError, ValueError, AccessDenied) as exc:
            raise _error(exc) from None
        return asdict(decision)

    gr.api(review_queue, api_name="review_queue")
    gr.api(review_decide, api_name="review_decide")
    _add_export_endpoint(service)


def _add_export_endpoint(service) -> None:
    with gr.Row(visible=False):
        kind = gr.Dropdown(["csv", "jsonl", "split"], value="csv", label="kind")
        split = gr.Textbox(value="", label="split")
        drop = gr.Checkbox(value=True, label="drop_ambiguous")
        out = gr.File(label="file")
        trigger = gr.Button("export")

    def review_export(kind: str, split: str, drop_ambiguous: bool) -> str:
        """Write decisions (csv, jsonl) or the corrected split (split); returns the file."""
        try:
            path, _ = service.reviews.export(kind, split=split or None, drop_ambiguous=bool(drop_ambiguous))
        except (InputError, KeyError, ValueError) as exc:
            raise _error(exc) from None
        return str(path)

    trigger.click(review_export, [kind, split, drop], out, api_name="review_export")
