"""Compare tab: the served model (A) against a second checkpoint (B) on the same split.

Metrics and their deltas, McNemar's paired test, the confusion-matrix difference (click a cell for
its changed samples), and the samples whose prediction changed, grouped as fixed, broken and
changed-but-still-wrong; a selected sample shows both models' probabilities and explanations. With
review decisions on the split, the metrics and McNemar's test again on the corrected labels, and a
warning when the better model changes.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from core.services.analyses import CHANGE_GROUPS, SplitNotReady, verdict
from core.services.live import InputError
from dashboard import queries
from dashboard.audited import compare_audited
from dashboard.figures.compare import confusion_delta_figure, paired_probability_bars
from dashboard.plotly_bridge import figure_value, interactive_plot
from dashboard.sample_panel import row_probs, word_highlight

ALL_GROUPS = "all changed"
CHANGED_COLUMNS = ["sample_id", "group", "label", "pred_a", "pred_b", "p_label_a", "p_label_b", "text"]


def summary_table(summary: dict) -> pd.DataFrame:
    """Accuracy and weighted F1 of A and B with the delta, as rows."""
    rows = [(name, summary[f"{key}_a"], summary[f"{key}_b"], summary[f"{key}_delta"])
            for name, key in (("accuracy", "accuracy"), ("weighted F1", "f1_weighted"))]
    return pd.DataFrame(rows, columns=["metric", "A", "B", "B - A"]).round(4)


def changed_rows(report, *, group: str = ALL_GROUPS, true_label: str = queries.ANY,
                 cell: tuple[int, int] | None = None) -> pd.DataFrame:
    """The changed samples, filtered by group, given label and (optionally) a difference-matrix cell."""
    rows = report.changed
    if cell is not None:
        rows = report.cell_changes(report.labels[cell[0]], report.labels[cell[1]])
    if group != ALL_GROUPS:
        rows = rows[rows["group"] == group]
    if true_label and true_label != queries.ANY:
        rows = rows[rows["label"] == true_label]
    cols = [c for c in CHANGED_COLUMNS if c in rows.columns]
    return rows[cols].reset_index(drop=True)


def changed_listing(service, split: str | None, group: str, true_label: str, cell: list | None) -> tuple:
    """(caption, rows) of the changed samples shown for these filters."""
    labels = service.labels
    shown = changed_rows(service.analyses.compare_report(split), group=group, true_label=true_label,
                         cell=tuple(cell) if cell else None)
    where = f"cell true {labels[cell[0]]} · predicted {labels[cell[1]]} · " if cell else ""
    return f"{where}{len(shown)} samples", shown


def _sample_views() -> list:
    """The selected sample's text, both models' probabilities and both explanations."""
    with gr.Group():
        gr.Markdown("**Sample (select a row): both models**")
        sample_text = gr.Textbox(label="text", interactive=False, lines=2, elem_id="compare-sample-text")
        bars = gr.Plot(label="probabilities of A and B", elem_id="compare-bars")
        with gr.Row():
            shap_a = gr.HighlightedText(label="model A: SHAP toward its prediction", show_legend=False,
                                        combine_adjacent=False, elem_id="compare-shap-a")
            shap_b = gr.HighlightedText(label="model B: SHAP toward its prediction", show_legend=False,
                                        combine_adjacent=False, elem_id="compare-shap-b")
    return [sample_text, bars, shap_a, shap_b]


def sample_pair(service, split: str | None, sample_id: int) -> tuple:
    """(text, paired probability bars, A's and B's word highlights) of one sample."""
    labels = service.labels
    ra, rb = service.analyses.sample(sample_id, split), service.analyses.sample(sample_id, split, role="compare")
    ea = service.live.explain(ra["text"], target=ra["pred"], role="model")
    eb = service.live.explain(rb["text"], target=rb["pred"], role="compare")
    return (ra["text"], paired_probability_bars(row_probs(ra, labels), row_probs(rb, labels), labels),
            word_highlight(ea), word_highlight(eb))


def corrected_text(report) -> str:
    """The comparison on the review-corrected labels, with the warning when the better model changes."""
    c = report.corrected
    if c is None:
        return "No review decisions on this split: the comparison uses the given labels only."
    text = (f"**On the labels corrected by review** ({c['decisions']} decisions: {c['relabelled']} relabelled, "
            f"{c['left_out']} left out; {c['rows']} rows): {verdict(c)}")
    return text + (f"\n\n**Warning:** {report.warning}" if report.warning else "")


def relabelled_views(service, split: str | None) -> tuple[str, str]:
    """The comparison on the review-corrected labels and on the audited labels, as Markdown."""
    decisions = service.reviews.decisions(split)
    return (corrected_text(service.analyses.compare_report(split, decisions=decisions)),
            compare_audited(service.audits.audited_compare(split)))


def on_changed_row(service, split: str | None, evt: gr.SelectData) -> tuple:
    """Both models' views of the changed sample a click picked."""
    row = getattr(evt, "row_value", None)
    return sample_pair(service, split, int(row[0])) if row else ("", None, None, None)


