"""The analyst's views without a server: figure builders, word rendering, stale-text guard, the blocks built
on a tiny real service (API names, calibration block, robustness cell examples)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.analysis.calibration import reliability
from dashboard.figures import reliability_figure, robustness_figure
from dashboard.sample_panel import word_highlight
from dashboard.tabs.live import LatestText, explanation_outputs, probe_frame
from tests.conftest import LABELS, write_split_lines


@pytest.fixture(scope="module")
def service(tiny_model_dir, tmp_path_factory):
    from core.services.emotion import EmotionService
    from core.settings import Settings

    folder = write_split_lines(tmp_path_factory.mktemp("views-data"), "validation", 40)
    settings = Settings(model=str(tiny_model_dir), data=str(folder), cache_dir=tmp_path_factory.mktemp("v-cache"))
    return EmotionService.load(settings, show_progress=False)


def test_reliability_figure_has_the_diagonal_and_one_line_per_series():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.2, 1, 300)
    table = reliability(conf, rng.uniform(size=300) < conf, bins=10)
    fig = reliability_figure({"as predicted": table, "T=1.2 <b>": table})
    assert [t.name for t in fig.data] == ["calibrated", "as predicted", "T=1.2 &lt;b&gt;"]
    assert len(fig.data[1].x) == int((table["n"] > 0).sum())
    assert fig.layout.xaxis.title.text == "mean confidence in the bin"
    assert reliability_figure({}).layout.annotations[0].text == "nothing to show"


def test_robustness_figure_groups_classes_and_marks_all_rows():
    table = pd.DataFrame({"edit": ["two typos", "<i>x</i>"], "applies to": [10, 5], "all": [20.0, 5.0],
                          **{x: [float(i), 1.0] for i, x in enumerate(LABELS)}})
    fig = robustness_figure(table, LABELS)
    assert [t.name for t in fig.data] == [*LABELS, "all rows"]
    assert list(fig.data[-1].y) == [20.0, 5.0] and list(fig.data[0].x) == ["two typos", "&lt;i&gt;x&lt;/i&gt;"]
    assert "change" in fig.layout.yaxis.title.text
    with pytest.raises(ValueError):
        robustness_figure(table, LABELS, value="median")


def test_latest_text_marks_older_texts_stale():
    latest = LatestText(size=2)
    assert not latest.is_stale("a", "hello")  # unknown session: never stale
    latest.set("a", "hel")
    latest.set("a", "hello")
    assert latest.is_stale("a", "hel") and not latest.is_stale("a", "hello")
    latest.set("b", "x")
    latest.set("c", "y")  # "a" is forgotten (size 2)
    assert not latest.is_stale("a", "hel")


def test_word_rendering_of_a_real_explanation(service):
    text = "I feel extraordinarily happy <script>x</script> 😭"
    exp = service.explain(text, faithful=True)
    words = word_highlight(exp)
    assert "".join(s for s, _ in words) == text  # the typed text, as text
    scores = [v for _, v in words if v is not None]
    assert max(abs(v) for v in scores) == pytest.approx(1.0)
    k = exp.labels.index(exp.target)
    value = exp.word_values[[exp.word_text(i) for i in range(len(exp.words))].index("extraordinarily"), k]
    assert dict((s, v) for s, v in words if v is not None)["extraordinarily"] == pytest.approx(
        round(value / np.abs(exp.word_values[exp.explained_words(), k]).max(), 3))
    assert ("😭", None) in words
    pieces = word_highlight(exp, pieces=True)
    assert "".join(s for s, _ in pieces) == text
    assert len([v for _, v in pieces if v is not None]) == len(exp.tokens)
    highlighted, fig, status, faith = explanation_outputs(exp)
    assert faith == f"faithfulness: {exp.faithfulness.line()}" and f": {exp.target} " in faith
    assert status.startswith(f"{exp.target} (predicted: {exp.predicted}, p=")
    assert f"; {len(exp.tokens)} tokens in " in status and f"({len(exp.explained_words())} words)" in status
    assert len(fig.data[0].x) == min(10, len(exp.explained_words()))


def test_probe_frame_puts_flips_first(service):
    result = service.probe("i feel happy today")
    frame = probe_frame(result)
    cls = result.predicted
    assert list(frame.columns) == ["edit", "edited text", "prediction after the edit", f"p({cls}) after (%)",
                                   f"change of p({cls}) (points)", "prediction changed"]
    edits = frame[frame["edit"] != "(left out)"]
    flips = edits["prediction changed"].tolist()
    assert flips == sorted(flips, reverse=True) and set(flips) <= {"yes", "no"}
    # the tiny model's uncased tokenizer: no capitals row, one row for the emoji, and the table says so
    assert "upper case" not in set(edits["edit"])
    assert sum(e.startswith("emoji") for e in edits["edit"]) == 1
    notes = frame.loc[frame["edit"] == "(left out)", "edited text"].tolist()
    assert any("upper case" in n for n in notes) and any("same token" in n for n in notes)
    pct = edits[f"p({cls}) after (%)"].astype(float)
    assert pct.between(0, 100).all()
    assert np.allclose(pct, (100 * result.rows.set_index("edit").loc[edits["edit"], "p_predicted"]).round(1))


def test_app_exposes_classify_explain_and_probe(service):
    from dashboard.app import build_app

    demo = build_app(service)
    names = {d.api_name for d in demo.fns.values() if d.api_name and d.api_visibility == "public"}
    assert {"classify", "explain", "probe"} <= names


def test_queue_settings_survive_the_app_build(service):
    """``build_app`` sets the queue before its blocks (cheaper); the limits must still be in force."""
    from dashboard.app import QUEUE_MAX_SIZE, build_app

    demo = build_app(service)
    assert demo._queue.max_size == QUEUE_MAX_SIZE
    assert demo._queue.default_concurrency_limit == 2


def test_calibration_block_and_robustness_cell(service):
    import gradio as gr

    from dashboard.tabs.calibration import build_calibration_block, calibration_views
    from dashboard.tabs.robustness import cell_examples, report_views

    with gr.Blocks():
        fig, table, note = build_calibration_block(service)
    assert "fitted on this split" in note.value and "measured on the other" in note.value
    fig, table, note = calibration_views(service, None)
    assert table["class"].tolist() == ["all", *LABELS]
    cal = service.calibration()
    assert table["ECE %"].iloc[0] == pytest.approx(round(100 * cal.ece, 2))
    report = service.robustness()
    shown, figure, line = report_views(report, "changed")
    assert list(shown["edit"]) == report.edits and "applies to" in shown.columns
    col = list(shown.columns).index("all")
    title, rows = cell_examples(service, None, shown, 0, col)
    assert title.startswith(report.edits[0]) and len(rows) == min(50, int(shown["applies to"].iloc[0]))
    texts = service.table["text"]
    assert all(texts.iloc[s] == t for s, t in zip(rows["sample_id"], rows["text"], strict=True))


def test_empty_views_show_no_placeholders(service):
    """The live notes box is hidden until there is something to say (no "ok"); the Robustness table and
    chart are hidden until the report is shown (no empty table headed "1 2 3")."""
    from types import SimpleNamespace

    from dashboard.app import build_app
    from dashboard.tabs.live import LiveHandlers

    demo = build_app(service)
    by_id = {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    assert by_id["classify-notes"].visible is False
    assert by_id["robustness-table"].visible is False and by_id["robustness-bars"].visible is False
    handlers = LiveHandlers(service)
    request = SimpleNamespace(session_hash="s")
    *_, notes = handlers.live_classify("i feel happy today", request)
    assert notes.visible is False and notes.value == ""
    *_, notes = handlers.live_classify("i feel\x00 happy", request)
    assert notes.visible is True and notes.value == "1 control character removed"


def test_faithfulness_line_is_plain_text_in_every_view(service):
    """The live view's and every sample panel's faithfulness line sit in text boxes (never HTML or Markdown), and
    a sample panel fills its box with the explanation's own line."""
    import gradio as gr

    from dashboard.app import build_app
    from dashboard.sample_panel import show_sample

    demo = build_app(service)
    boxes = [b for b in demo.blocks.values() if "faithfulness" in str(getattr(b, "label", "") or "")]
    assert any(getattr(b, "elem_id", None) == "explain-faithfulness" for b in boxes)
    assert len(boxes) >= 2 and all(type(b) is gr.Textbox for b in boxes), [type(b).__name__ for b in boxes]
    sample_id = int(service.analyses.table().index[0])
    values = show_sample(service, sample_id)
    row = service.analyses.sample(sample_id, None)
    exp = service.live.explain(row["text"], target=row["pred"], faithful=True)
    assert values[-1] == f"faithfulness: {exp.faithfulness.line()}"
    assert show_sample(service, None)[-1] == ""


