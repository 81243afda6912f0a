"""HTML and script in the data show literally in the Review panel, the neighbours table, Compare, the
Robustness examples and the what-if table, in a real browser (headless Debian chromium through Playwright).

The app runs in this process: the tiny model (A) with a second tiny model (B, other weights) as the
compare model, on 30 real validation lines plus the rows of :data:`tests.hardening.conftest.PAYLOADS`
and a near copy of the first payload (so the first payload's nearest neighbour is a payload too).
Every check ends with :func:`tests.hardening.test_browser_injection.assert_not_pwned`.
"""

from __future__ import annotations

import json
import re

import pytest

from bench.harness import free_port
from tests.browser.conftest import TIMEOUT_MS, PageWatch, browser_missing, dashboard_page
from tests.hardening.conftest import PAYLOADS, write_split

_missing = browser_missing()
if _missing:
    pytest.skip(f"browser tests need playwright and chromium: {_missing}", allow_module_level=True)

from tests.browser.test_browser import COL, highlighted_tokens, open_tab, read_table, textbox, wait_value  # noqa: E402
from tests.hardening.test_browser_injection import assert_not_pwned, squash  # noqa: E402

pytestmark = pytest.mark.browser

IMG, SCRIPT = PAYLOADS[0][0], PAYLOADS[1][0]
IMG_TWIN = IMG.replace("today", "today!!")
TEXTS = [text for text, _ in PAYLOADS] + [IMG_TWIN]
EXAMPLE_TEXT, EXAMPLE_EDITED = 1, 2  # columns of the robustness examples (dashboard.tabs.robustness)
COMPARE_TEXT = 7  # the text column of the compare table


@pytest.fixture(scope="module")
def payload_app(loop_models, tmp_path_factory):
    """The dashboard (model A, compare model B) on real lines and the payload rows, served in this process."""
    from core.services.emotion import EmotionService
    from core.settings import Settings
    from dashboard.app import build_app, launch_options

    root = tmp_path_factory.mktemp("payload-views")
    data = write_split(root / "data", 30, [*(f"{t};{lab}" for t, lab in PAYLOADS), f"{IMG_TWIN};sadness"])
    model_a, model_b = loop_models
    settings = Settings(model=str(model_a), compare_model=str(model_b), data=str(data), cache_dir=root / "cache",
                        review_db=str(root / "reviews.sqlite"))
    service = EmotionService.load(settings, show_progress=False)
    demo = build_app(service)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_options(service))
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(browser, payload_app, watch):
    with dashboard_page(browser, payload_app, watch) as pg:
        yield pg


def cell_texts(page, elem_id: str) -> list[str]:
    return [cell for row in read_table(page, elem_id).values() for cell in row]


def open_payload_in_losses(page, text: str) -> None:
    """Search the Losses view for ``text`` and open its row in the sample panel."""
    open_tab(page, "Losses")
    page.wait_for_selector(f"#loss-table [data-testid='cell-0-{COL['text']}']", timeout=TIMEOUT_MS)
    box = page.get_by_label("text contains")
    box.fill(text)
    box.press("Enter")
    row = page.wait_for_function(
        "([col, text]) => { const c = Array.from(document.querySelectorAll('#loss-table [data-testid^=\"cell-\"]'))"
        ".find(e => e.getAttribute('data-testid').endsWith('-' + col) && e.innerText.trim() === text);"
        " return c ? c.getAttribute('data-testid') : false; }", arg=[COL["text"], text], timeout=TIMEOUT_MS)
    page.locator(f"#loss-table [data-testid='{row.json_value()}']").click()
    assert wait_value(page, "loss-sample-text", f"v === {json.dumps(text)}") == text


def test_review_panel_and_neighbours_show_payloads_as_text(page, watch):
    open_payload_in_losses(page, IMG)
    page.locator("#loss-send-review").click()
    page.wait_for_function(
        "(v) => Array.from(document.querySelectorAll('#review-neighbours [data-testid^=\"cell-\"]'))"
        ".some(c => c.innerText.trim() === v)", arg=IMG_TWIN, timeout=TIMEOUT_MS)
    assert IMG_TWIN in cell_texts(page, "review-neighbours")  # the near copy, literally, tags and all
    assert wait_value(page, "review-sample-text", f"v === {json.dumps(IMG)}") == IMG  # the Review panel, as text
    assert_not_pwned(page, watch)
    page.locator("#review-keep").click()  # the next sample, and a saved decision naming the payload's sample
    assert wait_value(page, "review-status").endswith("keep (saved)")
    assert_not_pwned(page, watch)


def test_compare_lists_and_explains_payloads_as_text(page, watch):
    open_tab(page, "Compare")
    page.wait_for_selector("#compare-table [data-testid='cell-0-0']", timeout=TIMEOUT_MS)
    rows = read_table(page, "compare-table")
    shown = [r for r, row in rows.items() if row[COMPARE_TEXT] in TEXTS]
    assert shown, "no payload row among the changed predictions"
    first = shown[0]
    page.locator(f"#compare-table [data-testid='cell-{first}-{COMPARE_TEXT}']").click()
    text = wait_value(page, "compare-sample-text")
    assert text == rows[first][COMPARE_TEXT]
    for elem in ("compare-shap-a", "compare-shap-b"):
        page.wait_for_selector(f"#{elem} [data-testid='highlighted-text:textfield'] .text", timeout=TIMEOUT_MS)
        assert "".join(highlighted_tokens(page, elem)) == squash(text)
    assert_not_pwned(page, watch)


def test_robustness_examples_show_payloads_as_text(page, watch):
    open_tab(page, "Robustness")
    page.locator("#robustness-open").click()
    page.wait_for_selector("#robustness-table [data-testid='cell-0-0']", timeout=TIMEOUT_MS)
    page.locator("#robustness-table [data-testid='cell-0-2']").click()  # the "all" column: every row
    assert re.match(r"\w+ · predicted all: \d+ examples", wait_value(page, "robustness-cell"))
    page.wait_for_selector("#robustness-examples [data-testid='cell-0-0']", timeout=TIMEOUT_MS)
    rows = read_table(page, "robustness-examples")
    originals = {row[EXAMPLE_TEXT] for row in rows.values()}
    shown = set(TEXTS) & originals  # an edit that does not apply to a text lists no example for it
    assert SCRIPT in shown and len(shown) >= 3, originals
    edited = [row[EXAMPLE_EDITED] for row in rows.values() if row[EXAMPLE_TEXT] == SCRIPT]
    assert edited and "<script>" in edited[0].lower()  # the edited payload too, as text
    assert_not_pwned(page, watch)


def test_what_if_table_shows_payload_edits_as_text(page, watch):
    box = textbox(page, "classify-text")
    box.fill(SCRIPT)
    page.wait_for_selector("#probe-table [data-testid='cell-0-1']", timeout=TIMEOUT_MS)
    page.wait_for_function("() => Array.from(document.querySelectorAll('#probe-table [data-testid^=\"cell-\"]'))"
                           ".some(c => c.innerText.includes('<script>'))", timeout=TIMEOUT_MS)
    texts = [row[1] for row in read_table(page, "probe-table").values()]
    assert any(t.startswith("<script>window.__pwned=2</script>") for t in texts), texts
    assert_not_pwned(page, watch)
