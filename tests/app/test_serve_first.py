"""Serve first, analyse behind: the server listens at once, every split not cached is analysed behind it (the
default split first), each answering as soon as it is ready; before that a request on it says so, naming the
split and the progress."""

from __future__ import annotations

import time

import httpx
import pytest

from bench.harness import sse_call, start_app, stop_app, wait_for_http
from core.services.emotion import EmotionService
from core.services.progress import ALL_READY, SplitNotReady
from core.settings import Settings
from tests.conftest import LABELS, split_lines, write_split_lines

#: Rows of the two splits analysed behind in the server test: enough that each analysis outlasts a few requests.
FIRST_ROWS = 4000
BEHIND_ROWS = 6000


def _two_splits(folder, later_rows: int):
    write_split_lines(folder, "validation", 40)
    lines = (split_lines("train", later_rows) * (later_rows // 40 + 1))[:later_rows]  # "test" from train's lines
    (folder / "test.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_every_split_not_cached_is_analysed_behind_then_served(tiny_model_dir, tmp_path, capsys):
    data = _two_splits(tmp_path / "data", 120)
    settings = Settings(model=str(tiny_model_dir), data=str(data), splits=("validation", "test"),
                        cache_dir=tmp_path / "cache", review_db=str(tmp_path / "reviews.sqlite"))
    service = EmotionService.load(settings, defer_model=True, show_progress=False, defer_splits=True)
    assert not service.live.classifier.is_loaded  # nothing cached: nothing loaded before serving
    assert service.splits == ["validation", "test"] and service.analyses.ready_splits == []
    with pytest.raises(SplitNotReady, match=r"The validation split is still being analysed.*waiting to start"):
        service.analyses.analysis()  # the default split too
    with pytest.raises(SplitNotReady, match="test split"):
        service.reviews.queue("test")
    assert "validation, test" in service.analyses.progress.line()
    rules = service.reviews.rules()  # decisions synced for a split not analysed yet are admitted already
    admitted = rules.rows
    assert set(rules.labels) == set(LABELS)  # the model's labels, known before any split is analysed
    service.analyses.analyse_rest()
    test = service.analyses.analysis("test")
    assert admitted[test.review_key] == 120
    assert service.analyses.ready_splits == ["validation", "test"] and service.analyses.progress.line() == ""
    assert len(service.analyses.table()) == 40 and len(service.analyses.table("test")) == 120
    log = capsys.readouterr().err
    assert "Analysing the validation split: inference" in log and "The test split is ready" in log

    again = EmotionService.load(settings, defer_model=True, show_progress=False, defer_splits=True)
    assert again.analyses.ready_splits == ["validation", "test"] and again.analyses.progress.pending == []
    assert not again.live.classifier.is_loaded  # read from the cache without the model


def _queue(url: str, split: str) -> tuple[str, object]:
    return sse_call(url, "review_queue", {"data": ["any", "any", split, 5, "", ""]}, timeout=60)


def _still_analysed(event: str, out, split: str) -> bool:
    message = str(out)
    return (event == "error" and f"The {split} split is still being analysed" in message
            and f"Analysing the {split} split" in message)


def _wait_for(url: str, split: str, proc, *, timeout: float = 300) -> tuple[str, object]:
    deadline = time.monotonic() + timeout
    event, rows = _queue(url, split)
    while event != "complete" and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(1)
        event, rows = _queue(url, split)
    return event, rows


@pytest.mark.server
def test_a_real_server_on_an_empty_cache_answers_before_any_split_is_ready(tiny_model_dir, tmp_path):
    data = _two_splits(tmp_path / "data", BEHIND_ROWS)
    lines = (split_lines("validation", FIRST_ROWS) * (FIRST_ROWS // 40 + 1))[:FIRST_ROWS]
    (data / "validation.txt").write_text("\n".join(lines) + "\n")
    log = tmp_path / "app.log"
    proc, url = start_app(tiny_model_dir, data, tmp_path / "cache", log, review_db=tmp_path / "reviews.sqlite",
                          extra=["--splits", "validation,test"])
    try:
        wait_for_http(url, proc, log=log, timeout=300, analysed=False)
        config = httpx.get(url + "config", timeout=30).json()
        line = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "analysis-progress"]
        assert line and "validation, test splits" in line[0]["props"]["value"]  # the page says what is analysed
        event, out = sse_call(url, "classify", {"data": ["i am so happy today"]}, timeout=120)
        assert event == "complete" and out[0]["label"] in LABELS
        event, early = _queue(url, "validation")
        assert _still_analysed(event, early, "validation"), "the first split answered before it could be analysed"
        event, rows = _wait_for(url, "validation", proc)
        assert event == "complete" and len(rows[0]) == 5, rows
        event, early = _queue(url, "test")
        assert _still_analysed(event, early, "test"), "the second split answered before it could be analysed"
        event, rows = _wait_for(url, "test", proc)
        assert event == "complete" and len(rows[0]) == 5, rows
        text = log.read_text()
        assert "analysed behind the server: validation, test" in text
        assert text.index("The validation split is ready") < text.index("The test split is ready") < text.index(
            ALL_READY)
    finally:
        stop_app(proc)
