"""Classify and Explain tabs: type a tweet, see the probabilities and the SHAP token attributions."""

from __future__ import annotations

import gradio as gr

from core.text_input import InputError
from dashboard.figures import probability_bars, token_attribution_bars
from dashboard.sample_panel import highlight_value

EXAMPLES = [
    "I saw a movie today and it was really good",
    "my hands are shaking and my heart is pounding, I have to speak in front of the whole crowd in ten minutes",
    "I worked on this project for weeks and my boss just tossed it aside and said it was useless",
    "I absolutely adore my new phone, it is perfect in every way",
]
PREDICTED = "predicted class"


def _notes(notes: list[str]) -> str:
    return "; ".join(notes) if notes else "ok"


def build_classify_tab(service) -> None:
    """Text box with examples; predicted label and sorted probability bars; API ``classify``."""

    def classify(text: str) -> dict[str, float]:
        try:
            return service.classify_one(text).probs
        except InputError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def details(text: str) -> tuple:
        try:
            result = service.classify_one(text)
        except InputError as exc:
            return None, str(exc)
        return probability_bars(result.probs), _notes(result.notes)

    with gr.Row():
        with gr.Column(scale=3):
            text = gr.Textbox(label="tweet", placeholder="type a tweet and press Enter", lines=1, max_lines=8,
                              max_length=100_000, elem_id="classify-text")
            button = gr.Button("Classify", variant="primary", elem_id="classify-button")
            gr.Examples(EXAMPLES, inputs=text, label="examples")
            notes = gr.Textbox(label="notes", interactive=False, lines=1, elem_id="classify-notes")
        with gr.Column(scale=2):
            label = gr.Label(label="prediction", num_top_classes=len(service.labels), elem_id="classify-label")
    bars = gr.Plot(label="probability of every class (%)", elem_id="classify-bars")
    for trigger in (text.submit, button.click):
        trigger(classify, text, label, api_name="classify" if trigger == button.click else False,
                concurrency_limit=16, concurrency_id="classify").then(
            details, text, [bars, notes], api_visibility="private", concurrency_id="classify")


def build_explain_tab(service) -> None:
    """SHAP attributions of a typed text for the predicted or any chosen class; API ``explain``."""

    def explain(text: str, target: str) -> tuple:
        try:
            exp = service.explain(text, target=None if target == PREDICTED else target)
        except InputError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        status = (f"{exp.target} (predicted: {exp.predicted}, p={exp.probs[exp.predicted]:.3f}); "
                  f"{len(exp.tokens)} tokens in {exp.seconds:.2f} s")
        if exp.notes:
            status += "; " + _notes(exp.notes)
        pairs = list(zip(exp.tokens, exp.values.tolist(), strict=True))
        return highlight_value(exp.tokens, exp.values), token_attribution_bars(pairs, label=exp.target), status

    with gr.Row():
        text = gr.Textbox(label="tweet", lines=2, scale=3, max_length=100_000, elem_id="explain-text",
                          value="I saw a movie today and it was really good")
        target = gr.Dropdown([PREDICTED, *service.labels], value=PREDICTED, label="explain toward", scale=1)
    button = gr.Button("Explain", variant="primary", elem_id="explain-button")
    gr.Examples(EXAMPLES, inputs=text, label="examples")
    status = gr.Textbox(label="explained class", interactive=False, elem_id="explain-status")
    highlighted = gr.HighlightedText(label="tokens (warm: toward the class, cool: away)", show_legend=False,
                                     combine_adjacent=False, elem_id="explain-tokens")
    bars = gr.Plot(label="top tokens", elem_id="explain-bars")
    for trigger in (button.click, text.submit):
        trigger(explain, [text, target], [highlighted, bars, status],
                api_name="explain" if trigger == button.click else False,
                concurrency_limit=2, concurrency_id="explain")
