"""Zoom-to-points on the embedding map in a real browser (headless Debian chromium through Playwright).

A real Gradio server (in this process) serves the dashboard on a tiny random model's analysis of 300
validation rows, built with a draw limit of 50 points: the whole map is a density; dragging a zoom box
over a small window redraws it (on the server) as that window's points, a click on a point opens its
sample, and a double-click returns to the whole map's density.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.harness import free_port
from tests.browser.conftest import TIMEOUT_MS, browser_missing, dashboard_page, plot_js
from tests.conftest import tiny_service

_missing = browser_missing()
if _missing:
    pytest.skip(f"browser tests need playwright and chromium: {_missing}", allow_module_level=True)

pytestmark = pytest.mark.browser

LIMIT = 50


@pytest.fixture(scope="module")
def zoom_app(tiny_model_dir, tmp_path_factory):
    """(service, url): the dashboard with a 50-point draw limit, served on localhost for this module."""
    from dashboard.app import build_app, launch_options

    service = tiny_service(tiny_model_dir, tmp_path_factory, "zoom", 300)
    demo = build_app(service, map_max_points=LIMIT)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_options(service))
    try:
        yield service, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def trace_types(page) -> list[str]:
    return page.evaluate(plot_js("map-plot", "return gd.data.map(t => t.type);"))


def wait_redrawn(page, before: str, kind: str) -> None:
    """Wait until the map was drawn again (after ``before`` draws) and every trace is of type ``kind``."""
    page.wait_for_function(plot_js("map-plot", "return gd.dataset.ready === '1' && gd.dataset.drawn !== p[0]"
                                   " && gd.data.every(t => t.type === p[1]);", "p"), arg=[before, kind],
                           timeout=TIMEOUT_MS)


def test_zooming_in_draws_points_and_double_click_returns_to_density(browser, zoom_app, watch):
    service, url = zoom_app
    table = service.table
    x, y = table["umap_x"].to_numpy(np.float64), table["umap_y"].to_numpy(np.float64)
    # a square window around one sample holding about LIMIT / 2 samples: around the sample whose window
    # is widest while lying inside the map, so the drag spans many pixels whatever the map's layout
    cheb = np.maximum(abs(x[:, None] - x[None, :]), abs(y[:, None] - y[None, :]))
    reach = np.sort(cheb, axis=1)[:, LIMIT // 2]
    fits = (x - reach > x.min()) & (x + reach < x.max()) & (y - reach > y.min()) & (y + reach < y.max())
    at = int(np.where(fits, reach, -1).argmax())
    assert fits[at]
    half = float(reach[at])
    assert ((abs(x - x[at]) <= half) & (abs(y - y[at]) <= half)).sum() <= LIMIT
    with dashboard_page(browser, url, watch) as page:
        page.get_by_role("tab", name="Embedding map", exact=True).click()
        page.wait_for_selector("#map-plot .plotly-host[data-ready='1'] .nsewdrag", timeout=TIMEOUT_MS)
        assert trace_types(page) == ["heatmap"]  # 300 samples > 50: the density
        drawn = page.evaluate(plot_js("map-plot", "return gd.dataset.drawn;"))
        corners = page.evaluate(plot_js("map-plot", (
            "return [box.left + xa._offset + xa.l2p(p[0]), box.top + ya._offset + ya.l2p(p[3]),"
            " box.left + xa._offset + xa.l2p(p[1]), box.top + ya._offset + ya.l2p(p[2])];"), "p"),
            [x[at] - half, x[at] + half, y[at] - half, y[at] + half])
        page.mouse.move(corners[0], corners[1])
        page.mouse.down()
        page.mouse.move((corners[0] + corners[2]) / 2, (corners[1] + corners[3]) / 2, steps=4)
        page.mouse.move(corners[2], corners[3], steps=4)
        page.mouse.up()
        wait_redrawn(page, drawn, "scattergl")
        shown = page.evaluate(plot_js("map-plot", (
            "return {ids: gd._fullData.flatMap(t => Array.from(t.customdata)), x: gd._fullLayout.xaxis.range,"
            " y: gd._fullLayout.yaxis.range, at: gd._fullData.flatMap(t => Array.from(t.customdata)"
            ".map((id, i) => [id, t.x[i], t.y[i]]))};")))  # _fullData: the arrays plotly decoded
        (x0, x1), (y0, y1) = sorted(shown["x"]), sorted(shown["y"])
        want = np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
        assert sorted(int(i) for i in shown["ids"]) == sorted(table.index[want].tolist())  # exactly the window
        assert 0 < len(want) <= LIMIT and at in shown["ids"]

        # a click on the sample's point lists it, as on the full map of a small split
        _, px, py = next(p for p in shown["at"] if int(p[0]) == at)
        point = page.evaluate(plot_js("map-plot", "return [box.left + xa._offset + xa.l2p(p[0]),"
                                      " box.top + ya._offset + ya.l2p(p[1])];", "p"), [px, py])
        page.mouse.click(point[0], point[1])
        page.wait_for_function("() => (document.querySelector('#map-picked textarea') || {}).value"
                               " === '1 samples picked'", timeout=TIMEOUT_MS)
        assert page.locator("#map-table [data-testid='cell-0-0']").inner_text().strip() == str(at)

        drawn = page.evaluate(plot_js("map-plot", "return gd.dataset.drawn;"))
        centre = page.evaluate(plot_js("map-plot", "return [box.left + xa._offset + xa._length / 2,"
                                       " box.top + ya._offset + 10];"))
        page.mouse.dblclick(centre[0], centre[1])
        wait_redrawn(page, drawn, "heatmap")
    assert watch.page_errors == []
