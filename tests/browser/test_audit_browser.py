"""The blind audit page in a real browser: while a row is open, nothing of the model is on the page or
in any payload the server sent to it; the reveal card follows the judgement."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import TIMEOUT_MS, VIEWPORT
from tests.browser.test_browser import shot, textbox, wait_value

pytestmark = pytest.mark.browser

#: What a payload of the audit page may never hold before a judgement: the model's columns and views.
MODEL_MARKERS = ("prob_", '"pred"', "mislabel_score", "confidence", "label_quality", "suggested_label",
                 "the model predicts", "top_share")


#: Keeps a copy of every fetched body, streams included, as it arrives (Gradio's queue answers in a stream).
RECORD_BODIES = """
window.__bodies = [];
const original = window.fetch;
window.fetch = async (...args) => {
  const response = await original(...args);
  try {
    const index = window.__bodies.push("") - 1, reader = response.clone().body.getReader(), decoder = new TextDecoder();
    (async () => { for (;;) { const {done, value} = await reader.read(); if (done) break;
                              window.__bodies[index] += decoder.decode(value, {stream: true}); } })().catch(() => {});
  } catch (e) {}
  return response;
};
"""


def test_the_audit_page_sends_nothing_of_the_model_until_the_judgement(browser, app_url, watch, screenshot_dir):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    page.add_init_script(RECORD_BODIES)
    try:
        page.goto(app_url.rstrip("/") + "/audit", wait_until="domcontentloaded")
        text = wait_value(page, "audit-text", "v.length > 0")
        assert textbox(page, "audit-given").input_value()
        bodies = [page.content(), *page.evaluate("() => window.__bodies")]
        assert any(json.dumps(text)[1:-1] in body for body in bodies[1:])  # the payloads were read: the row is there
        for marker in MODEL_MARKERS:
            assert not any(marker in body for body in bodies), marker
            assert marker not in page.inner_text("body"), marker
        assert page.locator("#classify-text").count() == 0  # no other view on this page
        page.locator("#audit-right").click()
        page.wait_for_function("() => document.querySelector('#audit-reveal').innerText.includes('the model predicts')",
                               timeout=TIMEOUT_MS)
        assert "Your judgement: right" in page.locator("#audit-reveal").inner_text()
        after = page.evaluate("() => window.__bodies")  # the recorder sees model data once it is sent
        assert any("the model predicts" in body for body in after)
        wait_value(page, "audit-text", f"v.length > 0 && v !== {text!r}")
        shot(page, screenshot_dir, "audit")
        assert watch.page_errors == []
    finally:
        context.close()
