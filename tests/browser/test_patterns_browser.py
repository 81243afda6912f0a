"""Review by pattern in a real browser (Debian chromium) on a served app with a tiny model: pick the planted
negated "angry" pattern, judge its spot check, apply the bulk relabel, undo the batch."""

from __future__ import annotations

import pytest

from core.review.store import ReviewStore
from tests.app.test_pattern_api import ARGS, PATTERN, pattern_data
from tests.browser.conftest import dashboard_page
from tests.browser.test_browser import open_tab, read_table, shot, wait_value


@pytest.fixture(scope="module")
def pattern_browser_server(tiny_model_dir, tmp_path_factory):
    from tests.app.space_server import start_app

    folder = tmp_path_factory.mktemp("pattern-browser")
    server = start_app(tiny_model_dir, pattern_data(folder / "data"), folder / "cache", args=ARGS)
    try:
        yield server
    finally:
        server.stop()


def _current(db) -> int:
    store = ReviewStore(db)
    keys = store.keys()
    return len(store.latest(keys[0])) if keys else 0


def test_spot_check_bulk_action_and_undo(browser, pattern_browser_server, watch, screenshot_dir):
    with dashboard_page(browser, pattern_browser_server.url, watch) as page:
        open_tab(page, "Patterns")
        page.wait_for_function("p => document.querySelector('#patterns-table').innerText.includes(p)", arg=PATTERN)
        row = next(r for r, cells in read_table(page, "patterns-table").items() if cells[0] == PATTERN)
        page.locator(f"#patterns-table [data-testid='cell-{row}-0']").click()  # picking a row picks its pattern
        wait_value(page, "spot-meta", "v.startsWith('anger → ')")
        for judged in range(1, 4):
            before = page.locator("#spot-text textarea").input_value()
            assert "angry" in before  # the row's text, shown as text
            page.locator("#spot-right").click()
            page.wait_for_function("n => document.querySelector('#spot-line').innerText.includes(n)",
                                   arg=f"{judged} of 3" if judged < 3 else "3 of 3 right")
        assert "passes" in page.locator("#spot-line").inner_text()
        assert _current(pattern_browser_server.db) == 3
        page.locator("#bulk-apply").click()
        line = wait_value(page, "bulk-line", "v.startsWith('batch ')")
        applied = int(line.split(" on ")[1].split(" rows")[0])
        assert applied > 0 and _current(pattern_browser_server.db) == 3 + applied
        shot(page, screenshot_dir, "patterns-bulk")
        page.wait_for_function("() => document.querySelector('#batches-table').innerText.includes('apply')")
        page.locator("#batch-undo").click()
        wait_value(page, "bulk-line", "v.includes('undone')")
        assert _current(pattern_browser_server.db) == 3
        assert not watch.page_errors
