"""The blind audit in a real browser: the model's view is empty until the judgement, then shown."""

from __future__ import annotations

import pytest

from tests.browser.conftest import TIMEOUT_MS
from tests.browser.test_browser import open_tab, shot, textbox, wait_value

pytestmark = pytest.mark.browser


def test_audit_shows_text_and_label_then_reveals_after_the_judgement(page, watch, screenshot_dir):
    open_tab(page, "Review")
    page.locator("#audit-mode").get_by_text("Blind audit").first.click()
    text = wait_value(page, "audit-text", "v.length > 0")
    given = textbox(page, "audit-given").input_value()
    reveal = page.locator("#audit-reveal")
    assert given and text
    assert "pred" not in reveal.inner_text()  # blind: nothing of the model before the judgement
    page.locator("#audit-right").click()
    page.wait_for_function("() => document.querySelector('#audit-reveal').innerText.includes('pred')",
                           timeout=TIMEOUT_MS)
    assert "right" in reveal.inner_text()
    wait_value(page, "audit-text", f"v.length > 0 && v !== {text!r}")
    shot(page, screenshot_dir, "audit")
    assert watch.page_errors == []
