"""The live view and the robustness report in a real browser (headless Debian chromium through Playwright).

* Live view (emotion-minilm, the shared ``app_url``): a tweet typed once, key by key, shows the
  probability bars and then the word highlights of the whole tweet, without any other action.
* Robustness report (a tiny model on 60 rows, the session's ``space_url`` app, so the report builds in
  seconds): open the report, click a cell, see that cell's examples.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import TIMEOUT_MS, browser_missing, dashboard_page
from tests.conftest import LABELS

_missing = browser_missing()
if _missing:
    pytest.skip(f"browser tests need playwright and chromium: {_missing}", allow_module_level=True)

pytestmark = pytest.mark.browser

TWEET = "i feel extraordinarily happy today <b>lol</b> 😂"


def words_shown(page) -> list[str]:
    return page.locator("#explain-tokens [data-testid='highlighted-text:textfield'] .text").all_inner_texts()


def test_typing_once_shows_bars_then_word_highlights(page, watch, screenshot_dir):
    box = page.locator("#classify-text textarea").first
    box.press_sequentially(TWEET, delay=30)  # typed like a person; no Enter, no button
    page.wait_for_selector("#classify-label [data-testid='label-output-value']", timeout=TIMEOUT_MS)
    page.wait_for_selector("#classify-bars .js-plotly-plot svg.main-svg", timeout=TIMEOUT_MS)
    # the highlights arrive later, for the whole typed text (never a stale prefix once settled)
    page.wait_for_function(
        "(want) => Array.from(document.querySelectorAll('#explain-tokens .text')).map(e => e.textContent).join('')"
        " === want", arg=TWEET, timeout=TIMEOUT_MS)
    shown = words_shown(page)
    assert "".join(shown) == TWEET  # every character, as text (the <b> is not markup)
    assert "extraordinarily" in shown  # one word, not its pieces
    assert page.evaluate("() => document.querySelectorAll('#explain-tokens b').length") == 0
    status = page.locator("#explain-status textarea").input_value()
    assert status.split(" (predicted: ")[0] in LABELS and "words)" in status
    label = page.locator("#classify-label [data-testid='label-output-value']").inner_text().strip()
    assert f"predicted: {label}," in status  # bars and words describe the same, final text
    faith = page.wait_for_function(  # the line follows the highlights (one more batched pass)
        "() => { const v = document.querySelector('#explain-faithfulness textarea').value;"
        " return v.startsWith('faithfulness:') ? v : null; }", timeout=TIMEOUT_MS).json_value()
    assert faith.startswith("faithfulness: removing its top ") and f": {status.split(' (')[0]} " in faith
    assert page.evaluate("() => document.querySelectorAll('#explain-faithfulness b').length") == 0  # text, not HTML
    page.wait_for_selector("#probe-table [data-testid='cell-0-0']", timeout=TIMEOUT_MS)
    assert box.input_value() == TWEET
    assert watch.page_errors == [] and watch.dialogs == []
    page.screenshot(path=str(screenshot_dir / "live.png"), full_page=True)


def test_show_word_pieces_toggle(page):
    box = page.locator("#classify-text textarea").first
    box.fill("i feel extraordinarily happy")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#explain-tokens .text')).some(e => e.textContent === "
        "'extraordinarily')", timeout=TIMEOUT_MS)
    page.locator("#explain-pieces input").check()
    page.wait_for_function(
        "() => !Array.from(document.querySelectorAll('#explain-tokens .text')).some(e => e.textContent === "
        "'extraordinarily')", timeout=TIMEOUT_MS)
    pieces = [t for t in words_shown(page) if t.strip()]
    assert "".join(pieces) == "ifeelextraordinarilyhappy" and len(pieces) > 4


def test_robustness_report_and_a_cells_examples(browser, space_url, watch, screenshot_dir):
    with dashboard_page(browser, space_url.url, watch) as page:
        page.get_by_role("tab", name="Robustness", exact=True).click()
        page.locator("#robustness-open").click()
        page.wait_for_selector("#robustness-table [data-testid='cell-0-0']", timeout=TIMEOUT_MS)
        page.wait_for_selector("#robustness-bars .js-plotly-plot svg.main-svg", timeout=TIMEOUT_MS)
        edit = page.locator("#robustness-table [data-testid='cell-0-0']").inner_text().strip()
        assert edit == "negation"
        assert "rows of validation" in page.locator("#robustness-status textarea").input_value()
        page.locator("#robustness-table [data-testid='cell-0-2']").click()  # the "all" column of the first edit
        page.wait_for_function(
            "() => { const t = document.querySelector('#robustness-cell textarea'); return t && t.value.length > 0; }",
            timeout=TIMEOUT_MS)
        cell = page.locator("#robustness-cell textarea").input_value()
        assert cell.startswith("negation · predicted all: ")
        page.wait_for_selector("#robustness-examples [data-testid='cell-0-0']", timeout=TIMEOUT_MS)
        n = int(cell.split(": ")[1].split(" ")[0])
        assert n > 0
        original = page.locator("#robustness-examples [data-testid='cell-0-1']").inner_text().strip()
        edited = page.locator("#robustness-examples [data-testid='cell-0-2']").inner_text().strip()
        assert edited and edited != original
        assert watch.page_errors == []
        page.screenshot(path=str(screenshot_dir / "robustness.png"), full_page=True)
