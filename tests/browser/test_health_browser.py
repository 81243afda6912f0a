"""Real-browser test of the Data health tab: the conflicting-duplicates list, a row sent to review, and
a decision saved on it (emotion-minilm on the real validation split)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests.browser.conftest import TIMEOUT_MS, browser_missing
from tests.browser.test_browser import open_tab, read_table, shot, wait_value

pytestmark = [pytest.mark.browser, pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))]


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip()


def test_health_tab_sends_a_conflicting_duplicate_to_review(page, minilm_cache_dir, screenshot_dir):
    paths = sorted(Path(minilm_cache_dir).glob("analysis/*/table.parquet"))
    table = pd.read_parquet(paths[0])
    open_tab(page, "Data health")
    page.wait_for_selector("#health-rows [data-testid='cell-0-0']", timeout=TIMEOUT_MS)
    rows = read_table(page, "health-rows")
    assert rows, "no conflicting duplicates listed"
    sid, split = int(rows[0][0]), rows[0][1]
    assert split == "validation"
    # independently: another row of the split has the same text and another label
    same = table[table["text"].map(_key) == _key(table.loc[sid, "text"])]
    assert len(same) >= 2 and same["label"].nunique() >= 2

    page.locator("#health-rows [data-testid='cell-0-4']").click()
    wait_value(page, "health-picked", f"v.startsWith('validation split, sample {sid}:')")
    page.locator("#health-send").click()
    page.wait_for_function(
        "(prefix) => Array.from(document.querySelectorAll('textarea')).some(t => t.value.startsWith(prefix))",
        arg=f"sample {sid} · given: {table.loc[sid, 'label']}", timeout=TIMEOUT_MS)
    page.wait_for_selector("#review-keep", state="visible", timeout=TIMEOUT_MS)
    page.locator("#review-keep").click()
    status = wait_value(page, "review-status", "v.includes('saved')")
    assert status == f"sample {sid}: keep (saved)", status
    open_tab(page, "Data health")
    shot(page, screenshot_dir, "health")
