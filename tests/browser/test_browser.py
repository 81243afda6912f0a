"""The dashboard in a real browser (headless Debian chromium through Playwright) on emotion-minilm.

Each test opens a fresh page (a new Gradio session) on the app served by the ``app_url`` fixture,
drives it with real keyboard and mouse events, checks what the page shows against the cached
analysis table or the API, and saves a full-page screenshot of its view under
``artifacts/screenshots/<view>.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from dashboard.queries import LIST_COLUMNS
from tests.browser.conftest import TIMEOUT_MS, browser_missing, plot_js

_missing = browser_missing()
if _missing:
    pytest.skip(f"browser tests need playwright and chromium: {_missing}", allow_module_level=True)

pytestmark = pytest.mark.browser

LABELS = {"sadness", "joy", "love", "anger", "fear", "surprise"}
COL = {name: i for i, name in enumerate(LIST_COLUMNS)}
TWEET = "I saw a movie today and it was really good"
PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>**bold** [link](http://x)'


# ---- helpers -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def analysis(minilm_cache_dir) -> pd.DataFrame:
    """The cached analysis table the app serves (index = sample id)."""
    paths = sorted(Path(minilm_cache_dir).glob("analysis/*/table.parquet"))
    assert len(paths) == 1, f"expected one cached analysis table, found {paths}"
    return pd.read_parquet(paths[0])


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def textbox(page, elem_id: str):
    return page.locator(f"#{elem_id} textarea").first


def wait_value(page, elem_id: str, predicate_js: str = "v.length > 0") -> str:
    """Wait until the textbox ``#elem_id``'s value satisfies ``predicate_js`` (on ``v``); return it."""
    page.wait_for_function(
        "([id, src]) => { const t = document.querySelector('#' + id + ' textarea');"
        " if (!t) return false; const v = t.value; return new Function('v', 'return ' + src)(v); }",
        arg=[elem_id, predicate_js], timeout=TIMEOUT_MS)
    return textbox(page, elem_id).input_value()


def wait_plot(page, selector: str) -> None:
    """Wait for a plotly figure drawn inside ``selector`` (gr.Plot or the gr.HTML bridge)."""
    page.wait_for_selector(f"{selector} .js-plotly-plot svg.main-svg", timeout=TIMEOUT_MS)


def wait_bridge_plot(page, elem_id: str) -> None:
    """Wait for an interactive (gr.HTML) plotly figure that is drawn and listening."""
    page.wait_for_selector(f"#{elem_id} .plotly-host[data-ready='1'] .nsewdrag", timeout=TIMEOUT_MS)


def read_table(page, elem_id: str, *, max_scrolls: int = 200) -> dict[int, list[str]]:
    """Every row of the (virtualised) ``gr.Dataframe`` ``#elem_id``: ``{row: [cell texts]}``.

    Rows are rendered lazily, so scroll the last rendered row into view until no new rows appear.
    """
    rows: dict[int, dict[int, str]] = {}
    for attempt in range(max_scrolls):
        cells = page.evaluate(
            "(id) => Array.from(document.querySelectorAll('#' + id + ' [data-testid^=\"cell-\"]'))"
            ".map(e => [e.getAttribute('data-testid'), e.innerText])", elem_id)
        before = len(rows)
        for testid, text in cells:
            m = re.fullmatch(r"cell-(\d+)-(\d+)", testid)
            if m:
                rows.setdefault(int(m[1]), {})[int(m[2])] = text.strip()
        if attempt and len(rows) == before:
            break
        page.locator(f"#{elem_id} [data-testid='cell-{max(rows)}-0']").scroll_into_view_if_needed()
        page.wait_for_timeout(150)
    page.evaluate("(id) => document.querySelectorAll('#' + id + ' *')"
                  ".forEach(e => { if (e.scrollTop) e.scrollTop = 0; })", elem_id)  # back to the top
    return {r: [cols[c] for c in sorted(cols)] for r, cols in sorted(rows.items())}


def first_cell(page, elem_id: str, col: str) -> str:
    return page.locator(f"#{elem_id} [data-testid='cell-0-{COL[col]}']").inner_text().strip()


def highlighted_tokens(page, elem_id: str) -> list[str]:
    return [t for t in page.locator(f"#{elem_id} [data-testid='highlighted-text:textfield'] .text").all_inner_texts()
            if t.strip()]


