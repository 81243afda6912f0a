"""Real-browser test of the Compare tab: click a cell of the difference matrix, open a changed
sample, see both models' probabilities and explanations."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import TIMEOUT_MS, browser_missing, dashboard_page
from tests.browser.test_browser import open_tab, read_table, shot, wait_bridge_plot, wait_value

pytestmark = [pytest.mark.browser, pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))]


def test_compare_cell_and_changed_sample(browser, loop_app, watch, screenshot_dir):
    with dashboard_page(browser, loop_app.url, watch) as page:
        open_tab(page, "Compare")
        wait_bridge_plot(page, "compare-plot")
        cell = page.evaluate("""() => {
          const gd = document.querySelector('#compare-plot .plotly-host');
          const t = gd._fullData[0], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
          let best = null;
          for (let r = 0; r < t.customdata.length; r++) for (let c = 0; c < t.customdata[r].length; c++) {
            const v = Math.abs(t.customdata[r][c]);
            if (r !== c && v > 0 && (!best || v > best.v)) best = {r, c, v};
          }
          const box = gd.getBoundingClientRect();
          return Object.assign(best, {t: ya._categories[best.r], p: xa._categories[best.c],
            x: box.left + xa._offset + xa.l2p(best.c), y: box.top + ya._offset + ya.l2p(best.r)});
        }""")
        page.mouse.move(cell["x"], cell["y"])
        page.mouse.click(cell["x"], cell["y"])
        caption = wait_value(page, "compare-caption", "v.startsWith('cell')")
        m = re.fullmatch(r"cell true (\w+) · predicted (\w+) · (\d+) samples", caption)
        assert m and (m[1], m[2]) == (cell["t"], cell["p"]), caption
        rows = read_table(page, "compare-table")
        assert len(rows) == int(m[3]) > 0
        for row in rows.values():  # columns: sample_id, group, label, pred_a, pred_b, ...
            assert row[2] == cell["t"] and cell["p"] in (row[3], row[4]) and row[3] != row[4], row

        page.locator("#compare-table [data-testid='cell-0-7']").click()
        text = wait_value(page, "compare-sample-text")
        assert text == rows[0][7]
        page.wait_for_function(
            "() => { const gd = document.querySelector('#compare-bars .js-plotly-plot');"
            " return gd && gd._fullData && gd._fullData.length === 2; }", timeout=TIMEOUT_MS)
        sums = page.evaluate("() => document.querySelector('#compare-bars .js-plotly-plot')._fullData"
                             ".map(t => t.y.reduce((a, b) => a + b, 0))")
        assert all(abs(s - 100) < 0.5 for s in sums), sums  # two full probability sets
        for elem in ("compare-shap-a", "compare-shap-b"):
            page.wait_for_selector(f"#{elem} [data-testid='highlighted-text:textfield'] .text", timeout=TIMEOUT_MS)
        shot(page, screenshot_dir, "compare")
