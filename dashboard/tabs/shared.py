"""Pieces several tabs share: sample lists that open a sample, the probability-source selector and note,
and the confidence range sliders."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from dashboard import queries
from dashboard.sample_panel import SamplePanel, show_sample

EMPTY_LIST = pd.DataFrame(columns=queries.LIST_COLUMNS)


def selected_id(evt: gr.SelectData) -> int | None:
    """The sample id of a selected list row (its first cell), or ``None``."""
    row = getattr(evt, "row_value", None)
    if not row:
        return None
    try:
        return int(row[0])
    except (TypeError, ValueError):
        return None


def sample_list(elem_id: str, label: str = "samples") -> gr.Dataframe:
    """An empty list of samples in the columns of :data:`dashboard.queries.LIST_COLUMNS`."""
    return gr.Dataframe(EMPTY_LIST, label=label, interactive=False, wrap=True, max_height=420,
                        elem_id=elem_id, column_widths=["8%", "8%", "10%", "10%", "9%", "9%", "46%"])


def open_sample_wiring(service, table: gr.Dataframe, panel: SamplePanel, split: gr.Dropdown) -> None:
    """Selecting a row of ``table`` opens the sample in ``panel``; a change of split empties the panel
    (its sample id would name another text in the new split)."""

    def on_select(split_, evt: gr.SelectData):
        return show_sample(service, selected_id(evt), split=split_)

    table.select(on_select, split, panel.outputs, trigger_mode="always_last", api_visibility="private")
    split.change(lambda: show_sample(service, None), None, panel.outputs, api_visibility="private")


def prob_note(service, split: str | None, source: str | None = None) -> str:
    """Which probabilities the split's losses and rankings use, in one line."""
    info = service.analyses.facts(split)
    source = info.pick_source(source)
    if not info.ready:
        return f"**{info.split}** split, {info.n_rows} samples · still being analysed (see the line at the top)."
    note = f"**{info.split}** split, {info.n_rows} samples · probabilities: {info.source_text(source)}."
    if source == "out-of-fold" and info.oof_meta:
        m = info.oof_meta
        note += (f" ({m.get('method')}, {m.get('folds', '?')} folds of {m.get('recipe', {}).get('base', '?')}, "
                 f"{m.get('n_rows')} rows)")
    elif source == "in-sample" and info.meta.get("ranking"):  # which ranking the analysis stored for this split
        stored = {"shipped": "the shipped signal ranking",
                  "in-sample": "cleanlab's in-sample score (the shipped ranking could not rank these data)"}
        note += f" Mislabel score: {stored.get(info.meta['ranking'], info.meta['ranking'])}."
    return note


def source_choice(service, prefix: str) -> gr.Radio:
    """The probability-source selector, shown when the split has more than one source."""
    sources = service.analyses.facts(None).sources
    return gr.Radio(sources, value=sources[0], label="rank with probabilities", visible=len(sources) > 1,
                    elem_id=f"{prefix}-source")


def source_update(service, split: str | None) -> gr.Radio:
    """The selector's choices for ``split`` (hidden where there is one source)."""
    sources = service.analyses.facts(split).sources
    return gr.Radio(choices=sources, value=sources[0], visible=len(sources) > 1)


def confidence_range(prefix: str) -> tuple[gr.Slider, gr.Slider]:
    """Two sliders bounding the model's confidence (its top probability), 0 to 1."""
    lo = gr.Slider(0, 1, value=0, step=0.01, label="confidence from", scale=1, elem_id=f"{prefix}-conf-min")
    hi = gr.Slider(0, 1, value=1, step=0.01, label="confidence to", scale=1, elem_id=f"{prefix}-conf-max")
    return lo, hi