def shot(page, screenshot_dir: Path, view: str) -> Path:
    path = screenshot_dir / f"{view}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def shown_label(page) -> str:
    page.wait_for_selector("#classify-label [data-testid='label-output-value']", timeout=TIMEOUT_MS)
    return page.locator("#classify-label [data-testid='label-output-value']").inner_text().strip()


def top_bar(page) -> str:
    """The class of the top bar in the probability plot (bars are sorted, largest first)."""
    return page.evaluate("""() => {
      const gd = document.querySelector('#classify-bars .js-plotly-plot');
      const t = gd._fullData[0];
      let best = 0;
      for (let i = 1; i < t.x.length; i++) { if (t.x[i] > t.x[best]) best = i; }
      return t.y[best];
    }""")


def assert_not_pwned(page, watch) -> None:
    assert watch.dialogs == [], f"a dialog opened: {watch.dialogs}"
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.evaluate("() => Array.from(document.querySelectorAll('script'))"
                         ".filter(s => s.textContent.includes('__pwned')).length") == 0


# ---- tests ---------------------------------------------------------------------------------------

def test_classify_enter_shows_label_and_bars(page, watch, app_url, screenshot_dir):
    from gradio_client import Client

    box = textbox(page, "classify-text")
    box.fill(TWEET)
    box.press("Enter")
    wait_plot(page, "#classify-bars")
    label = shown_label(page)
    assert label in LABELS
    assert top_bar(page) == label
    expected = Client(app_url, verbose=False).predict(TWEET, api_name="/classify")
    assert label == expected["label"]
    assert page.locator("#classify-notes").is_hidden()  # nothing to say: no "notes" box
    assert box.input_value() == TWEET
    assert watch.page_errors == []
    shot(page, screenshot_dir, "classify")


def test_explain_highlights_the_words(page, watch, screenshot_dir):
    box = textbox(page, "classify-text")  # the live view explains what is typed, no button
    box.fill(TWEET)
    status = wait_value(page, "explain-status", "v.includes('predicted:')")
    assert re.match(r"^(sadness|joy|love|anger|fear|surprise) \(predicted: ", status), status
    page.wait_for_selector("#explain-tokens [data-testid='highlighted-text:textfield'] .text", timeout=TIMEOUT_MS)
    tokens = highlighted_tokens(page, "explain-tokens")
    words = TWEET.split()
    assert tokens == words, tokens  # the words as typed
    wait_plot(page, "#explain-bars")
    assert watch.page_errors == []
    shot(page, screenshot_dir, "explain")


def test_losses_order_and_open_sample(page, analysis, screenshot_dir):
    open_tab(page, "Losses")
    page.wait_for_selector(f"#loss-table [data-testid='cell-0-{COL['loss']}']", timeout=TIMEOUT_MS)
    highest = float(first_cell(page, "loss-table", "loss"))
    assert highest == pytest.approx(analysis["loss"].max(), abs=1e-3)

    page.locator("#loss-order label", has_text="lowest loss").click()
    # wait for the lowest loss itself (reading the old cell after the click races a fast update)
    page.wait_for_function(
        "([sel, want]) => { const c = document.querySelector(sel);"
        " return c && Math.abs(parseFloat(c.innerText) - want) < 1e-3; }",
        arg=[f"#loss-table [data-testid='cell-0-{COL['loss']}']", float(analysis["loss"].min())],
        timeout=TIMEOUT_MS)
    lowest = float(first_cell(page, "loss-table", "loss"))
    assert lowest != highest
    assert highest >= lowest
    assert lowest == pytest.approx(analysis["loss"].min(), abs=1e-3)

    sample_id = int(first_cell(page, "loss-table", "sample_id"))
    page.locator(f"#loss-table [data-testid='cell-0-{COL['text']}']").click()
    text = analysis.loc[sample_id, "text"]
    page.wait_for_function(
        "(text) => Array.from(document.querySelectorAll('textarea')).some(t => t.value === text)",
        arg=text, timeout=TIMEOUT_MS)
    page.wait_for_function(
        "(prefix) => Array.from(document.querySelectorAll('textarea')).some(t => t.value.startsWith(prefix))",
        arg=f"sample {sample_id} · given: {analysis.loc[sample_id, 'label']}", timeout=TIMEOUT_MS)
    page.wait_for_selector("[data-testid='highlighted-text:textfield'] .text", timeout=TIMEOUT_MS)  # SHAP
    shot(page, screenshot_dir, "losses")


CELL_PAGE = 20  # the confusion view's default page size


