"""The blind audit page in a real browser: while a row is open, nothing of the model is on the page or
in any payload the server sent to it; the reveal card follows the judgement."""

from __future__ import annotations

import pytest

from tests.browser.conftest import TIMEOUT_MS, VIEWPORT
from tests.browser.test_browser import shot, textbox, wait_value

pytestmark = pytest.mark.browser

#: What a payload of the audit page may never hold before a judgement: the model's columns and views.
MODEL_MARKERS = ("prob_", '"pred"', "mislabel_score", "confidence", "label_quality", "suggested_label",
                 "the model predicts", "top_share")


def test_the_audit_page_sends_nothing_of_the_model_until_the_judgement(browser, app_url, watch, screenshot_dir):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    responses = []
    page.on("response", lambda response: responses.append(response))
    try:
        page.goto(app_url.rstrip("/") + "/audit", wait_until="domcontentloaded")
        text = wait_value(page, "audit-text", "v.length > 0")
        assert textbox(page, "audit-given").input_value()
        bodies = []
        for response in list(responses):
            if response.request.resource_type not in ("document", "fetch", "xhr", "eventsource"):
                continue  # the page's scripts and styles are Gradio's own code, not data
            try:
                bodies.append(response.text())
            except Exception:  # noqa: BLE001 - a stream still open has no body to read; its events are in the DOM
                continue
        assert any(text.split()[0] in body for body in bodies)  # the payloads were read: the row's text is there
        for marker in MODEL_MARKERS:
            assert not any(marker in body for body in bodies), marker
            assert marker not in page.inner_text("body"), marker
        assert page.locator("#classify-text").count() == 0  # no other view on this page
        page.locator("#audit-right").click()
        page.wait_for_function("() => document.querySelector('#audit-reveal').innerText.includes('the model predicts')",
                               timeout=TIMEOUT_MS)
        assert "Your judgement: right" in page.locator("#audit-reveal").inner_text()
        wait_value(page, "audit-text", f"v.length > 0 && v !== {text!r}")
        shot(page, screenshot_dir, "audit")
        assert watch.page_errors == []
    finally:
        context.close()
