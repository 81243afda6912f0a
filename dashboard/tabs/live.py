"""The live view (first tab): type a tweet; the probabilities follow every keystroke, the word-level
explanation and the what-if probes follow as soon as they are ready.

Two listeners watch the text box:

* the prediction (``gr.Label`` bars, a plotly bar chart and notes from one classification) runs on
  every change, up to 16 at a time, batched with other users by the service's micro-batcher;
* the explanation waits :data:`DEBOUNCE_S` and runs only if the text is still the newest one typed
  in this session, then shows the words (and afterwards the probes) only if the text is still the
  newest: a slow explanation of old text never overwrites a newer one. Both use
  ``trigger_mode="always_last"``, so while one run is busy only the last keystroke waits.

The public API keeps ``classify`` (text -> label) and ``explain`` (text, class -> words, top-word
bars, status) and adds ``probe`` (text -> what-if table); they are served by hidden buttons so an
API caller is never treated as a stale typist.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import gradio as gr
import pandas as pd

from core.services.live import InputError
from dashboard.assets import example_tweets
from dashboard.figures import probability_bars, token_attribution_bars
from dashboard.sample_panel import faithfulness_text, word_highlight

PREDICTED = "predicted class"
DEBOUNCE_S = 0.3
PROBE_COLUMNS = ["edit", "text", "prediction", "p_predicted", "change", "flipped"]


class LatestText:
    """The newest text typed in each browser session (bounded; oldest sessions forgotten first)."""

    def __init__(self, size: int = 4096) -> None:
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def set(self, session: str, text: str) -> None:
        with self._lock:
            self._texts[session] = text
            self._texts.move_to_end(session)
            while len(self._texts) > self.size:
                self._texts.popitem(last=False)

    def is_stale(self, session: str, text: str) -> bool:
        """True when a newer text than ``text`` was typed in ``session``."""
        with self._lock:
            return session in self._texts and self._texts[session] != text


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or ""


def explanation_status(exp) -> str:
    """One line: explained class, prediction, sizes, time and notes."""
    line = (f"{exp.target} (predicted: {exp.predicted}, p={exp.probs[exp.predicted]:.3f}); "
            f"{len(exp.tokens)} tokens in {exp.seconds:.2f} s ({len(exp.explained_words())} words)")
    return line + ("; " + "; ".join(exp.notes) if exp.notes else "")


def explanation_outputs(exp, *, pieces: bool = False) -> tuple:
    """(highlighted text, top words or pieces as bars, status, faithfulness line) for one explanation."""
    top = exp.top_tokens(10) if pieces else exp.top_words(10)
    return (word_highlight(exp, pieces=pieces), token_attribution_bars(top, label=exp.target), explanation_status(exp),
            faithfulness_text(exp))


def probe_frame(result) -> pd.DataFrame:
    """The probe table as shown: one row per edit, flips first."""
    rows = result.rows[PROBE_COLUMNS].copy()
    return rows.sort_values(["flipped", "change"], ascending=[False, True], key=None).reset_index(drop=True)


def notes_box(text: str) -> gr.Textbox:
    """The notes box: shown with ``text`` (an input problem, a truncation), hidden when there is nothing to say."""
    return gr.Textbox(value=text, visible=bool(text))


def build_live_tab(service) -> None:
    """Text box, prediction bars, word explanation toward any class, top words and what-if probes."""
    latest = LatestText()

    def target_of(choice: str) -> str | None:
        return None if choice in (PREDICTED, None, "") else choice

    def live_classify(text: str, request: gr.Request):
        latest.set(_session(request), text)
        if not text or not text.strip():
            return None, None, notes_box("")
        try:
            res = service.live.classify_one(text)
        except InputError as exc:
            return None, None, notes_box(str(exc))
        return res.probs, probability_bars(res.probs), notes_box("; ".join(res.notes))

    def live_explain(text: str, target: str, pieces: bool, request: gr.Request):
        session = _session(request)
        if not text or not text.strip():
            return None, None, "", "", None
        time.sleep(DEBOUNCE_S)
        if latest.is_stale(session, text):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            exp = service.live.explain(text, target=target_of(target))
        except InputError as exc:
            return None, None, str(exc), "", None
        if latest.is_stale(session, text):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return (*explanation_outputs(exp, pieces=pieces), text)

    def live_probe(explained: str | None, request: gr.Request):
        if not explained:  # nothing explained (empty or unusable text): clear the table
            return None
        if latest.is_stale(_session(request), explained):
            return gr.skip()
        try:
            return probe_frame(service.live.probe(explained))
        except InputError:
            return None

    def classify_api(text: str) -> dict[str, float]:
        try:
            return service.live.classify_one(text).probs
        except InputError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def explain_api(text: str, target: str) -> tuple:
        try:
            return explanation_outputs(service.live.explain(text, target=target_of(target)))
        except InputError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def probe_api(text: str) -> pd.DataFrame:
        try:
            return probe_frame(service.live.probe(text))
        except InputError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    with gr.Row():
        with gr.Column(scale=3):
            text = gr.Textbox(label="tweet: the prediction follows as you type, the explanation when it is ready",
                              placeholder="type a tweet", lines=1, max_lines=8, max_length=100_000,
                              elem_id="classify-text")
            with gr.Row():
                target = gr.Dropdown([PREDICTED, *service.labels], value=PREDICTED, label="explain toward",
                                     elem_id="explain-target")
                pieces = gr.Checkbox(False, label="show word pieces", elem_id="explain-pieces")
            gr.Examples(example_tweets(), inputs=text, label="examples")
            notes = gr.Textbox(label="notes", interactive=False, lines=1, visible=False, elem_id="classify-notes")
        with gr.Column(scale=2):
            label = gr.Label(label="prediction", num_top_classes=len(service.labels), elem_id="classify-label")
    status = gr.Textbox(label="explanation", interactive=False, elem_id="explain-status")
    faithfulness = gr.Textbox(label="faithfulness: how much the class's probability rests on the top words",
                              interactive=False, lines=1, elem_id="explain-faithfulness")
    highlighted = gr.HighlightedText(label="words (warm: toward the class, cool: away)", show_legend=False,
                                     combine_adjacent=False, elem_id="explain-tokens")
    with gr.Row():
        bars = gr.Plot(label="probability of every class (%)", elem_id="classify-bars")
        top = gr.Plot(label="top words", elem_id="explain-bars")
    gr.Markdown("**What if?** Edited versions of the tweet, classified together in one batch: the prediction, "
                "the change in the predicted class's probability, and whether the label flipped.")
    probe_table = gr.Dataframe(headers=PROBE_COLUMNS, interactive=False, wrap=True, elem_id="probe-table")
    explained = gr.State(None)
    with gr.Row(visible=False):
        api_classify = gr.Button("classify", elem_id="api-classify")
        api_explain = gr.Button("explain", elem_id="api-explain")
        api_probe = gr.Button("probe", elem_id="api-probe")

    text.change(live_classify, text, [label, bars, notes], trigger_mode="always_last", show_progress="hidden",
                concurrency_limit=16, concurrency_id="classify", api_visibility="private")
    for trigger in (text.change, target.change, pieces.change):
        trigger(live_explain, [text, target, pieces], [highlighted, top, status, faithfulness, explained],
                trigger_mode="always_last", show_progress="minimal", concurrency_limit=2, concurrency_id="explain",
                api_visibility="private").then(
            live_probe, explained, probe_table, show_progress="hidden", concurrency_id="explain",
            api_visibility="private")
    api_classify.click(classify_api, text, label, api_name="classify", concurrency_limit=16,
                       concurrency_id="classify")
    api_explain.click(explain_api, [text, target], [highlighted, top, status, faithfulness], api_name="explain",
                      concurrency_limit=2, concurrency_id="explain")
    api_probe.click(probe_api, text, probe_table, api_name="probe", concurrency_id="explain")
