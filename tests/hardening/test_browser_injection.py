"""HTML, script and markdown in user text and in the analysed data show literally in every view of the
dashboard, in a real browser (headless Debian chromium through Playwright).

The app is ``hostile_app`` (tests/hardening/conftest.py): the tiny model on 60 real validation lines
plus the rows of :data:`PAYLOADS`, so the payloads reach the Losses table, the sample panel, the
confusion-cell listing and the embedding map's hover labels. Every check ends with: no dialog opened,
``window.__pwned`` undefined, no ``img[src="x"]``, no injected script, svg or iframe.
"""

from __future__ import annotations

import html
import re

import pytest

from tests.browser.conftest import TIMEOUT_MS, PageWatch, browser_missing, dashboard_page, plot_js
from tests.hardening.conftest import PAYLOADS

_missing = browser_missing()
if _missing:
    pytest.skip(f"browser tests need playwright and chromium: {_missing}", allow_module_level=True)

from tests.browser.test_browser import (  # noqa: E402  (after the skip: that module skips without a browser)
    COL,
    highlighted_tokens,
    open_tab,
    read_table,
    shown_label,
    textbox,
    wait_bridge_plot,
    wait_plot,
    wait_value,
)

pytestmark = pytest.mark.browser

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
IMG, SCRIPT, MARKDOWN = PAYLOADS[0][0], PAYLOADS[1][0], PAYLOADS[2][0]
NEEDLES = {text: needle for (text, _), needle in zip(
    PAYLOADS, ["<img", "<script>", "**md**", "<svg", "<iframe", "&lt;b&gt;"], strict=True)}


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(browser, hostile_app, watch):
    with dashboard_page(browser, hostile_app.url, watch) as pg:
        yield pg


def assert_not_pwned(page, watch) -> None:
    assert watch.dialogs == [], f"a dialog opened: {watch.dialogs}"
    state = page.evaluate(r"""() => ({
      pwned: typeof window.__pwned,
      img: document.querySelectorAll('img[src="x"]').length,
      script: Array.from(document.querySelectorAll('script'))
        .filter(s => /^\s*window\.__pwned/.test(s.textContent)).length,
      handlers: Array.from(document.querySelectorAll('[onerror], [onload]'))
        .filter(e => (e.getAttribute('onerror') || e.getAttribute('onload') || '').includes('__pwned')).length,
      iframe: Array.from(document.querySelectorAll('iframe'))
        .filter(f => (f.getAttribute('src') || '').startsWith('javascript')).length,
      jsLinks: Array.from(document.querySelectorAll('a[href^="javascript"]')).length,
      bold: Array.from(document.querySelectorAll('b, strong')).filter(b => /^(md|bold)$/.test(b.textContent)).length,
    })""")
    assert state == {"pwned": "undefined", "img": 0, "script": 0, "handlers": 0, "iframe": 0, "jsLinks": 0,
                     "bold": 0}, state


def textarea_with(page, value: str) -> None:
    """Wait until some textarea holds exactly ``value``."""
    page.wait_for_function("(v) => Array.from(document.querySelectorAll('textarea')).some(t => t.value === v)",
                           arg=value, timeout=TIMEOUT_MS)


def search_losses(page, needle: str, text: str) -> list[str]:
    """Type ``needle`` in the Losses search box; return the one listed row, which must show ``text``."""
    box = page.get_by_label("text contains")
    box.fill(needle)
    box.press("Enter")
    cell = f"#loss-table [data-testid='cell-0-{COL['text']}']"
    page.wait_for_function("([sel, text]) => { const c = document.querySelector(sel);"
                           " return c && c.innerText.trim() === text; }", arg=[cell, text], timeout=TIMEOUT_MS)
    rows = read_table(page, "loss-table")
    matching = [r for r in rows.values() if needle.lower() in r[COL["text"]].lower()]
    assert [r[COL["text"]] for r in matching] == [text], rows
    return matching[0]


# ---- tests ---------------------------------------------------------------------------------------

def test_classify_and_explain_show_payloads_as_text(page, watch):
    box = textbox(page, "classify-text")
    for text in (IMG, SCRIPT, MARKDOWN):
        box.fill(text)
        box.press("Enter")
        wait_plot(page, "#classify-bars")
        assert shown_label(page) in LABELS
        assert box.input_value() == text
    long_text = "i am so happy today " * 5_000  # 100,000 characters: the view says it was cut
    box.fill(long_text)
    box.press("Enter")
    notes = wait_value(page, "classify-notes", "v.includes('text cut')")
    assert notes == "text cut from 99,999 to 20,000 characters; the model read only the first 128 tokens", notes
    assert_not_pwned(page, watch)

    for text in (IMG, SCRIPT):  # the live view explains the text box as it is typed
        box.fill(text)
        page.wait_for_function(
            "(want) => Array.from(document.querySelectorAll('#explain-tokens .text'))"
            ".map(e => e.textContent).join('').replace(/\\s+/g, '') === want",
            arg=squash(text), timeout=TIMEOUT_MS)
        tokens = highlighted_tokens(page, "explain-tokens")
        assert "".join(tokens) == squash(text)
        wait_plot(page, "#explain-bars")
        ticks = page.locator("#explain-bars .js-plotly-plot .yaxislayer-above text").all_text_contents()
        assert ticks and {t.removeprefix("##") for t in ticks} <= set(tokens), ticks  # as typed: no &lt;
    assert watch.page_errors == []
    assert_not_pwned(page, watch)


