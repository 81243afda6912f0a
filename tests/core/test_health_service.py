"""The health service (core.services.health) on a tiny real model and real files: the data-health lists,
similar training tweets through the service, error slices, and the dashboard built with its views."""

from __future__ import annotations

import pytest

from core.services.live import InputError
from tests.conftest import split_lines, tiny_service


@pytest.fixture(scope="module")
def service(tiny_model_dir, tmp_path_factory):
    return tiny_service(tiny_model_dir, tmp_path_factory, "health", 80, split="train", splits=("train",))


def test_conflicting_duplicates_are_listed_with_their_rule(tiny_model_dir, tmp_path_factory):
    text = split_lines("validation", 1)[0].rsplit(";", 1)[0]
    from core.services.emotion import EmotionService
    from core.settings import Settings
    from tests.conftest import write_split_lines

    folder = write_split_lines(tmp_path_factory.mktemp("dup-data"), "validation", 40,
                               extra=(f"{text.upper()}!;surprise",))
    settings = Settings(model=str(tiny_model_dir), data=str(folder), split="validation",
                        cache_dir=tmp_path_factory.mktemp("dup-cache"),
                        review_db=str(tmp_path_factory.mktemp("dup-db") / "reviews.sqlite"))
    svc = EmotionService.load(settings, show_progress=False)
    rows = svc.health.issues("conflicting duplicates")
    assert rows["sample_id"].iloc[0] == 0 and rows["split"].iloc[0] == "validation"
    assert "rows 0, 40" in rows["detail"].iloc[0] and "labels " in rows["detail"].iloc[0]
    counts = svc.health.counts().set_index("issue")
    assert counts.loc["conflicting_duplicates", "validation"] == 2
    assert "equal texts" in svc.health.rules()["conflicting_duplicates"]
    with pytest.raises(ValueError, match="unknown issue kind"):
        svc.health.issues("typos")
    with pytest.raises(InputError, match="train split"):
        svc.health.similar("i feel fine")


def test_similar_through_the_service_finds_the_training_tweet_itself(service):
    table = service.analyses.table("train")
    sid = 11
    r = service.similar(table["text"].iloc[sid], 4)  # the EmotionService shortcut: similar(text, k)
    assert r.neighbours["sample_id"].iloc[0] == sid and len(r.neighbours) == 4
    again = service.health.similar_to_sample(sid, "train", 4)
    assert sid not in again.neighbours["sample_id"].tolist()  # a train row leaves itself out
    with pytest.raises(InputError, match="type a text"):
        service.health.similar("  ")


def test_slices_and_their_samples(service):
    slices = service.health.slices("train")
    assert {"rank", "name", "size", "p_adjusted"} <= set(slices.columns)
    if len(slices):
        first = slices.iloc[0]
        members = service.health.slice_samples(int(first["rank"]), "train")
        assert sorted(members.index.tolist()) == sorted(first["sample_ids"])  # index = sample id
    with pytest.raises(InputError, match="no slice ranked"):
        service.health.slice_samples(10_000, "train")


def test_the_dashboard_builds_with_the_health_views(service):
    from dashboard.app import build_app
    from dashboard.tabs.health import similar_of

    note, rows = similar_of(service, 5, "train")
    assert "nearest training tweets" in note and len(rows) == 8 and 5 not in rows["sample_id"].tolist()

    demo = build_app(service)
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"health-rows", "health-send", "slices-table", "similar-table", "similar-send"} <= ids
