"""The Review tab on a Space without a sync target, in a real browser: the warning, who may write, a refusal."""

from __future__ import annotations

import pytest

from core.review.store import ReviewStore
from tests.browser.conftest import SCREENSHOTS, TIMEOUT_MS, PageWatch, dashboard_page
from tests.browser.test_browser import open_tab, shot, wait_value
from tests.conftest import needs_emotion

pytestmark = needs_emotion


@pytest.fixture(scope="module")
def screenshot_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def test_review_tab_warns_and_refuses_an_anonymous_write(browser, space_url, screenshot_dir):
    watch = PageWatch()
    with dashboard_page(browser, space_url.url, watch) as page:
        open_tab(page, "Review")
        warning = page.locator("#review-ephemeral-warning")
        warning.wait_for(state="visible", timeout=TIMEOUT_MS)
        assert "Decisions will be lost when this Space restarts" in warning.inner_text()
        page.wait_for_function("() => (document.querySelector('#review-access')?.innerText || '').includes('Space')",
                               timeout=TIMEOUT_MS)
        assert "only works on a Space" in page.locator("#review-access").inner_text()
        assert page.locator("button", has_text="Sign in with Hugging Face").count() == 0  # never the mocked sign-in
        assert not page.locator("#review-reviewer").is_visible()  # no free-text name outside open access
        wait_value(page, "review-progress", "v.startsWith('reviewed')")
        page.locator("#review-keep").click()
        toast = page.locator(".toast-body", has_text="Sign in with Hugging Face")
        toast.first.wait_for(state="visible", timeout=TIMEOUT_MS)
        assert "nothing was recorded" in toast.first.inner_text()
        shot(page, screenshot_dir, "review-space-warning")
    assert ReviewStore(space_url.db).count() == 0
    assert "decisions will be lost" in space_url.output().lower()
    assert not watch.page_errors
