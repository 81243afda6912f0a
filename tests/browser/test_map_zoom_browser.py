"""The embedding map in a real browser (headless Debian chromium through Playwright).

Zoom to points: a real Gradio server (in this process) serves the dashboard on a tiny random model's
analysis of 300 validation rows, built with a draw limit of 50 points: the whole map draws 50 points
sampled per class; a zoom box over a small window redraws it (on the server) as every point of that
window, a click on a point opens its sample, and a double-click returns to the whole map's sample.

A large map: the app's own limit (10,000 points) on 10,500 rows (of the train file): the map keeps one legend entry per
class, and a box select lists every sample inside the box, drawn or not.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.harness import free_port
from tests.browser.conftest import TIMEOUT_MS, browser_missing, dashboard_page, plot_js
from tests.conftest import split_lines, tiny_service

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


def sampled(page) -> bool:
    """Whether the map drawn is a sample of the samples in view (its title says how many are drawn)."""
    return page.evaluate(plot_js("map-plot", "return gd.data.every(t => t.type === 'scattergl')"
                                 " && gd._fullLayout.title.text.includes(' samples drawn');"))


def wait_redrawn(page, before: str, is_sampled: bool) -> None:
    """Wait until the map was drawn again (after ``before`` draws), as a sample or every point in view."""
    page.wait_for_function(plot_js("map-plot", "return gd.dataset.ready === '1' && gd.dataset.drawn !== p[0]"
                                   " && gd.data.every(t => t.type === 'scattergl')"
                                   " && gd._fullLayout.title.text.includes(' samples drawn') === p[1];", "p"),
                           arg=[before, is_sampled], timeout=TIMEOUT_MS)


def drag(page, corners: list[float]) -> None:
    """Press at the first corner, move to the second, release (a zoom or a box select, by the drag mode)."""
    page.mouse.move(corners[0], corners[1])
    page.mouse.down()
    page.mouse.move((corners[0] + corners[2]) / 2, (corners[1] + corners[3]) / 2, steps=4)
    page.mouse.move(corners[2], corners[3], steps=4)
    page.mouse.up()


def test_zooming_in_draws_every_point_and_double_click_returns_to_the_sample(browser, zoom_app, watch):
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
        assert sampled(page)  # 300 samples > 50: a sample per class
        drawn = page.evaluate(plot_js("map-plot", "return gd.dataset.drawn;"))
        page.locator("#map-plot .plotly-host").hover()
        page.locator("#map-plot .modebar-btn[data-val='zoom']").click()  # a drag zooms (the map opens selecting)
        corners = page.evaluate(plot_js("map-plot", (
            "return [box.left + xa._offset + xa.l2p(p[0]), box.top + ya._offset + ya.l2p(p[3]),"
            " box.left + xa._offset + xa.l2p(p[1]), box.top + ya._offset + ya.l2p(p[2])];"), "p"),
            [x[at] - half, x[at] + half, y[at] - half, y[at] + half])
        drag(page, corners)
        wait_redrawn(page, drawn, False)
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
        wait_redrawn(page, drawn, True)
    assert watch.page_errors == []


BIG = 10_500


@pytest.fixture(scope="module")
def big_app(tiny_model_dir, tmp_path_factory):
    """(service, url): the dashboard with its own draw limit (10,000) on 10,500 train rows."""
    from dashboard.app import build_app, launch_options
    from dashboard.figures import MAP_MAX_POINTS

    assert BIG > MAP_MAX_POINTS
    from core.services.emotion import EmotionService
    from core.settings import Settings

    folder = tmp_path_factory.mktemp("big-map-data")  # train rows served as a held-out split: no ranking signals
    (folder / "validation.txt").write_text("\n".join(split_lines("train", BIG)) + "\n")
    settings = Settings(model=str(tiny_model_dir), data=str(folder), split="validation", splits=("validation",),
                        cache_dir=tmp_path_factory.mktemp("big-map-cache"),
                        review_db=str(tmp_path_factory.mktemp("big-map-db") / "reviews.sqlite"))
    service = EmotionService.load(settings, show_progress=False)
    demo = build_app(service)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_options(service))
    try:
        yield service, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def test_large_map_keeps_one_legend_entry_per_class_and_a_box_lists_every_sample_inside(browser, big_app, watch,
                                                                                      screenshot_dir):
    from dashboard.queries import as_list
    from tests.browser.test_browser import shot

    service, url = big_app
    table = service.table
    assert len(table) == BIG
    with dashboard_page(browser, url, watch) as page:
        page.get_by_role("tab", name="Embedding map", exact=True).click()
        page.wait_for_selector("#map-plot .plotly-host[data-ready='1'] .nsewdrag", timeout=TIMEOUT_MS)
        assert sampled(page)
        drawn = page.evaluate(plot_js("map-plot", "return {names: gd._fullData.map(t => t.name),"
                                      " legend: Array.from(gd.querySelectorAll('.legend .traces'))"
                                      ".map(e => e.textContent), title: gd._fullLayout.title.text,"
                                      " ids: gd._fullData.flatMap(t => Array.from(t.customdata))};"))
        classes = [c for c in service.labels if (table["label"] == c).any()]
        assert drawn["names"] == classes and drawn["legend"] == classes  # coloured by label, one entry per class
        assert f"coloured by label<br><sup>{len(drawn['ids']):,} of {BIG:,} samples drawn" in drawn["title"]
        assert len(drawn["ids"]) <= 10_000

        # a box select (the map's drag mode) over the middle half of the map
        corners = page.evaluate(plot_js("map-plot", "return [box.left + xa._offset + xa._length * 0.25,"
                                        " box.top + ya._offset + ya._length * 0.25, box.left + xa._offset +"
                                        " xa._length * 0.75, box.top + ya._offset + ya._length * 0.75];"))
        drag(page, corners)
        page.wait_for_function("() => /^\\d+ samples picked$/.test((document.querySelector('#map-picked textarea')"
                               " || {}).value || '')", timeout=TIMEOUT_MS)
        sel = page.evaluate(plot_js("map-plot", "const s = gd._fullLayout.selections[0];"
                                    " return [s.x0, s.x1, s.y0, s.y1];"))
        x, y = table["umap_x"].to_numpy(np.float64), table["umap_y"].to_numpy(np.float64)
        (x0, x1), (y0, y1) = sorted(sel[:2]), sorted(sel[2:])
        inside = table.index[(x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)]
        not_drawn = set(inside) - {int(i) for i in drawn["ids"]}
        assert not_drawn  # the box holds samples the map did not draw ...
        picked = page.locator("#map-picked textarea").input_value()
        assert picked == f"{len(inside)} samples picked"  # ... and lists them all
        first = as_list(service.analyses.by_ids(None, inside.tolist())).iloc[0]
        page.wait_for_selector("#map-table [data-testid='cell-0-0']", timeout=TIMEOUT_MS)
        assert page.locator("#map-table [data-testid='cell-0-0']").inner_text().strip() == str(first["sample_id"])
        shot(page, screenshot_dir, "map-large-box-select")
    assert watch.page_errors == []
