"""The sample panel shared by the loss, confusion, embedding and review views.

It shows one sample: its text (always as text), given and predicted label, why the ranking finds it
suspect (a split the model trained on: each signal's reason in words, :func:`why_text`), every
probability, its SHAP explanation toward the predicted class, word by word (:func:`word_highlight`),
and how faithful that explanation is (:func:`faithfulness_text`, a plain-text line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def word_highlight(exp, *, pieces: bool = False) -> list[tuple[str, float | None]]:
    """``gr.HighlightedText`` value of a :class:`core.explanation.words.Explanation`: the whole text, word by word.

    Each word (or, with ``pieces``, each word piece) carries its attribution toward the explained
    class scaled to [-1, 1] by the largest magnitude shown; spaces and text the model did not see
    carry None. The slices are the typed text itself, so joining them gives it back exactly.
    """
    parts = exp.segments(pieces=pieces)
    scale = max((abs(v) for _, v in parts if v is not None), default=0.0)
    return [(s, None if v is None else round(v / scale, 3) if scale > 0 else 0.0) for s, v in parts]


def faithfulness_text(exp) -> str:
    """The explanation's faithfulness line (plain text, shown in a text box, never as HTML); empty when unscored."""
    score = getattr(exp, "faithfulness", None)
    return "" if score is None else f"faithfulness: {score.line()}"


def sample_facts(row: dict) -> str:
    """One line: id, given and predicted label, loss, confidence, mislabel score."""
    verdict = "correct" if row.get("label") == row.get("pred") else "WRONG"
    return (f"sample {row['sample_id']} · given: {row['label']} · predicted: {row['pred']} ({verdict}) · "
            f"loss {row['loss']:.3f} · confidence {row['confidence']:.3f} · "
            f"mislabel score {row.get('mislabel_score', 0):.3f}")


def row_probs(row: dict, labels: Sequence[str]) -> dict[str, float]:
    """``{label: probability}`` from a table row."""
    return {name: float(row[f"prob_{name}"]) for name in labels}


def sample_ref(split: str, sample_id: int) -> list:
    """The reference a panel keeps for the sample it shows: ``[split, sample_id]`` (a sample id alone
    names another text in another split)."""
    return [str(split), int(sample_id)]


def ref_in(ref: object, split: str) -> int | None:
    """The sample id of ``ref`` when it is a sample of ``split``, else ``None``."""
    if isinstance(ref, list | tuple) and len(ref) == 2 and ref[0] == split:
        try:
            return int(ref[1])
        except (TypeError, ValueError):
            return None
    return None


@dataclass
class SamplePanel:
    """The components of one sample panel (build with :func:`build_sample_panel`)."""

    ref: object  # gr.State: [split, sample_id] of the sample shown (:func:`sample_ref`), or None
    sample_id: object
    text: object
    facts: object
    why: object
    probs: object
    shap: object
    faithfulness: object

    @property
    def outputs(self) -> list:
        """Components in the order :func:`show_sample` returns values."""
        return [self.ref, self.sample_id, self.text, self.facts, self.why, self.probs, self.shap, self.faithfulness]


def build_sample_panel(*, title: str = "Sample (select a row)", prefix: str | None = None) -> SamplePanel:
    """Lay out the panel's components in the current Blocks context; with ``prefix`` the text box is
    ``#<prefix>-sample-text``."""
    import gradio as gr

    with gr.Group():
        gr.Markdown(f"**{title}**")
        ref = gr.State(None)
        sample_id = gr.Number(value=None, label="sample id", precision=0, interactive=False, visible="hidden")
        text = gr.Textbox(label="text", interactive=False, lines=2,
                          elem_id=f"{prefix}-sample-text" if prefix else None)
        facts = gr.Textbox(label="labels", interactive=False, lines=1,
                           elem_id=f"{prefix}-sample-facts" if prefix else None)
        why = gr.Textbox(label="why this row is suspect (its own signals; weights from the ranking that ranks it)",
                         interactive=False, lines=3, elem_id=f"{prefix}-sample-why" if prefix else None)
        with gr.Row(equal_height=True):
            probs = gr.Label(label="probabilities", num_top_classes=10)
            shap_view = gr.HighlightedText(label="SHAP per word toward the predicted class (warm: toward, cool: away)",
                                           show_legend=False, combine_adjacent=False)
        faithfulness = gr.Textbox(label="faithfulness of the explanation", interactive=False, lines=1)
    return SamplePanel(ref, sample_id, text, facts, why, probs, shap_view, faithfulness)


def show_sample(service, sample_id: int | None, *, explain: bool = True, split: str | None = None) -> tuple:
    """Values for :attr:`SamplePanel.outputs` for a row of ``split``; empty values when ``sample_id`` is None."""
    if sample_id is None:
        return None, None, "", "", "", None, None, ""
    split = service.analyses.info(split).split
    row = service.analyses.sample(int(sample_id), split)
    shap_value, faith = None, ""
    if explain:
        exp = service.live.explain(row["text"], target=row["pred"], faithful=True)
        shap_value, faith = word_highlight(exp), faithfulness_text(exp)
    return (sample_ref(split, sample_id), int(sample_id), row["text"], sample_facts(row),
            why_text(service, int(sample_id), split), row_probs(row, service.labels), shap_value, faith)


def why_text(service, sample_id: int, split: str) -> str:
    """The row's evidence in words (:meth:`core.services.ranking.RankingService.evidence`), plain text; empty
    for a split the signals do not rank."""
    ranking = getattr(service, "ranking", None)
    if ranking is None or not ranking.applies(split):
        return ""
    ev = ranking.evidence(sample_id, split)
    lines = []
    for r in ev["reasons"]:
        if r["signal"] == "suggest":
            continue
        weight = "" if r["weight"] is None else f"; {r['weight']:+.2f} in the score"
        lines.append(f"• {r['says']} (top {100 - r['percentile']}% of the split{weight})")
    if not lines:
        lines.append("• no signal places this row in its top 20% of the split")
    if ev["suggested"]:
        right = ev.get("suggestion_right")
        track = f"; such suggestions were right on {right}" if right else ""
        lines.append(f"suggested class: {ev['suggested']} ({ev['suggest_line']}{track})")
    return "\n".join([f"ranked by the {ev['ranker']}", *lines])
