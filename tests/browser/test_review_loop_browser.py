"""The reviewer's loop in a real browser (Debian chromium), on a served app with a tiny model: decide three
rows with the keys, undo one, withdraw another from "My decisions", export the corrected dataset, then run
the retrain command the page prints (offline, on the tiny model) and load the checkpoint it writes in Compare
(the app's Compare tab built in this process on the served model against the new checkpoint, over the
corrected data: one server start for the walk).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.browser.conftest import VIEWPORT, dashboard_page
from tests.browser.test_browser import open_tab, read_table, shot, textbox, wait_value
from tests.conftest import EMOTION, LABELS, OFFLINE_ENV, REPO

N = 40


@pytest.fixture(scope="module")
def loop_server(tiny_model_dir, tmp_path_factory):
    """The app (open access) on the tiny model over a train and a validation split of N rows each."""
    if not EMOTION.is_dir():
        pytest.skip("../shared/emotion is absent")
    from tests.app.space_server import start_app

    folder = tmp_path_factory.mktemp("review-loop")
    data = folder / "data"
    data.mkdir()
    for split in ("train", "validation"):
        (data / f"{split}.txt").write_text("\n".join((EMOTION / f"{split}.txt").read_text().splitlines()[:N]) + "\n")
    server = start_app(tiny_model_dir, data, folder / "cache")
    try:
        yield server
    finally:
        server.stop()


def _reviewed(page) -> int:
    return int(re.match(r"reviewed (\d+) of", textbox(page, "review-progress").input_value())[1])


def _press(page, key: str, done: int) -> str:
    page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); }")
    page.keyboard.press(key)
    wait_value(page, "review-progress", f"v.startsWith('reviewed {done} of')")
    return textbox(page, "review-status").input_value()


def _given(page) -> str:
    facts = wait_value(page, "review-sample-facts", "v.includes('given: ')")
    return re.search(r"given: (\w+)", facts)[1]


def test_decide_three_undo_one_export_retrain_and_compare(browser, loop_server, tiny_model_dir, watch, screenshot_dir,
                                                          tmp_path):
    with dashboard_page(browser, loop_server.url, watch) as page:
        open_tab(page, "Review")
        wait_value(page, "review-progress", "v.startsWith('reviewed 0 of') && !v.includes('queue empty')")
        given = _given(page)
        page.keyboard.press(str(LABELS.index(given) + 1))  # the given class: said, not stored
        said = wait_value(page, "review-status", "v.includes('given label')")
        assert "nothing was stored" in said and _reviewed(page) == 0
        echo = page.locator("#review-key-echo")
        page.wait_for_function("() => (document.querySelector('#review-key-echo')?.innerText || '')"
                               ".includes('given label')", timeout=30_000)  # the echo follows the status
        assert "given label" in echo.inner_text()
        box = echo.bounding_box()
        assert box is not None and 0 <= box["y"] < VIEWPORT["height"], box  # in view, next to the text

        assert "keep (saved)" in _press(page, "k", 1)
        assert "ambiguous (saved)" in _press(page, "a", 2)
        other = next(x for x in LABELS if x != _given(page))
        assert f"relabel → {other} (saved)" in _press(page, str(LABELS.index(other) + 1), 3)
        undone = _press(page, "u", 2)
        assert "undone" in undone and "relabel" in undone

        page.get_by_text("My decisions (change or withdraw)").click()
        page.locator("#review-history-refresh").click()
        page.wait_for_selector("#review-history-table [data-testid='cell-1-1']")
        listed = read_table(page, "review-history-table")
        assert [r[1] for r in listed.values()] == ["ambiguous", "keep"]  # newest first; the relabel is undone
        page.locator("#review-history-table [data-testid='cell-1-1']").click()  # pick the keep ...
        wait_value(page, "review-history-status", "v.includes(': keep (')")
        page.locator("#review-history-withdraw").click()  # ... and withdraw it from the list
        wait_value(page, "review-history-status", "v.includes('withdrawn (logged)')")
        page.wait_for_function("() => !document.querySelector(\"#review-history-table [data-testid='cell-1-1']\")")
        assert [r[1] for r in read_table(page, "review-history-table").values()] == ["ambiguous"]

        page.get_by_text("Export and retrain").click()
        page.locator("#review-export-data").click()
        line = wait_value(page, "review-export-note", "v.includes('every split corrected')")
        assert f"validation: 1 of {N} rows changed (0 relabelled, 1 dropped)" in line
        assert f"train: 0 of {N} rows changed" in line
        shot(page, screenshot_dir, "review-loop")
        shown = page.locator("#review-retrain-command").inner_text().splitlines()
        command = next(line for line in shown if line.startswith("emotion-lens "))  # below the label and gutter
    assert watch.page_errors == []

    args = shlex.split(command)
    assert args[:2] == ["emotion-lens", "train"], command
    folder = Path(args[args.index("--data") + 1])
    assert len(pd.read_csv(folder / "validation.txt", sep=";", header=None, quoting=3)) == N - 1
    out = tmp_path / "retrained"
    args[args.index("--output-dir") + 1] = str(out)
    run = subprocess.run([sys.executable, "-m", "core.cli", *args[1:]], cwd=REPO, capture_output=True, text=True,
                         env={**OFFLINE_ENV, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    from core.classifier.model import load_classifier

    assert load_classifier(out).predict(["what a lovely day"]).probs.shape == (1, len(LABELS))
    _loads_in_compare(tiny_model_dir, out, folder, tmp_path)


def _loads_in_compare(model_a: Path, model_b: Path, data: Path, tmp_path: Path) -> None:
    """The retrained checkpoint as the Compare tab's model B against the served model, on the corrected data."""
    from core.analysis.compare import verdict
    from core.services.emotion import EmotionService
    from core.settings import Settings
    from dashboard.app import build_app

    settings = Settings(model=str(model_a), compare_model=str(model_b), data=str(data), split="validation",
                        splits=("validation",), cache_dir=tmp_path / "compare-cache",
                        review_db=str(tmp_path / "compare-reviews.sqlite"))
    service = EmotionService.load(settings, show_progress=False)
    assert service.has_compare and service.analyses.analysis("validation", "compare").meta["model"] == str(model_b)
    report = service.analyses.compare_report("validation")
    assert report.summary["rows"] == N - 1  # the corrected validation split: the ambiguous row dropped
    shown = {getattr(b, "elem_id", None): b for b in build_app(service).blocks.values()}
    assert shown["compare-verdict"].value == verdict(report.summary)  # the Compare tab, on the new checkpoint
