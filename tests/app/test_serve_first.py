"""Serve first, analyse behind: the default split's analysis is served while the other splits are analysed, each
answering as soon as it is ready; before that a request on it says so, naming the split and the progress."""

from __future__ import annotations

import time

import httpx
import pytest

from bench.harness import sse_call, start_app, stop_app, wait_for_http
from core.services.emotion import EmotionService
from core.services.progress import SplitNotReady
from core.settings import Settings
from tests.conftest import LABELS, split_lines, write_split_lines

#: Rows of the split analysed behind in the server test: enough that its analysis outlasts a few requests.
BEHIND_ROWS = 6000


def _two_splits(folder, later_rows: int):
    write_split_lines(folder, "validation", 40)
    lines = (split_lines("train", later_rows) * (later_rows // 40 + 1))[:later_rows]  # "test" from train's lines
    (folder / "test.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_a_deferred_split_says_so_then_serves(tiny_model_dir, tmp_path, capsys):
    data = _two_splits(tmp_path / "data", 120)
    settings = Settings(model=str(tiny_model_dir), data=str(data), splits=("validation", "test"),
                        cache_dir=tmp_path / "cache", review_db=str(tmp_path / "reviews.sqlite"))
    service = EmotionService.load(settings, show_progress=False, defer_splits=True)
    assert service.splits == ["validation", "test"] and service.analyses.ready_splits == ["validation"]
    assert len(service.analyses.table("validation")) == 40
    with pytest.raises(SplitNotReady, match=r"The test split is still being analysed.*Analysing the test split"):
        service.analyses.analysis("test")
    with pytest.raises(SplitNotReady, match="test split"):
        service.reviews.queue("test")
    assert "test" in service.analyses.progress.line()
    admitted = service.reviews.rules().rows  # decisions synced for the test split are admitted already
    service.analyses.analyse_rest()
    test = service.analyses.analysis("test")
    assert admitted[test.review_key] == 120
    assert service.analyses.ready_splits == ["validation", "test"] and service.analyses.progress.line() == ""
    assert len(service.analyses.table("test")) == 120
    log = capsys.readouterr().err
    assert "Analysing the test split: inference" in log and "The test split is ready" in log


def _queue(url: str, split: str) -> tuple[str, object]:
    return sse_call(url, "review_queue", {"data": ["any", "any", split, 5, "", ""]}, timeout=60)


@pytest.mark.server  # python app.py, and a 6,000-row split analysed behind it: the slow tier
def test_a_real_server_answers_the_first_split_before_the_second_is_ready(tiny_model_dir, tmp_path):
    data = _two_splits(tmp_path / "data", BEHIND_ROWS)
    log = tmp_path / "app.log"
    proc, url = start_app(tiny_model_dir, data, tmp_path / "cache", log, review_db=tmp_path / "reviews.sqlite",
                          extra=["--splits", "validation,test"])
    try:
        wait_for_http(url, proc, log=log, timeout=300)
        config = httpx.get(url + "config", timeout=30).json()
        line = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "analysis-progress"]
        assert line and "test split" in line[0]["props"]["value"]  # the page names the split still analysed
        event, out = sse_call(url, "classify", {"data": ["i am so happy today"]}, timeout=60)
        assert event == "complete" and out[0]["label"] in LABELS
        event, rows = _queue(url, "validation")
        assert event == "complete" and len(rows[0]) == 5
        event, early = _queue(url, "test")
        assert event == "error", "the test split answered before its analysis could be done"
        message = str(early)
        assert "The test split is still being analysed" in message and "Analysing the test split" in message
        deadline = time.monotonic() + 300
        while event != "complete" and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(1)
            event, rows = _queue(url, "test")
        assert event == "complete" and len(rows[0]) == 5, rows
        text = log.read_text()
        assert "Analysing the test split" in text and "The test split is ready" in text
    finally:
        stop_app(proc)
