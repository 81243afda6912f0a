"""The Review tab's "My decisions" list: the caller's current decisions, filtered by action and split; any one
of them can be changed (a new decision) or withdrawn (a ``withdraw`` event), and the history logs both.

The service does the work (:class:`core.services.review_history.DecisionHistory`); this module only lays the
list out and passes the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from core.services.live import InputError
from core.services.review_history import HISTORY_COLUMNS, LISTED_ACTIONS
from core.services.reviews import AccessDenied, ReviewStoreError
from dashboard.review_access import caller_from

ANY_ACTION = "any"
RELABEL_TO = "relabel → "


@dataclass
class HistoryList:
    """The list's components; :meth:`refresh` is what other handlers chain to keep it current."""

    split: gr.Dropdown
    action: gr.Dropdown
    table: gr.Dataframe
    selected: gr.State  # [split, sample id] of the row clicked
    change_to: gr.Dropdown
    status: gr.Textbox

    @property
    def inputs(self) -> list:
        return [self.split, self.action]


def _error(exc: Exception) -> gr.Error:
    return gr.Error(str(exc), print_exception=False)


def change_choices(labels: list[str]) -> list[str]:
    """What a listed decision can become: each non-relabel action, or a relabel to each class."""
    return [a for a in LISTED_ACTIONS if a != "relabel"] + [f"{RELABEL_TO}{name}" for name in labels]


def build_history(service, reviewer: gr.Textbox) -> HistoryList:
    """The "My decisions" accordion, wired (``reviewer``: the typed name of open access)."""
    with gr.Accordion("My decisions (change or withdraw)", open=False, elem_id="review-history"):
        with gr.Row():
            split = gr.Dropdown(service.splits, value=service.analyses.default_split, label="split",
                                elem_id="review-history-split")
            action = gr.Dropdown([ANY_ACTION, *LISTED_ACTIONS], value=ANY_ACTION, label="action",
                                 elem_id="review-history-action")
            refresh = gr.Button("Refresh", size="sm", elem_id="review-history-refresh")
        table = gr.Dataframe(pd.DataFrame(columns=HISTORY_COLUMNS), label="newest first; click a row to pick it",
                             interactive=False, wrap=True, max_height=300, elem_id="review-history-table")
        with gr.Row():
            change_to = gr.Dropdown(change_choices(service.labels), value="keep", label="change to",
                                    elem_id="review-history-change-to")
            change = gr.Button("Change", size="sm", elem_id="review-history-change")
            withdraw = gr.Button("Withdraw", size="sm", elem_id="review-history-withdraw")
        status = gr.Textbox(label="picked decision", interactive=False, elem_id="review-history-status")
    h = HistoryList(split, action, table, gr.State(None), change_to, status)
    _wire(service, h, reviewer, refresh, change, withdraw)
    return h


def listing(service, split_, action_, reviewer_, request: gr.Request, profile: gr.OAuthProfile | None):
    """The caller's decisions on ``split_`` of ``action_`` (the table's value)."""
    try:
        return service.reviews.my_decisions(split_ or None, action=None if action_ == ANY_ACTION else action_,
                                            caller=caller_from(request, profile, reviewer_))
    except AccessDenied:
        return pd.DataFrame(columns=HISTORY_COLUMNS)  # not a reviewer: nothing of theirs to list
    except (InputError, ReviewStoreError) as exc:
        raise _error(exc) from None


def _wire(service, h: HistoryList, reviewer, refresh: gr.Button, change: gr.Button, withdraw: gr.Button) -> None:
    def show(split_, action_, reviewer_, request: gr.Request, profile: gr.OAuthProfile | None):
        return listing(service, split_, action_, reviewer_, request, profile)

    inputs = [h.split, h.action, reviewer]
    for event in (refresh.click, h.split.change, h.action.change):
        event(show, inputs, h.table, api_visibility="private")

    def pick(split_, frame: pd.DataFrame, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        sid = int(frame.iloc[int(row)]["sample_id"])
        if sid < 0:
            return None, "that decision's text is no longer in the split; it cannot be changed here"
        rec = frame.iloc[int(row)]
        return [split_, sid], f"sample {sid}: {rec['action']} ({rec['old_label']} given) — {rec['text']}"

    h.table.select(pick, [h.split, h.table], [h.selected, h.status], api_visibility="private")

    def act(kind: str):
        def handler(picked, change_to_, action_, reviewer_, request: gr.Request, profile: gr.OAuthProfile | None):
            if not picked:
                raise gr.Error("Pick a decision in the list first.", print_exception=False)
            split_, sid = picked
            caller = caller_from(request, profile, reviewer_)
            try:
                if kind == "withdraw":
                    service.reviews.withdraw(sid, split=split_, caller=caller)
                    said = f"sample {sid}: decision withdrawn (logged); it is back in the queue"
                else:
                    action, label = ("relabel", change_to_[len(RELABEL_TO):]) if change_to_.startswith(
                        RELABEL_TO) else (change_to_, None)
                    d = service.reviews.decide(sid, action, split=split_, new_label=label, caller=caller)
                    said = f"sample {sid}: changed to {d.action}" + (f" → {d.new_label}" if d.new_label and
                                                                     d.action == "relabel" else "") + " (logged)"
            except (InputError, AccessDenied, ReviewStoreError) as exc:
                raise _error(exc) from None
            return None, said, listing(service, split_, action_, reviewer_, request, profile)
        return handler

    for button, kind in ((change, "change"), (withdraw, "withdraw")):
        button.click(act(kind), [h.selected, h.change_to, h.action, reviewer], [h.selected, h.status, h.table],
                     api_visibility="private")
