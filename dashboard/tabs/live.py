"""The live view (first tab): type a tweet; the probabilities follow every keystroke, the word-level
explanation and the what-if probes follow as soon as they are ready.

Each change of the text box runs, in order:

* the prediction (``gr.Label`` bars, a plotly bar chart and notes from one classification), up to 16
  at a time, batched with other users by the service's micro-batcher; it records the text as the
  newest one of this browser session;
* then the explanation, chained after the prediction: it waits :data:`DEBOUNCE_S` and runs only if
  the text is still the newest, then shows the words (and afterwards the probes) only if it still is:
  a slow explanation of old text never overwrites a newer one.

Both use ``trigger_mode="always_last"``. Because the explanation follows the classification of the
same change, the text an explanation is skipped for has always been overtaken by a newer text whose
classification has started, and that classification is followed by its own explanation: the
explanation of the text finally in the box always arrives, however late its classification (in the
server's queue or in the model). A change of the target class or of the pieces toggle explains
directly (the text has not changed).

The public API keeps ``classify`` (text -> label) and ``explain`` (text, class -> words, top-word
bars, status) and adds ``probe`` (text -> what-if table); they are served by hidden buttons so an
API caller is never treated as a stale typist.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

import gradio as gr
import pandas as pd

from core.services.live import InputError
from dashboard.assets import example_tweets
from dashboard.figures import probability_bars, token_attribution_bars
from dashboard.sample_panel import faithfulness_text, word_highlight

PREDICTED = "predicted class"
LOG = logging.getLogger(__name__)
DEBOUNCE_S = 0.3
PROBE_COLUMNS = ["edit", "edited text", "prediction after the edit", "p(predicted) after (%)",
                 "change of p(predicted) (points)", "prediction changed"]


class LatestText:
    """The newest value (a typed text, a line shown) of each browser session (bounded; oldest sessions
    forgotten first)."""

    def __init__(self, size: int = 4096) -> None:
        self._texts: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def set(self, session: str, text: Any) -> None:
        with self._lock:
            self._texts[session] = text
            self._texts.move_to_end(session)
            while len(self._texts) > self.size:
                self._texts.popitem(last=False)

    def get(self, session: str) -> Any:
        """The session's newest value (``None`` when unknown)."""
        with self._lock:
            return self._texts.get(session)

    def is_stale(self, session: str, text: Any) -> bool:
        """True when a newer value than ``text`` was set in ``session``."""
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


def probe_columns(predicted: str) -> list[str]:
    """The what-if table's headers: the probability columns name the class predicted before the edit."""
    return ["edit", "edited text", "prediction after the edit", f"p({predicted}) after (%)",
            f"change of p({predicted}) (points)", "prediction changed"]


def probe_frame(result) -> pd.DataFrame:
    """The probe table as shown: one row per edit, flips first; probabilities in percent of the class
    predicted before the edit (named in the header); merged or left-out edits say why in their row."""
    rows = result.rows.sort_values(["flipped", "change"], ascending=[False, True]).reset_index(drop=True)
    out = pd.DataFrame({"edit": rows["edit"], "edited text": rows["text"],
                        "prediction after the edit": rows["prediction"],
                        "p": (100 * rows["p_predicted"].astype(float)).round(1),
                        "d": (100 * rows["change"].astype(float)).round(1),
                        "prediction changed": rows["flipped"].map({True: "yes", False: "no"})})
    out.columns = probe_columns(result.predicted)
    notes = pd.DataFrame([{out.columns[0]: "(left out)", out.columns[1]: note} for note in result.notes],
                         columns=out.columns).fillna("")
    return pd.concat([out, notes], ignore_index=True) if len(notes) else out


def notes_box(text: str) -> gr.Textbox:
    """The notes box: shown with ``text`` (an input problem, a truncation), hidden when there is nothing to say."""
    return gr.Textbox(value=text, visible=bool(text))