def test_confusion_cell_click_lists_exactly_its_samples(page, analysis, screenshot_dir):
    open_tab(page, "Confusion matrix")
    wait_bridge_plot(page, "cm-plot")
    wrong = analysis[analysis["label"] != analysis["pred"]]
    counts = wrong.groupby(["label", "pred"]).size().sort_values(ascending=False, kind="stable")
    (true_label, pred_label), n = counts.index[0], int(counts.iloc[0])
    expected_ids = set(wrong.index[(wrong["label"] == true_label) & (wrong["pred"] == pred_label)])

    pos = page.evaluate(plot_js("cm-plot", """
      const r = ya._categories.indexOf(t), c = xa._categories.indexOf(p);
      return {r, c, x: box.left + xa._offset + xa.l2p(c), y: box.top + ya._offset + ya.l2p(r),
              z: gd._fullData[0].z[r][c]};""", "[t, p]"), [true_label, pred_label])
    assert pos["r"] >= 0 and pos["c"] >= 0 and pos["r"] != pos["c"], pos
    assert int(pos["z"]) == n  # the heatmap shows the count of the cached table
    page.mouse.move(pos["x"], pos["y"])
    page.mouse.click(pos["x"], pos["y"])

    cell = wait_value(page, "cm-cell")
    n_pages = -(-n // CELL_PAGE)
    assert cell == f"true {true_label} · predicted {pred_label} · {n} samples · page 1 of {n_pages}"
    page.wait_for_selector("#cm-table [data-testid='cell-0-0']", timeout=TIMEOUT_MS)
    rows = read_table(page, "cm-table")
    assert len(rows) == min(n, CELL_PAGE)
    for row in rows.values():
        assert row[COL["label"]] == true_label and row[COL["pred"]] == pred_label, row
    shown = {int(row[COL["sample_id"]]) for row in rows.values()}
    top = wrong.loc[sorted(expected_ids)].sort_values("loss", ascending=False, kind="stable").index[:CELL_PAGE]
    assert shown == set(top)  # the first page holds exactly the cell's highest-loss samples
    losses = [float(row[COL["loss"]]) for row in rows.values()]
    assert losses == sorted(losses, reverse=True)
    shot(page, screenshot_dir, "confusion")


def test_embedding_click_and_lasso_select(page, analysis, screenshot_dir):
    open_tab(page, "Embedding map")
    wait_bridge_plot(page, "map-plot")
    geom = page.evaluate(plot_js("map-plot", """
      return {left: box.left + xa._offset, top: box.top + ya._offset, w: xa._length, h: ya._length,
              dragmode: gd._fullLayout.dragmode};"""))
    assert geom["dragmode"] in ("lasso", "select")

    def to_px(x: float, y: float) -> tuple[float, float]:
        return tuple(page.evaluate(plot_js("map-plot", """
          return [box.left + xa._offset + xa.d2p(x), box.top + ya._offset + ya.d2p(y)];""", "[x, y]"), [x, y]))

    # 1. click one point: the sample whose map position is under the mouse
    sid = int(analysis.index[(analysis["umap_x"] - analysis["umap_x"].median()).abs().argmin()])
    px, py = to_px(float(analysis.loc[sid, "umap_x"]), float(analysis.loc[sid, "umap_y"]))
    page.mouse.move(px, py)
    page.mouse.click(px, py)
    assert wait_value(page, "map-picked") == "1 samples picked"
    page.wait_for_selector("#map-table [data-testid='cell-0-0']", timeout=TIMEOUT_MS)
    picked = int(first_cell(page, "map-table", "sample_id"))
    qx, qy = to_px(float(analysis.loc[picked, "umap_x"]), float(analysis.loc[picked, "umap_y"]))
    assert abs(qx - px) <= 25 and abs(qy - py) <= 25, "the picked point is not under the mouse"

    # 2. a mouse-drawn selection (a rectangle, as lasso or box) around the densest class's centre
    biggest = analysis[analysis["label"] == analysis["label"].mode()[0]]
    centre = biggest.loc[((biggest["umap_x"] - biggest["umap_x"].median()).abs()
                          + (biggest["umap_y"] - biggest["umap_y"].median()).abs()).idxmin()]
    cx, cy = to_px(float(centre["umap_x"]), float(centre["umap_y"]))
    half_w, half_h = 0.12 * geom["w"], 0.12 * geom["h"]
    x0, x1 = max(geom["left"] + 2, cx - half_w), min(geom["left"] + geom["w"] - 2, cx + half_w)
    y0, y1 = max(geom["top"] + 2, cy - half_h), min(geom["top"] + geom["h"] - 2, cy + half_h)
    if geom["dragmode"] == "select":  # a box: drag from one corner to the opposite one
        corners = [(x0, y0), (x1, y1)]
    else:  # a lasso: walk around the rectangle
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0 + 1)]
    page.mouse.move(*corners[0])
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(corners, corners[1:], strict=False):
        for k in range(1, 11):
            page.mouse.move(ax + (bx - ax) * k / 10, ay + (by - ay) * k / 10)
    page.mouse.up()
    summary = wait_value(page, "map-picked", "v !== '1 samples picked' && /samples picked/.test(v)")
    n = int(summary.split()[0])
    assert n > 1

    def rect(margin_px: float) -> pd.DataFrame:
        """Samples whose map position lies in the dragged rectangle grown by ``margin_px``."""
        xmin, xmax, ymin, ymax = page.evaluate(plot_js("map-plot", """
          const px = (v) => xa.p2d(v - box.left - xa._offset), py = (v) => ya.p2d(v - box.top - ya._offset);
          return [px(x0), px(x1), py(y1), py(y0)];""", "[x0, x1, y0, y1]"),
            [x0 - margin_px, x1 + margin_px, y0 - margin_px, y1 + margin_px])
        return analysis[analysis["umap_x"].between(xmin, xmax) & analysis["umap_y"].between(ymin, ymax)]

    inner, outer = rect(-3), rect(3)
    assert len(inner) <= n <= len(outer), (len(inner), n, len(outer))
    page.wait_for_function(
        "(sel) => { const c = document.querySelector(sel); return c && c.innerText.trim() !== '' }",
        arg=f"#map-table [data-testid='cell-{min(n, 5) - 1}-{COL['sample_id']}']", timeout=TIMEOUT_MS)
    rows = read_table(page, "map-table", max_scrolls=1)
    shown = [int(r[COL["sample_id"]]) for r in rows.values()]
    assert len(shown) >= min(n, 5)
    assert set(shown) <= set(outer.index), "the table lists samples outside the selection"
    losses = [float(r[COL["loss"]]) for r in rows.values()]
    assert losses == sorted(losses, reverse=True)
    assert losses[0] >= round(float(inner["loss"].max()), 3) - 1e-9
    shot(page, screenshot_dir, "embedding")


