"""Data health tab: issues of the analysed splits (leakage, conflicting duplicates, outliers, non-emotion
text), accuracy with and without leaked rows, and the error slices of the selected split.

A selected row (an issue, or a sample of a slice) can be sent to review; the app wires the button.
The live tab's similar-training-tweets panel is built here too (:func:`build_similar_panel`).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from core.services.formatting import readable
from core.services.health import ISSUE_COLUMNS, ISSUE_KINDS, SIMILAR_SPACES, SLICE_VIEW_COLUMNS
from core.services.live import InputError
from dashboard import queries

INTRO = ("**Data health** of the analysed splits. Pick a kind of issue; select a row to pick it, then "
         "*Send to review*. Each list is most severe first. Error slices: groups of the selected split where "
         "the model does clearly worse than on the rest (one-sided Fisher test, Benjamini-Hochberg over "
         "every slice tried); select a slice to list its samples.")
FIRST_KIND = "conflicting duplicates"


@dataclass
class HealthTab:
    """What the app wires: the send button, the picked sample and its split, and the tab's fill event."""

    send: gr.Button
    sample_id: gr.State
    sample_split: gr.State
    fill: tuple


def _issues(service, kind: str) -> tuple[str, pd.DataFrame]:
    attr = ISSUE_KINDS[kind][0]
    key = {"conflicts": "conflicting_duplicates"}.get(attr, attr)
    return f"*Rule:* {service.health.rules()[key]}", service.health.issues(kind)


SIMILAR_COLUMNS = ["sample_id", "label", "predicted", "mislabel score", "similarity", "text"]
#: The search-space switch: choice shown -> the service's space.
SPACE_CHOICES = {label: key for key, label in SIMILAR_SPACES.items()}
FIRST_SPACE = SIMILAR_SPACES["sentence"]


def similar_view(result) -> tuple[str, pd.DataFrame]:
    """The note and table of a :class:`core.analysis.similar.SimilarResult`: scores to 2 decimals."""
    note = (f"Predicted **{result.pred}**; {result.disagreement:.0%} of the {len(result.neighbours)} nearest "
            "training tweets carry another label.")
    rows = result.neighbours.rename(columns={"pred": "predicted", "mislabel_score": "mislabel score"})
    return note, rows[SIMILAR_COLUMNS].round({"mislabel score": 2, "similarity": 2})


def space_switch(elem_id: str) -> gr.Dropdown:
    """The switch between the sentence encoder's space (default) and the classifier's (a dropdown: the
    similar endpoint of the API takes plain values only)."""
    return gr.Dropdown(list(SPACE_CHOICES), value=FIRST_SPACE, label="search in", elem_id=elem_id)


def similar_of(service, sample_id: int, split: str, space: str = FIRST_SPACE) -> tuple[str, pd.DataFrame]:
    """A note and the nearest training tweets of one analysed sample (a note alone without the train split)."""
    try:
        r = service.health.similar_to_sample(sample_id, split, 8, space=SPACE_CHOICES.get(space, space))
    except InputError as exc:
        return str(exc), pd.DataFrame(columns=SIMILAR_COLUMNS)
    return similar_view(r)


def similar_table(service, text: str, space: str = FIRST_SPACE) -> tuple[str, pd.DataFrame]:
    """The live panel's note and nearest training tweets of a typed text (``gr.Error`` for unusable input)."""
    try:
        r = service.health.similar(text, 8, space=SPACE_CHOICES.get(space, space))
    except InputError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    return similar_view(r)


def build_health_tab(service, split: gr.Dropdown) -> HealthTab:
    """The Data health view."""
    gr.Markdown(INTRO)
    with gr.Row():
        counts = gr.Dataframe(label="rows per issue and split", interactive=False, elem_id="health-counts")
        metrics = gr.Dataframe(label="accuracy with and without leaked rows", interactive=False,
                               elem_id="health-metrics")
    kind = gr.Radio(list(ISSUE_KINDS), value=FIRST_KIND, label="issue", elem_id="health-kind")
    rule = gr.Markdown(elem_id="health-rule")
    rows = gr.Dataframe(pd.DataFrame(columns=list(ISSUE_COLUMNS)), label="rows (select one)", interactive=False,
                        wrap=True, max_height=420, elem_id="health-rows")
    with gr.Row():
        picked = gr.Textbox(label="picked", interactive=False, elem_id="health-picked", scale=4)
        send = gr.Button("Send to review", elem_id="health-send", scale=1)
    with gr.Accordion("Similar training tweets of the picked sample", open=False):
        space = space_switch("health-similar-space")
        similar_note = gr.Markdown(elem_id="health-similar-note")
        similar = gr.Dataframe(pd.DataFrame(columns=SIMILAR_COLUMNS), interactive=False, wrap=True, max_height=300,
                               elem_id="health-similar")
    sample_id, sample_split = gr.State(None), gr.State(None)
    _slices_section(service, split, [picked, sample_id, sample_split])

    def fill(kind_):
        h = service.health
        return (h.counts(), h.metrics(), *_issues(service, kind_))

    def on_kind(kind_):
        return _issues(service, kind_)

    def on_row(space_, evt: gr.SelectData):
        row = getattr(evt, "row_value", None)
        if not row:
            return "", None, None, "", pd.DataFrame(columns=SIMILAR_COLUMNS)
        sid, split_ = int(row[0]), str(row[1])
        return (f"{split_} split, sample {sid}: {row[-1]}", sid, split_, *similar_of(service, sid, split_, space_))

    def on_space(space_, sid, split_):
        if sid is None:
            return gr.skip(), gr.skip()
        return similar_of(service, int(sid), split_, space_)

    kind.change(on_kind, kind, [rule, rows], api_visibility="private")
    rows.select(on_row, space, [picked, sample_id, sample_split, similar_note, similar], api_visibility="private")
    space.change(on_space, [space, sample_id, sample_split], [similar_note, similar], api_visibility="private")
    return HealthTab(send, sample_id, sample_split, (fill, kind, [counts, metrics, rule, rows]))


