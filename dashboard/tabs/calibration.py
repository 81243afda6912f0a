"""Calibration block for the Overview tab: reliability diagram and ECE, overall and per class.

For the analysed split (and the compare model, when one is loaded): ECE before and after a
temperature fitted on this same split (said so in the table and the note), and the honest
held-out figure (temperature fitted on one half of the split, ECE measured on the other).
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from dashboard.figures import reliability_figure


def _roles(service) -> list[str]:
    return ["model", "compare"] if service.analyses.has_compare else ["model"]


def calibration_views(service, split: str | None) -> tuple:
    """(reliability figure, ECE table, note) for ``split`` and every loaded model."""
    series, tables, lines = {}, [], []
    for role in _roles(service):
        cal = service.analyses.calibration(split, role=role)
        a = service.analyses.info(split, role)
        name = "" if role == "model" else "compare: "
        series[f"{name}as predicted"] = cal.reliability
        series[f"{name}T={cal.temperature:.2f} (fitted on this split)"] = cal.reliability_scaled
        t = cal.summary()
        t.insert(0, "model", role)
        tables.append(t)
        in_sample = " The model trained on this split, so these probabilities are in-sample." if a.trained_on else ""
        lines.append(
            f"**{role}** on {a.split} ({cal.n} rows, {cal.bins} bins): ECE {100 * cal.ece:.2f}%; "
            f"temperature T={cal.temperature:.2f} fitted on this split gives {100 * cal.ece_scaled:.2f}% "
            f"(in-sample). Fitted on one half and measured on the other: {100 * cal.heldout_ece:.2f}% → "
            f"{100 * cal.heldout_ece_scaled:.2f}% (T={cal.heldout_temperatures[0]:.2f} and "
            f"{cal.heldout_temperatures[1]:.2f}).{in_sample}")
    return reliability_figure(series), pd.concat(tables, ignore_index=True), "\n\n".join(lines)


def build_calibration_block(service, analysis: gr.Dropdown | None = None, *, lazy: bool = False) -> tuple:
    """Lay out the calibration block; ``analysis`` is the split selector whose value picks the analysis
    (None: the default split only). Returns the (figure, table, note) components.

    ``lazy``: leave the components empty at build time (fitting temperatures takes seconds at 400,000
    rows); the caller fills them with :func:`calibration_views` when the block is shown.
    """
    gr.Markdown("#### Calibration: does a 95% confidence mean 95%?")
    figure, table, note = (None, None, "") if lazy else calibration_views(service, None)
    with gr.Row():
        fig_c = gr.Plot(figure, label="reliability (points on the diagonal are calibrated)", elem_id="calibration-plot")
        table_c = gr.Dataframe(table, label="expected calibration error (ECE, %)", interactive=False,
                               elem_id="calibration-table")
    note_c = gr.Markdown(note, elem_id="calibration-note")
    if analysis is not None:
        analysis.change(lambda split_: calibration_views(service, split_), analysis, [fig_c, table_c, note_c],
                        api_visibility="private")
    return fig_c, table_c, note_c