def failure_note(what: str, exc: Exception) -> str:
    """One plain line for a view whose ``what`` failed unexpectedly (the traceback goes to the server log)."""
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"The {what} failed: {type(exc).__name__}{': ' + detail if detail else ''}. The server log has the details."


def _target(choice: str | None) -> str | None:
    return None if choice in (PREDICTED, None, "") else choice


class LiveHandlers:
    """The live view's callbacks; ``latest`` remembers each session's newest text so stale work is skipped.

    Gradio names every event's endpoint after its function, private ones too, so the private live
    handlers must not be called ``classify``, ``explain`` or ``probe``: those names belong to the API.
    """

    def __init__(self, service) -> None:
        self.live = service.live
        self.latest = LatestText()
        self.lines = LatestText()  # per session: ((text, target), faithfulness line) last shown

    def live_classify(self, text: str, request: gr.Request):
        self.latest.set(_session(request), text)
        if not text or not text.strip():
            return None, None, notes_box("")
        try:
            res = self.live.classify_one(text)
            bars = probability_bars(res.probs)
        except InputError as exc:
            return None, None, notes_box(str(exc))
        except Exception as exc:  # noqa: BLE001 - any other failure: said in the view, traced in the log
            LOG.exception("the live prediction failed")
            return None, None, notes_box(failure_note("prediction", exc))
        return res.probs, bars, notes_box("; ".join(res.notes))

    def live_explain(self, text: str, target: str, pieces: bool, request: gr.Request):
        session = _session(request)
        if not text or not text.strip():
            return None, None, "", "", None
        time.sleep(DEBOUNCE_S)
        if self.latest.is_stale(session, text):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            exp = self.live.explain(text, target=_target(target))  # the line follows
        except InputError as exc:
            return None, None, str(exc), "", None
        if self.latest.is_stale(session, text):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        *shown, _ = explanation_outputs(exp, pieces=pieces)
        line = self.lines.get(session)  # the same text and class again (pieces toggle, a repeated event):
        return (*shown, line[1] if line and line[0] == (text, target) else "", text)  # keep its line, no flicker

    def live_faithfulness(self, explained: str | None, target: str, request: gr.Request):
        """The faithfulness line of the explanation just shown (its attribution is cached: one more pass)."""
        if not explained:
            return ""
        if self.latest.is_stale(_session(request), explained):
            return gr.skip()
        try:
            line = faithfulness_text(self.live.explain(explained, target=_target(target), faithful=True))
            self.lines.set(_session(request), ((explained, target), line))
            return line
        except InputError:
            return ""
        except Exception as exc:  # noqa: BLE001 - the explanation stays; the line says why it is missing
            LOG.exception("the faithfulness line failed")
            return failure_note("faithfulness line", exc)

    def live_probe(self, explained: str | None, request: gr.Request):
        if not explained:  # nothing explained (empty or unusable text): clear the table
            return None
        if self.latest.is_stale(_session(request), explained):
            return gr.skip()
        try:
            return probe_frame(self.live.probe(explained))
        except InputError:
            return None

    def classify_api(self, text: str) -> dict[str, float]:
        try:
            return self.live.classify_one(text).probs
        except InputError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def explain_api(self, text: str, target: str, faithful: bool = False) -> tuple:
        """The explanation's outputs; its faithfulness line (one more pass) only when ``faithful``, else ""."""
        try:
            return explanation_outputs(self.live.explain(text, target=_target(target), faithful=bool(faithful)))
        except InputError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def probe_api(self, text: str) -> pd.DataFrame:
        try:
            return probe_frame(self.live.probe(text))
        except InputError as exc:
            raise gr.Error(str(exc), print_exception=False) from None