def test_review_keyboard_shortcut_saves(page, screenshot_dir):
    open_tab(page, "Review")
    before = wait_value(page, "review-progress", "v.startsWith('reviewed') && !v.includes('queue empty')")
    page.wait_for_selector("#review-keep", state="visible", timeout=TIMEOUT_MS)
    done = int(re.match(r"reviewed (\d+) of", before)[1])
    page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); }")
    page.keyboard.press("k")
    status = wait_value(page, "review-status", "v.includes('saved')")
    assert re.fullmatch(r"sample \d+: keep \(saved\)", status), status
    after = wait_value(page, "review-progress", f"v.startsWith('reviewed {done + 1} of')")
    assert int(re.match(r"reviewed (\d+) of", after)[1]) == done + 1
    shot(page, screenshot_dir, "review")


def test_overview_shows_model_and_plots(page, screenshot_dir):
    open_tab(page, "Overview")
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= 3", timeout=TIMEOUT_MS)
    body = page.locator("body").inner_text()
    assert "emotion-minilm" in body and "accuracy" in body
    shot(page, screenshot_dir, "overview")


def test_html_in_user_text_is_shown_as_text(page, watch, screenshot_dir):
    box = textbox(page, "classify-text")
    box.fill(PAYLOAD)
    box.press("Enter")
    wait_plot(page, "#classify-bars")
    assert shown_label(page) in LABELS
    assert box.input_value() == PAYLOAD
    assert_not_pwned(page, watch)

    # the live view explains the same text box: the words are the payload's characters, as text
    wait_value(page, "explain-status", "v.includes('predicted:')")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#explain-tokens .text')).some(e => e.textContent === 'script')",
        timeout=TIMEOUT_MS)
    tokens = highlighted_tokens(page, "explain-tokens")
    assert "".join(tokens) == re.sub(r"\s+", "", PAYLOAD)  # every character shown, as text
    assert box.input_value() == PAYLOAD
    wait_plot(page, "#explain-bars")
    ticks = page.locator("#explain-bars .js-plotly-plot .yaxislayer-above text").all_text_contents()
    assert ticks and set(ticks) <= set(tokens), ticks  # tokens shown as typed: no `&quot;` or `&lt;`
    assert_not_pwned(page, watch)
    shot(page, screenshot_dir, "security")