def test_live_explanation_shows_first_and_its_faithfulness_line_follows(service):
    """The live view renders the explanation without waiting for its faithfulness pass; the next step fills the
    line for the text just explained (its attribution a cache hit), and skips a text that is no longer the box's."""
    from types import SimpleNamespace

    import gradio as gr

    from dashboard.tabs.live import LiveHandlers

    handlers, request = LiveHandlers(service), SimpleNamespace(session_hash="s")
    text = "i am furious that my flight got cancelled again"
    handlers.live_classify(text, request)
    *_, status, line, explained = handlers.live_explain(text, "", False, request)
    assert explained == text and line == "" and "words)" in status
    line = handlers.live_faithfulness(explained, "", request)
    exp = service.live.explain(text, faithful=True)
    assert line == f"faithfulness: {exp.faithfulness.line()}"
    *_, again, _ = handlers.live_explain(text, "", True, request)  # same text and class (pieces toggle): no flicker
    assert again == line
    *_, other, _ = handlers.live_explain(text, "joy", False, request)  # another class: its line is not shown yet
    assert other == ""
    toward_joy = handlers.live_faithfulness(explained, "joy", request)
    assert toward_joy == f"faithfulness: {service.live.explain(text, target='joy', faithful=True).faithfulness.line()}"
    assert handlers.live_faithfulness(None, "", request) == ""
    handlers.live_classify("a newer text", request)
    assert isinstance(handlers.live_faithfulness(explained, "", request), type(gr.skip()))