def _layout(labels: list[str]) -> dict:
    """The live view's components by name."""
    c = {}
    with gr.Row():
        with gr.Column(scale=3):
            c["text"] = gr.Textbox(label="tweet: the prediction follows as you type, the explanation when it is ready",
                                   placeholder="type a tweet", lines=1, max_lines=8, max_length=100_000,
                                   elem_id="classify-text")
            with gr.Row():
                c["target"] = gr.Dropdown([PREDICTED, *labels], value=PREDICTED, label="explain toward",
                                          elem_id="explain-target")
                c["pieces"] = gr.Checkbox(False, label="show word pieces", elem_id="explain-pieces")
            gr.Examples(example_tweets(), inputs=c["text"], label="examples")
            # shown only when there is something to say (an input problem, a truncation)
            c["notes"] = gr.Textbox(label="notes", interactive=False, lines=1, visible=False, elem_id="classify-notes")
        with gr.Column(scale=2):
            c["label"] = gr.Label(label="prediction", num_top_classes=len(labels), elem_id="classify-label")
    c["status"] = gr.Textbox(label="explanation", interactive=False, elem_id="explain-status")
    c["faithfulness"] = gr.Textbox(label="faithfulness: how much the class's probability rests on the top words",
                                   interactive=False, lines=1, elem_id="explain-faithfulness")
    c["highlighted"] = gr.HighlightedText(label="words (warm: toward the class, cool: away)", show_legend=False,
                                          combine_adjacent=False, elem_id="explain-tokens")
    with gr.Row():
        c["bars"] = gr.Plot(label="probability of every class (%)", elem_id="classify-bars")
        c["top"] = gr.Plot(label="top words", elem_id="explain-bars")
    gr.Markdown("**What if?** Edited versions of the tweet, classified together in one batch: the prediction, "
                "the change in the predicted class's probability, and whether the label flipped.")
    c["probe_table"] = gr.Dataframe(headers=PROBE_COLUMNS, interactive=False, wrap=True, elem_id="probe-table")
    c["explained"] = gr.State(None)
    with gr.Row(visible=False):
        for name in ("classify", "explain", "probe"):
            c[f"api_{name}"] = gr.Button(name, elem_id=f"api-{name}")
        c["api_faithful"] = gr.Checkbox(False, label="faithful", elem_id="api-faithful")  # /explain's third value
    return c


def build_live_tab(service) -> gr.Textbox:
    """Text box, prediction bars, word explanation toward any class, top words and what-if probes; returns
    the text box (the similar-tweets panel reads it).

    The explanation of a typed text runs after its own classification (``.then``), so the text finally in
    the box is always explained, even when its classification is late; a change of target or of the
    pieces toggle explains directly. The explanation is shown before its faithfulness line, which the next
    step adds (one more batched pass), then the what-if table."""
    h, c = LiveHandlers(service), _layout(service.labels)
    text, shown = c["text"], [c["highlighted"], c["top"], c["status"], c["faithfulness"]]
    explain_args = dict(inputs=[text, c["target"], c["pieces"]], outputs=[*shown, c["explained"]],
                        trigger_mode="always_last", show_progress="minimal", concurrency_limit=2,
                        concurrency_id="explain", api_visibility="private")
    classified = text.change(h.live_classify, text, [c["label"], c["bars"], c["notes"]], trigger_mode="always_last",
                             show_progress="hidden", concurrency_limit=16, concurrency_id="classify",
                             api_visibility="private")
    for explained in (classified.then(h.live_explain, **explain_args),
                      c["target"].change(h.live_explain, **explain_args),
                      c["pieces"].change(h.live_explain, **explain_args)):
        explained.then(h.live_faithfulness, [c["explained"], c["target"]], c["faithfulness"], show_progress="hidden",
                       concurrency_id="explain", api_visibility="private").then(
            h.live_probe, c["explained"], c["probe_table"], show_progress="hidden", concurrency_id="explain",
            api_visibility="private")
    c["api_classify"].click(h.classify_api, text, c["label"], api_name="classify", concurrency_limit=16,
                            concurrency_id="classify")
    c["api_explain"].click(h.explain_api, [text, c["target"], c["api_faithful"]], shown, api_name="explain",
                           concurrency_limit=2, concurrency_id="explain")
    c["api_probe"].click(h.probe_api, text, c["probe_table"], api_name="probe", concurrency_id="explain")
    return text