def test_losses_table_and_sample_panel_show_payloads_as_text(page, watch):
    open_tab(page, "Losses")
    page.wait_for_selector(f"#loss-table [data-testid='cell-0-{COL['text']}']", timeout=TIMEOUT_MS)
    for text, label in PAYLOADS:
        row = search_losses(page, NEEDLES[text], text)
        assert row[COL["label"]] == label and row[COL["pred"]] in LABELS
    assert_not_pwned(page, watch)

    row = search_losses(page, "<img", IMG)
    page.locator(f"#loss-table [data-testid='cell-0-{COL['text']}']").click()
    textarea_with(page, IMG)  # the sample panel's text box
    page.wait_for_function(
        "(prefix) => Array.from(document.querySelectorAll('textarea')).some(t => t.value.startsWith(prefix))",
        arg=f"sample {row[COL['sample_id']]} · given: joy", timeout=TIMEOUT_MS)
    page.wait_for_selector("[data-testid='highlighted-text:textfield'] .text", timeout=TIMEOUT_MS)
    shap = "".join(e for e in page.locator("[data-testid='highlighted-text:textfield'] .text").all_inner_texts())
    assert re.sub(r"\s+", "", shap) == re.sub(r"\s+", "", IMG)  # word by word, as typed
    assert_not_pwned(page, watch)


def test_confusion_cell_lists_payloads_as_text(page, watch):
    open_tab(page, "Losses")
    page.wait_for_selector(f"#loss-table [data-testid='cell-0-{COL['text']}']", timeout=TIMEOUT_MS)
    row = search_losses(page, "<script>", SCRIPT)
    true_label, pred_label = row[COL["label"]], row[COL["pred"]]

    open_tab(page, "Confusion matrix")
    wait_bridge_plot(page, "cm-plot")
    pos = page.evaluate(plot_js("cm-plot", """
      const r = ya._categories.indexOf(t), c = xa._categories.indexOf(p);
      return {r, c, x: box.left + xa._offset + xa.l2p(c), y: box.top + ya._offset + ya.l2p(r)};""", "[t, p]"),
        [true_label, pred_label])
    assert pos["r"] >= 0 and pos["c"] >= 0, pos
    page.mouse.move(pos["x"], pos["y"])
    page.mouse.click(pos["x"], pos["y"])
    assert wait_value(page, "cm-cell").startswith(f"true {true_label} · predicted {pred_label} · ")
    page.wait_for_selector("#cm-table [data-testid='cell-0-0']", timeout=TIMEOUT_MS)
    rows = read_table(page, "cm-table")
    texts = [r[COL["text"]] for r in rows.values()]
    assert SCRIPT in texts, texts  # literally, tags and all
    assert all(r[COL["label"]] == true_label and r[COL["pred"]] == pred_label for r in rows.values())
    assert_not_pwned(page, watch)


def test_embedding_hover_shows_payloads_as_text(page, watch):
    open_tab(page, "Embedding map")
    wait_bridge_plot(page, "map-plot")
    # every point: its trace (curve) and index, and its hover text as sent
    points = page.evaluate(plot_js("map-plot", """
      const all = [];
      gd._fullData.forEach((t, c) => { for (let i = 0; i < t.x.length; i++) {
        all.push({id: t.customdata[i], hover: String(t.hovertext[i]), curve: c, index: i, x: t.x[i], y: t.y[i]});
      } });
      return all;"""))
    assert len(points) == 60 + len(PAYLOADS)
    by_text = {}
    for p in points:
        shown = html.unescape(p["hover"].split("<br><b>label</b>")[0].replace("<br>", " "))
        for text, _ in PAYLOADS:
            if squash(shown) == squash(text):
                by_text[text] = p
    assert set(by_text) == {text for text, _ in PAYLOADS}
    for p in by_text.values():  # escaped in the figure: no raw tag reaches plotly
        assert "<img" not in p["hover"] and "<script" not in p["hover"] and "<svg" not in p["hover"]

    # hover each payload point through plotly's own hover call, at the point's exact data coordinates in its
    # own trace (WebGL traces cannot be hovered by point number), so no mouse position decides which point
    # answers: the hovered point must be this one, and its label must show the payload literally
    page.mouse.move(1, 1)
    for text, p in by_text.items():
        page.evaluate(plot_js("map-plot", "Plotly.Fx.unhover(gd);"))
        page.wait_for_function("() => !document.querySelector('#map-plot .hoverlayer .hovertext')", timeout=15_000)
        hovered = page.evaluate(plot_js("map-plot", """
          Plotly.Fx.hover(gd, [{curveNumber: p.curve, xval: p.x, yval: p.y}]);
          return (gd._hoverdata || []).map(d => [d.curveNumber, d.pointNumber]);""", "p"), p)
        assert hovered == [[p["curve"], p["index"]]], (text, hovered)
        page.wait_for_selector("#map-plot .hoverlayer .hovertext", timeout=15_000)
        labels = page.locator("#map-plot .hoverlayer .hovertext")
        assert labels.count() == 1
        shown = labels.first.text_content()
        assert squash(text) in squash(shown), (text, shown)  # literal characters: '<img', '"', "'", '&', ...
        assert_not_pwned(page, watch)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)
