"""Bulk decisions on a real SQLite store: one event per row with a shared batch id, undo as new events that give
each row its previous current decision back, kept through a reopen, an upload and a sync; schema 4 migrates."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from core.review.batches import BatchError, batch_status, record_batch, undo_batch
from core.review.database import SCHEMA_VERSION
from core.review.decision import decision_from_event
from core.review.store import ReviewStore
from core.review.sync import ReviewSync
from core.review.trust import EventRules, import_upload

KEY = "0123456789abcdef:train"
LABELS = frozenset({"anger", "joy", "sadness", "fear", "love", "surprise"})
SPOT = {"action": "relabel", "k": 10, "hits": 10, "precision": 1.0, "lower": 0.7225, "threshold": 0.55}


def _rows(ids) -> list[dict]:
    return [{"sample_id": i, "old_label": "anger", "new_label": "joy", "text_hash": f"h{i}"} for i in ids]


def _apply(store: ReviewStore, ids=range(5), reviewer: str = "ana") -> str:
    batch, stored = record_batch(store, KEY, _rows(ids), action="relabel", reviewer=reviewer,
                                 record={"pattern": "negated:anger:angry", "spot_check": SPOT})
    assert len({d.event_id for d in stored}) == len(stored) and {d.batch for d in stored} == {batch}
    return batch


def _current(store: ReviewStore) -> dict[int, tuple]:
    return {int(r.sample_id): (r.action, r.new_label) for r in store.latest(KEY).itertuples()}


def test_each_row_is_its_own_event_carrying_the_batch_the_reviewer_and_the_spot_check(tmp_path: Path):
    store = ReviewStore(tmp_path / "r.sqlite")
    batch = _apply(store)
    history = store.history(KEY)
    assert len(history) == 5 and set(history["batch"]) == {batch} and set(history["reviewer"]) == {"ana"}
    record = json.loads(history["bulk"].iat[0])
    assert record["spot_check"]["lower"] == SPOT["lower"] and record["kind"] == "apply"
    assert _current(store) == {i: ("relabel", "joy") for i in range(5)}
    status = batch_status(store, KEY)
    assert status[["batch", "kind", "rows", "undone_by"]].values.tolist() == [[batch, "apply", 5, ""]]


def test_undo_restores_each_rows_previous_current_decision_and_survives_a_reopen(tmp_path: Path):
    db = tmp_path / "r.sqlite"
    store = ReviewStore(db)
    store.record(KEY, 1, action="ambiguous", old_label="anger")  # decided before the batch
    store.record(KEY, 2, action="keep", old_label="anger")
    store.record(KEY, 2, action="withdraw", old_label="anger")  # ... and taken back: undecided again
    before = _current(store)
    batch = _apply(store, ids=range(4))
    store.record(KEY, 3, action="relabel", old_label="anger", new_label="fear")  # a later decision wins
    undo, stored, kept = undo_batch(store, KEY, batch, reviewer="bo")
    assert kept == 1 and sorted(d.sample_id for d in stored) == [0, 1, 2]
    expected = {**before, 3: ("relabel", "fear")}
    assert _current(store) == expected
    assert store.history(KEY, 1)["action"].tolist() == ["ambiguous", "relabel", "ambiguous"]  # nothing rewritten
    store.close()
    again = ReviewStore(db)
    assert _current(again) == expected
    status = batch_status(again, KEY).set_index("batch")
    assert status.at[batch, "undone_by"] == undo and status.at[undo, "undoes"] == batch
    with pytest.raises(BatchError, match="undone already"):
        undo_batch(again, KEY, batch, reviewer="bo")
    with pytest.raises(BatchError, match="no batch"):
        undo_batch(again, KEY, "f" * 32, reviewer="bo")


def test_bulk_events_pass_the_upload_checks_like_any_decision(tmp_path: Path):
    source = ReviewStore(tmp_path / "a.sqlite")
    batch = _apply(source)
    undo_batch(source, KEY, batch, reviewer="ana")
    events = [{k: v for k, v in e.items() if k != "id"} for e in source.events()]
    data = "\n".join(json.dumps(e) for e in events).encode()

    trusted = ReviewStore(tmp_path / "b.sqlite")
    report = import_upload(trusted, data, rules=EventRules(labels=LABELS, rows={KEY: 100}, uploader="ana"))
    assert report.added == 10 and _current(trusted) == {}  # the batch and its undo
    assert set(trusted.history(KEY)["batch"].dropna()) == {batch, *batch_status(source, KEY)["batch"]}

    refused = import_upload(ReviewStore(tmp_path / "c.sqlite"), data,
                            rules=EventRules(labels=LABELS, rows={KEY: 100}, uploader="someone else"))
    assert refused.refused == 10 and "upload is by 'someone else'" in refused.reasons()[0]
    aside_store = ReviewStore(tmp_path / "d.sqlite")
    aside = import_upload(aside_store, data, rules=EventRules(labels=LABELS, rows={"other:train": 100}))
    assert aside.set_aside == 10 and len(aside_store.set_aside()) == 10 and aside_store.count() == 0

    broken = [dict(events[0], event_id="b" * 32, bulk="not json"), dict(events[1], event_id="c" * 32, batch=None),
              dict(events[2], event_id="d" * 32, batch="x")]
    bad = import_upload(ReviewStore(tmp_path / "e.sqlite"), "\n".join(map(json.dumps, broken)).encode(),
                        rules=EventRules(labels=LABELS, rows={KEY: 100}))
    assert bad.refused == 3
    assert [r.split(": ", 1)[1] for r in bad.reasons()] == [
        "bulk is not JSON", "a bulk record belongs to a batch decision; batch is missing",
        "batch must be 8 to 64 letters or digits, got 'x'"]


def test_a_sync_carries_the_batch_and_its_undo_to_a_fresh_replica(tmp_path: Path):
    store = ReviewStore(tmp_path / "r.sqlite")
    store.record(KEY, 0, action="keep", old_label="anger")
    batch = _apply(store, ids=range(3))
    undo_batch(store, KEY, batch, reviewer="ana")
    rules = EventRules(labels=LABELS, rows={KEY: 100})
    target = (tmp_path / "target").as_uri()
    ReviewSync(store, target, every_s=3600, rules=rules).sync_now()
    fresh = ReviewStore(tmp_path / "fresh" / "r.sqlite")  # a Space restarted on an empty disk
    ReviewSync(fresh, target, every_s=3600, rules=rules).start().close()
    assert _current(fresh) == _current(store) == {0: ("keep", "anger")}
    assert batch_status(fresh, KEY).set_index("batch").at[batch, "undone_by"] != ""


def test_old_events_still_load_and_a_schema_4_file_gains_the_batch_columns(tmp_path: Path):
    old_event = {"event_id": "a1b2c3d4", "time": "2024-01-01T00:00:00+00:00", "dataset_key": KEY, "sample_id": 3,
                 "action": "withdraw", "old_label": "joy"}
    d = decision_from_event(old_event)
    assert (d.batch, d.bulk) == (None, None)
    db = tmp_path / "r.sqlite"
    store = ReviewStore(db)
    store.record(KEY, 1, action="keep", old_label="joy")
    store.close()
    with sqlite3.connect(db) as conn:  # back to schema 4: no batch or bulk column
        conn.execute("DROP INDEX decisions_by_batch")
        conn.execute("ALTER TABLE decisions DROP COLUMN bulk")
        conn.execute("ALTER TABLE decisions DROP COLUMN batch")
        conn.execute("UPDATE schema_version SET version = 4")
    again = ReviewStore(db)
    assert again.latest(KEY)["sample_id"].tolist() == [1] and again.latest(KEY)["batch"].isna().all()
    again.import_events([old_event])
    _apply(again, ids=[5])
    assert len(again.history(KEY)) == 3
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 5
