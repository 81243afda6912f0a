"""The live view's final explanation always arrives, even when classification is late.

The live tab of a real service (tiny random model, 30 rows) runs in one emulated page
(:mod:`tests.dashboard.frontend_session`: the real handlers, scheduled as Gradio's frontend schedules
them). A first text is typed and settles; then classification requests wait :data:`LATE_S` seconds
in the server's queue (a full ``classify`` group on a busy server) while the tweet is typed on. Once
everything settles the explanation shown must be that of the text in the box.
"""

from __future__ import annotations

import gradio as gr
import pytest

from tests.conftest import tiny_service
from tests.dashboard.frontend_session import FrontendSession

LATE_S = 1.5
FIRST, MORE = "i am", " so glad you came"


@pytest.fixture(scope="module")
def live_demo(tiny_model_dir, tmp_path_factory):
    from dashboard.tabs.live import build_live_tab

    service = tiny_service(tiny_model_dir, tmp_path_factory, "late-live", 30)
    service.explain("warm up the explainer")
    with gr.Blocks() as demo:
        build_live_tab(service)
    return demo


def component(demo: gr.Blocks, elem_id: str):
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)


def explained_text(page: FrontendSession, demo: gr.Blocks) -> str | None:
    value = page.value(component(demo, "explain-tokens"))
    return None if value is None else "".join(segment for segment, _ in value)


def test_final_explanation_arrives_when_classify_waits_in_the_queue(live_demo):
    text = component(live_demo, "classify-text")
    page = FrontendSession(live_demo)
    page.type(text, FIRST)
    assert page.settle()
    assert explained_text(page, live_demo) == FIRST  # the scene: one text classified and explained
    page.queue_delay["classify"] = LATE_S
    page.type(text, MORE, delay=0.02)
    assert page.settle()
    assert page.errors == []
    assert page.value(text) == FIRST + MORE
    assert explained_text(page, live_demo) == FIRST + MORE
    status = page.value(component(live_demo, "explain-status"))
    assert "words)" in status


def test_explanation_follows_a_target_change_after_late_typing(live_demo):
    text, target = component(live_demo, "classify-text"), component(live_demo, "explain-target")
    page = FrontendSession(live_demo, session_hash="target-change", queue_delay={"classify": LATE_S})
    page.type(text, FIRST + MORE, delay=0.02)
    page.set(target, "fear")
    assert page.settle()
    assert explained_text(page, live_demo) == FIRST + MORE
    assert page.value(component(live_demo, "explain-status")).startswith("fear (predicted: ")
