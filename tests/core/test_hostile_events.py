"""Issue 26's target: hostile or odd decision events through the upload and a real file:// sync target.

A real service (tiny model, real split, real SQLite) in ``login`` access with the allow-list ``ana,bo``.
Each path gets the whole corpus (tests/core/hostile_events.py) beside real decisions. Afterwards no
current decision breaks the rules, every export works and loads back, and no real decision is lost.
Run with ``-s`` to print the outcome table.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.data.splits import load_splits
from core.review.access import Caller
from core.review.store import ReviewStore
from core.review.sync import ReviewSync
from core.review.trust import SKEW_S, ImportReport
from tests.conftest import tiny_service
from tests.core.hostile_events import corpus, markdown_table

ANA = Caller(profile_username="ana")


@pytest.fixture(scope="module")
def upload_service(tiny_model_dir, tmp_path_factory):
    return tiny_service(tiny_model_dir, tmp_path_factory, "hostile-upload", 40, review_access="login",
                        reviewers="ana,bo", batch_size=16)


def _entries(service, real) -> list:
    a = service.analysis()
    return corpus(a.review_key, service.labels, a.table["label"].astype(str).tolist(), real.to_event())


def _check_outcomes(report: ImportReport, entries: list, path: str) -> list[tuple[str, str, str, str]]:
    """The report's rows named by corpus entry; each must be the entry's expected outcome on ``path``."""
    assert len(report.rows) == len(entries)
    rows = []
    for entry, (_, _, outcome, reason) in zip(entries, report.rows, strict=True):
        assert outcome == getattr(entry, path), f"{entry.name} on {path}: {outcome} ({reason})"
        rows.append((entry.name, path, outcome, reason))
    return rows


def _assert_sound(service, real_ids: set[str], reviewers: set[str], tmp: Path) -> None:
    """No current decision against the rules; every export works; every real decision kept."""
    a = service.analysis()
    latest = service.review_decisions()
    now = datetime.now(timezone.utc) + timedelta(seconds=SKEW_S)
    for _, d in latest.iterrows():
        assert d["dataset_key"] == a.review_key and 0 <= d["row"] < len(a.table)
        assert d["old_label"] in service.labels and d["new_label"] in (*service.labels, None)
        assert datetime(2000, 1, 1, tzinfo=timezone.utc) <= datetime.fromisoformat(d["time"]) <= now
        assert d["reviewer"].casefold() in reviewers and len(d["note"]) <= 10_000
    assert real_ids <= {e["event_id"] for e in service.reviews.events()}
    for kind in ("csv", "jsonl"):
        path, _ = service.review_export(kind, folder=tmp / kind, caller=ANA)
        assert path.stat().st_size > 0
    path, line = service.review_export("split", folder=tmp / "split", caller=ANA)
    back = load_splits(path.parent, splits=(a.split,)).frame(a.split)
    assert len(back) == len(a.table) - int(latest["action"].isin(["ambiguous", "not_emotion"]).sum()), line


def test_every_hostile_event_through_the_upload(upload_service, tmp_path) -> None:
    service = upload_service
    real = [service.review_decide(0, "keep", caller=ANA), service.review_decide(7, "ambiguous", caller=ANA)]
    entries = _entries(service, real[0])
    data = b"\n".join(e.line for e in entries) + b"\n\n"
    report = service.reviews.import_upload(data, caller=ANA)
    rows = _check_outcomes(report, entries, "upload")
    after = service.review_decide(1, "keep", caller=ANA)  # the case: a real keep after the upload
    assert service.review_decisions().set_index("row").loc[1, "event_id"] == after.event_id
    _assert_sound(service, {d.event_id for d in [*real, after]}, {"ana"}, tmp_path)
    assert service.reviews.store.set_aside()["event_id"].tolist() == [
        e for _, e, o, _ in report.rows if o == "set aside"]
    print("\n" + markdown_table(rows))


def test_every_hostile_event_through_a_sync_target(upload_service, tiny_model_dir, tmp_path) -> None:
    target = tmp_path / "target"
    a = upload_service.analysis()
    elsewhere = ReviewStore(tmp_path / "elsewhere.sqlite")  # another replica's real decisions
    real = [elsewhere.record(a.review_key, i, action="keep", old_label=str(a.table["label"].iat[i]), reviewer="bo")
            for i in (0, 8, 9)]
    ReviewSync(elsewhere, target.as_uri(), every_s=3600, rules=upload_service.reviews.rules()).close()
    entries = _entries(upload_service, real[0])
    (target / "events" / "zz-hostile.jsonl").write_bytes(b"\n".join(e.line for e in entries) + b"\n")

    from core.services.emotion import EmotionService

    settings = dataclasses.replace(upload_service.settings, review_db=str(tmp_path / "replica.sqlite"),
                                   review_sync=target.as_uri(), review_sync_every=3600.0)
    service = EmotionService.load(settings, show_progress=False)
    sync = service.reviews.start_sync()
    assert sync is not None and sync.last_error is None
    report = sync.flagged["zz-hostile.jsonl"]
    rows = _check_outcomes(report, entries, "sync")
    assert sync.counts.refused == report.refused and f"{report.refused} refused" in sync.status()
    mine = service.review_decide(1, "keep", caller=Caller(profile_username="bo"))
    assert sync.sync_now() and sync.pending() == 0
    _assert_sound(service, {d.event_id for d in real} | {mine.event_id}, {"ana", "bo", ""}, tmp_path)
    sync.close()
    print("\n" + markdown_table(rows))