def _report_or_wait(service, split: str | None):
    """The compare report of ``split``, or ``None`` with what to wait for while the analyses are being made."""
    try:
        return service.analyses.compare_report(split), ""
    except (SplitNotReady, InputError) as exc:
        return None, f"Both models' analyses of this split are not ready yet ({exc}); open this tab again soon."


def _head(service, report) -> tuple:
    """The verdict, audited and corrected lines, the delta plot and the metric tables (empty while waiting)."""
    gr.Markdown(f"**A** = `{service.settings.model}` · **B** = `{service.settings.compare_model}`")
    headline = gr.Markdown(verdict(report.summary) if report else _report_or_wait(service, None)[1],
                           elem_id="compare-verdict")
    audited = gr.Markdown(compare_audited(service.audits.audited_compare(None)) if report else "",
                          elem_id="compare-audited")
    with gr.Row():
        corrected = gr.Markdown(elem_id="compare-corrected")
        recompute = gr.Button("Compare on the corrected and audited labels", size="sm", scale=0,
                              elem_id="compare-corrected-go")
    with gr.Row():
        with gr.Column(scale=3):
            plot = interactive_plot(confusion_delta_figure(report.confusion_delta, service.labels)
                                    if report else None, elem_id="compare-plot")
        with gr.Column(scale=2):
            metrics = gr.Dataframe(summary_table(report.summary) if report else None, label="overall",
                                   interactive=False, elem_id="compare-metrics")
            per_class = gr.Dataframe(report.per_class.round(3).reset_index(names="class") if report else None,
                                     label="per class (A, B and delta)", interactive=False, wrap=True)
    return headline, audited, corrected, recompute, plot, metrics, per_class


def build_compare_tab(service, split: gr.Dropdown, tab: gr.Tab | None = None) -> None:
    """The Compare view (only built when the service holds a compare model). Built while the analyses are still
    being made (the app serves first), it says so and fills itself when ``tab`` is opened once they are ready."""
    labels = service.labels
    report = _report_or_wait(service, None)[0]
    headline, audited, corrected, recompute, plot, metrics, per_class = _head(service, report)
    with gr.Row():
        group = gr.Radio([ALL_GROUPS, *CHANGE_GROUPS], value=ALL_GROUPS, label="changed samples",
                         elem_id="compare-group")
        true_label = gr.Dropdown(queries.label_choices(labels), value=queries.ANY, label="given label")
        clear = gr.Button("Clear cell filter", size="sm")
    cell = gr.State(None)
    caption = gr.Textbox(label="showing", interactive=False, elem_id="compare-caption")
    rows = gr.Dataframe(changed_rows(report) if report else None, interactive=False, wrap=True, max_height=420,
                        elem_id="compare-table", label="samples whose prediction changed")
    sample_views = _sample_views()

    def listing(split_, group_, true_, cell_):  # the changed samples shown for these filters
        return changed_listing(service, split_, group_, true_, cell_)

    def on_split(split_, group_, true_):
        r, wait = _report_or_wait(service, split_)
        if r is None:
            return (wait, *[gr.skip()] * 6)
        return (verdict(r.summary), figure_value(confusion_delta_figure(r.confusion_delta, labels)),
                summary_table(r.summary), r.per_class.round(3).reset_index(names="class"), None,
                *listing(split_, group_, true_, None))

    def on_cell(split_, group_, true_, evt: gr.SelectData):
        cell_ = [int(x) for x in evt.index]
        return (cell_, *listing(split_, group_, true_, cell_))

    def on_row(split_, evt: gr.SelectData):
        return on_changed_row(service, split_, evt)

    def relabelled(split_):
        return relabelled_views(service, split_) if _report_or_wait(service, split_)[0] is not None else \
            (gr.skip(), gr.skip())

    for event in (recompute.click, split.change, *([tab.select] if tab is not None else [])):
        event(relabelled, split, [corrected, audited], api_visibility="private")
    for event in (split.change, *([tab.select] if tab is not None else [])):
        event(on_split, [split, group, true_label], [headline, plot, metrics, per_class, cell, caption, rows],
              api_visibility="private")
    for control in (group, true_label):
        control.change(listing, [split, group, true_label, cell], [caption, rows], api_visibility="private")
    clear.click(lambda s, g, t: (None, *listing(s, g, t, None)), [split, group, true_label], [cell, caption, rows],
                api_visibility="private")
    plot.select(on_cell, [split, group, true_label], [cell, caption, rows], trigger_mode="always_last",
                api_visibility="private")
    rows.select(on_row, split, sample_views, trigger_mode="always_last", api_visibility="private")
