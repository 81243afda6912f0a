"""Review state is tied to a split: a decision lands only on the row the reviewer saw.

The whole app (build_app) on a real service with two analysed splits of the tiny model, ``validation``
and ``train`` holding the same lines (so both queues rank the same sample ids first), runs in one
emulated page (:mod:`tests.dashboard.frontend_session`: the real handlers, scheduled as Gradio's
frontend schedules them).
"""

from __future__ import annotations

import gradio as gr
import pytest

from tests.conftest import split_lines
from tests.dashboard.frontend_session import FrontendSession

ROWS = 30


@pytest.fixture(scope="module")
def two_splits(tiny_model_dir, tmp_path_factory):
    """(data folder, cache folder): validation and train with the same 30 lines, analysed once."""
    data = tmp_path_factory.mktemp("two-splits-data")
    lines = "\n".join(split_lines("validation", ROWS)) + "\n"
    for split in ("validation", "train"):
        (data / f"{split}.txt").write_text(lines)
    return data, tmp_path_factory.mktemp("two-splits-cache")


@pytest.fixture
def app(two_splits, tiny_model_dir, tmp_path):
    """(service, demo) with an empty review database of its own."""
    from core.services.emotion import EmotionService
    from core.settings import Settings
    from dashboard.app import build_app

    data, cache = two_splits
    settings = Settings(model=str(tiny_model_dir), data=str(data), splits=("validation", "train"),
                        cache_dir=cache, review_db=str(tmp_path / "reviews.sqlite"))
    service = EmotionService.load(settings, show_progress=False)
    return service, build_app(service)


def by_id(demo: gr.Blocks, elem_id: str):
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)


def loaded_page(demo: gr.Blocks, name: str) -> FrontendSession:
    page = FrontendSession(demo, session_hash=name)
    page.load()
    assert page.settle()
    return page


def decided(service, split: str) -> list[int]:
    return sorted(int(r) for r in service.reviews.decisions(split)["row"])


def test_keep_pressed_before_the_queue_reloads_records_nothing(app):
    service, demo = app
    page = loaded_page(demo, "keep-race")
    shown = page.value(by_id(demo, "review-sample-text"))
    head = int(service.reviews.queue("validation", limit=1).index[0])
    assert shown == service.analyses.sample(head, "validation")["text"]
    page.set(by_id(demo, "split-select"), "train", fire=False)  # switched; the reload not sent yet
    page.click(by_id(demo, "review-keep"))
    assert page.settle()
    assert decided(service, "train") == [] and decided(service, "validation") == []
    assert "nothing recorded" in page.value(by_id(demo, "review-status"))
    # the train queue is shown now; a keep lands on the train row shown
    shown = page.value(by_id(demo, "review-sample-text"))
    page.click(by_id(demo, "review-keep"))
    assert page.settle()
    [row] = decided(service, "train")
    assert service.analyses.sample(row, "train")["text"] == shown
    assert decided(service, "validation") == []


def test_skips_in_one_split_do_not_hide_rows_in_another(app):
    service, demo = app
    page = loaded_page(demo, "skips")
    head = int(service.reviews.queue("validation", limit=1).index[0])
    page.click(by_id(demo, "review-skip"))
    assert page.settle()
    history = service.reviews.decisions("validation", which="history")
    assert history[["row", "action"]].to_dict("records") == [{"row": head, "action": "skip"}]
    assert page.value(by_id(demo, "review-sample-text")) != service.analyses.sample(head, "validation")["text"]
    page.set(by_id(demo, "split-select"), "train")
    assert page.settle()
    train_head = int(service.reviews.queue("train", limit=1).index[0])
    assert train_head == head  # the same lines rank the same: the skipped id heads the train queue too
    assert page.value(by_id(demo, "review-sample-text")) == service.analyses.sample(train_head, "train")["text"]
    assert page.errors == []


def test_send_to_review_after_a_split_change_never_opens_another_text(app):
    service, demo = app
    page = loaded_page(demo, "send")
    table = by_id(demo, "loss-table")
    worst = service.analyses.samples("validation", order="highest loss").iloc[0]
    sample_id = int(worst.name)
    page.select(table, index=[0, 0], value=sample_id, row_value=[sample_id])
    assert page.settle()
    opened = page.value(by_id(demo, "loss-sample-text"))
    assert opened == worst["text"]
    before = page.value(by_id(demo, "review-sample-text"))

    page.set(by_id(demo, "split-select"), "train", fire=False)  # the panel still shows the validation sample
    page.click(by_id(demo, "loss-send-review"))
    assert page.settle()
    assert any("from the validation split" in e for e in page.errors), page.errors
    assert page.value(by_id(demo, "review-sample-text")) == before  # nothing else opened

    page.set(by_id(demo, "split-select"), "train")  # the change reaches the server: the panel empties
    assert page.settle()
    assert page.value(by_id(demo, "loss-sample-text")) == ""
    page.select(table, index=[0, 0], value=sample_id, row_value=[sample_id])
    assert page.settle()
    page.click(by_id(demo, "loss-send-review"))
    assert page.settle()
    assert page.value(by_id(demo, "review-sample-text")) == service.analyses.sample(sample_id, "train")["text"]


def test_a_broken_review_database_gets_a_clear_message(two_splits, tiny_model_dir, tmp_path):
    from core.services.emotion import EmotionService
    from core.settings import Settings
    from dashboard.app import build_app

    data, cache = two_splits
    broken = tmp_path / "reviews.sqlite"
    broken.write_bytes(b"this is not a SQLite database\n" * 100)
    settings = Settings(model=str(tiny_model_dir), data=str(data), splits=("validation", "train"),
                        cache_dir=cache, review_db=str(broken))
    demo = build_app(EmotionService.load(settings, show_progress=False))
    page = loaded_page(demo, "broken-db")
    page.click(by_id(demo, "review-keep"))
    assert page.settle()
    message = "The review database could not be used, so nothing was recorded"
    assert [e.split(":")[0] for e in page.errors] == ["next_sample", "handler"], page.errors  # the queue, then the keep
    assert all(message in e and "file is not a database" in e for e in page.errors), page.errors
