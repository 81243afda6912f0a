"""The verdict on audited labels in a real browser: with a blind audit of the split in the review database,
Overview and Compare show the audited block (figures with intervals and the rows set apart counted)."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.harness import start_app, stop_app, wait_for_http
from tests.browser.conftest import TIMEOUT_MS, browser_missing, dashboard_page
from tests.browser.test_browser import open_tab, shot
from tests.conftest import EMOTION, LABELS
from tests.loop_app import _split_lines

pytestmark = [pytest.mark.browser, pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))]
N_VALIDATION, N_AUDITED = 60, 44


def _audit(db, lines: list[str]) -> None:
    """A blind audit of the first draws of the validation split, as the audit CLI records it (no model)."""
    from core.audit.auditor import Auditor
    from core.data.keys import content_key, text_hashes
    from core.review.store import ReviewStore

    table = pd.DataFrame([line.rsplit(";", 1) for line in lines], columns=["text", "label"])
    hashes = text_hashes(table["text"].tolist())
    auditor = Auditor(ReviewStore(db), content_key(hashes, "validation"), table, labels=LABELS, text_hashes=hashes)
    for i, draw in enumerate(auditor.next("uniform", n=N_AUDITED)):
        judgement = ("wrong", "right", "right", "ambiguous")[i % 4]
        other = LABELS[(LABELS.index(draw.label) + 1) % len(LABELS)]
        auditor.decide(draw.token, judgement, correct_label=other if judgement == "wrong" else None,
                       reason="a planted judgement" if judgement == "wrong" else "", reviewer="reader")


@pytest.fixture(scope="module")
def audited_app(loop_models, tmp_path_factory):
    folder = tmp_path_factory.mktemp("audited-app")
    data = folder / "data"
    data.mkdir()
    for split, n in (("train", 60), ("validation", N_VALIDATION)):
        (data / f"{split}.txt").write_text("\n".join(_split_lines(split, n)) + "\n")
    _audit(folder / "reviews.sqlite", _split_lines("validation", N_VALIDATION))
    a, b = loop_models
    proc, url = start_app(a, data, folder / "cache", folder / "app.log", review_db=folder / "reviews.sqlite",
                          extra=["--compare-model", str(b), "--split", "validation"])
    try:
        wait_for_http(url, proc, log=folder / "app.log", timeout=600)
        yield url
    finally:
        stop_app(proc)


@pytest.mark.skipif(not EMOTION.is_dir(), reason="needs ../shared/emotion for real tweets")
def test_overview_and_compare_show_the_audited_block(browser, audited_app, watch, screenshot_dir):
    scored, ambiguous = N_AUDITED - N_AUDITED // 4, N_AUDITED // 4
    with dashboard_page(browser, audited_app, watch) as page:
        open_tab(page, "Overview")
        block = page.locator("#overview-audited")
        block.get_by_text("On the audited labels").wait_for(timeout=TIMEOUT_MS)
        text = block.inner_text()
        assert f"{scored} audited rows" in text and f"{ambiguous} ambiguous" in text
        assert "accuracy" in text and "%" in text and "Against the given labels of the same rows" in text
        open_tab(page, "Compare")
        compare = page.locator("#compare-audited")
        compare.get_by_text("On the audited labels").wait_for(timeout=TIMEOUT_MS)
        assert "B − A" in compare.inner_text() and "McNemar" in compare.inner_text()
        shot(page, screenshot_dir, "compare-audited")
        open_tab(page, "Confusion matrix")
        page.locator("#cm-labels").get_by_text("audited", exact=True).click()
        page.locator("#cm-overall").get_by_text("On the audited labels").wait_for(timeout=TIMEOUT_MS)
    assert watch.page_errors == []