SLICE_NAMES = {"f1_weighted": "weighted F1", "gap": "accuracy gap", "p_adjusted": "p (BH-adjusted)"}


def slices_view(slices: pd.DataFrame) -> pd.DataFrame:
    """The slices as shown: accuracy, F1 and the gap to the rest in percent, p-values readable, first 50."""
    shown = readable(slices[list(SLICE_VIEW_COLUMNS)].head(50), percents=("accuracy", "f1_weighted", "gap"),
                     p_values=("p_adjusted",))
    return shown.rename(columns=SLICE_NAMES)


def _slices_section(service, split: gr.Dropdown, pick: list) -> None:
    """Error slices of the selected split: find them, list a slice's samples, pick one (``pick``: the
    picked-row text box and the sample id and split states)."""
    gr.Markdown("**Error slices** of the selected split")
    find = gr.Button("Find error slices", elem_id="slices-find", size="sm")
    empty = pd.DataFrame(columns=[SLICE_NAMES.get(c, c) for c in SLICE_VIEW_COLUMNS])
    slices = gr.Dataframe(empty, label="slices (select one)",
                          interactive=False, wrap=True, max_height=360, elem_id="slices-table")
    members = gr.Dataframe(pd.DataFrame(columns=queries.LIST_COLUMNS), label="samples of the slice (select one)",
                           interactive=False, wrap=True, max_height=360, elem_id="slices-samples")

    def on_find(split_):
        return slices_view(service.health.slices(split_))

    def on_slice(split_, evt: gr.SelectData):
        row = getattr(evt, "row_value", None)
        if not row:
            return pd.DataFrame(columns=queries.LIST_COLUMNS)
        try:
            return queries.as_list(service.health.slice_samples(int(row[0]), split_))
        except InputError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def on_member(split_, evt: gr.SelectData):
        row = getattr(evt, "row_value", None)
        if not row:
            return "", None, None
        split_ = split_ or service.analyses.default_split
        return f"{split_} split, sample {int(row[0])}: {row[-1]}", int(row[0]), split_

    find.click(on_find, split, slices, api_visibility="private")
    split.change(lambda: empty, None, slices, api_visibility="private")
    slices.select(on_slice, split, members, api_visibility="private")
    members.select(on_member, split, pick, api_visibility="private")


def build_similar_panel(service, text: gr.Textbox) -> tuple[gr.Button, gr.State]:
    """The live tab's "similar training tweets" panel under ``text``; returns its send button and the
    picked training sample id (for the app to send to review on the train split)."""
    with gr.Accordion("Similar training tweets", open=False):
        with gr.Row():
            find = gr.Button("Find similar training tweets", size="sm", elem_id="similar-find")
            space = space_switch("similar-space")
        share = gr.Markdown(elem_id="similar-share")
        table = gr.Dataframe(pd.DataFrame(columns=SIMILAR_COLUMNS), interactive=False, wrap=True, max_height=360,
                             elem_id="similar-table", label="nearest training tweets (select one)")
        with gr.Row():
            picked = gr.Textbox(label="picked", interactive=False, elem_id="similar-picked", scale=4)
            send = gr.Button("Send to review", elem_id="similar-send", scale=1)
    sample_id = gr.State(None)

    def on_find(text_, space_=FIRST_SPACE):
        return similar_table(service, text_, space_)

    def on_pick(evt: gr.SelectData):
        row = getattr(evt, "row_value", None)
        if not row:
            return "", None
        return f"train split, sample {int(row[0])}: {row[-1]}", int(row[0])

    def on_space(text_, space_, shown):
        if shown is None or not len(shown) or not str(text_ or "").strip():
            return gr.skip(), gr.skip()  # nothing searched yet: the switch waits for the button
        return similar_table(service, text_, space_)

    find.click(on_find, [text, space], [share, table], api_name="similar")
    space.change(on_space, [text, space, table], [share, table], api_visibility="private")
    table.select(on_pick, None, [picked, sample_id], api_visibility="private")
    return send, sample_id
