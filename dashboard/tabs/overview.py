"""Overview tab: which model and data, the metrics, class distribution, token lengths and calibration."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from core.services.formatting import percent
from dashboard import figures
from dashboard.audited import audited_summary
from dashboard.tabs.calibration import build_calibration_block, calibration_views


def overview_facts(service, split: str | None) -> pd.DataFrame:
    """Model, data and metrics of one analysis as a two-column table."""
    info = service.analyses.facts(split)
    if not info.ready:
        return pd.DataFrame([("split", f"{info.split} ({info.n_rows} samples)"),
                             ("analysis", "still being analysed (the line at the top says how far)")],
                            columns=["what", "value"])
    meta = info.meta
    return pd.DataFrame([
        ("model", str(meta.get("model"))), ("model fingerprint", str(meta.get("model_fingerprint"))),
        ("data", str(meta.get("data"))), ("split", f"{meta.get('split')} ({meta.get('n_rows')} samples)"),
        ("probabilities", info.source_text(info.prob_source)),
        ("accuracy", percent(meta.get("accuracy"))),
        ("weighted F1", percent(meta.get("f1_weighted"))),
        ("analysis built", f"{meta.get('created')} in {meta.get('seconds')} s"),
        ("libraries", ", ".join(f"{k} {v}" for k, v in (meta.get("versions") or {}).items())),
    ], columns=["what", "value"])


def overview_figures(service, split: str | None) -> tuple:
    """Class distribution, token lengths by class and the loss histogram of one analysis."""
    info = service.analyses.info(split)
    table = service.analyses.table(split)
    counts = service.analyses.class_counts(split)
    return (figures.class_distribution_figure(counts, title=f"{info.split} samples per class"),
            figures.token_length_figure(table, info.labels), figures.loss_histogram(table))


def build_overview_tab(service, split: gr.Dropdown) -> tuple:
    """Which model and data, the metrics, class distribution and token lengths by class, calibration.

    The figures are built from aggregates (counts, box statistics, histogram bins), so they stay small
    at any N; they and the calibration block, which fits temperatures over every row, are filled when
    the tab is opened (0.4 s less before the first page at 400,000 rows). Returns
    ``(fn, inputs, outputs)`` for the app to run on the tab's select event.
    """
    facts = gr.Dataframe(overview_facts(service, None), label="model and data", interactive=False, wrap=True,
                         elem_id="overview-facts")
    ready = service.analyses.facts(None).ready
    audited = gr.Markdown(audited_summary(service.audits.audited(None)) if ready else "", elem_id="overview-audited")
    if service.warnings:
        gr.Textbox("\n".join(service.warnings), label="warnings", interactive=False)
    with gr.Row():
        classes = gr.Plot(show_label=False)
        lengths = gr.Plot(show_label=False)
    losses = gr.Plot(show_label=False)
    with gr.Accordion("Metrics without the rows leaked from other splits", open=False):
        leak_go = gr.Button("Compute (reads every split; the Data health tab lists the leaked rows)", size="sm",
                            elem_id="overview-leak-go")
        leak_metrics = gr.Dataframe(interactive=False, elem_id="overview-leak-metrics")
    leak_go.click(lambda: service.health.metrics(), None, leak_metrics, api_visibility="private")

    def redraw(split_):
        return (overview_facts(service, split_), audited_summary(service.audits.audited(split_)),
                *overview_figures(service, split_))

    split.change(redraw, split, [facts, audited, classes, lengths, losses], api_visibility="private")
    calibration = build_calibration_block(service, split, lazy=True)

    def fill(split_):  # the audit may have grown since the page was built (and the split may be ready now)
        return (overview_facts(service, split_), audited_summary(service.audits.audited(split_)),
                *overview_figures(service, split_), *calibration_views(service, split_))

    return fill, split, [facts, audited, classes, lengths, losses, *calibration]
