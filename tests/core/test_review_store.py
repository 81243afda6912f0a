"""ReviewStore: decisions survive restarts, kill -9 and concurrent writers, on real SQLite files."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.review.store import ACTIONS, SCHEMA_VERSION, ReviewStore, ReviewStoreError

REPO = Path(__file__).resolve().parents[2]
KEY = "model-abc:data-def:validation"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "reviews.sqlite"


@pytest.fixture
def store(db: Path) -> ReviewStore:
    return ReviewStore(db)


def _child(code: str) -> subprocess.Popen:
    """A Python child that can import ``core``; its stdout is a pipe of text lines."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=REPO)


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


# ---------------------------------------------------------------------------------------------
# Recording and reading


def test_record_returns_the_stored_decision(store: ReviewStore) -> None:
    d = store.record(KEY, 7, action="relabel", old_label="joy", new_label="love", reviewer="ana", note="clearly love")
    assert (d.dataset_key, d.sample_id, d.action, d.old_label, d.new_label) == (KEY, 7, "relabel", "joy", "love")
    assert (d.reviewer, d.note) == ("ana", "clearly love")
    assert d.time.endswith("+00:00") and d.id >= 1
    row = store.history(KEY).iloc[0]
    assert row["id"] == d.id and row["time"] == d.time and row["new_label"] == "love"


def test_keep_stores_the_old_label_as_new_and_ambiguous_none(store: ReviewStore) -> None:
    assert store.record(KEY, 0, action="keep", old_label="joy").new_label == "joy"
    assert store.record(KEY, 1, action="ambiguous", old_label="joy").new_label is None
    assert store.record(KEY, 2, action="skip", old_label="joy").new_label is None


def test_latest_is_the_last_non_skip_action_per_sample(store: ReviewStore) -> None:
    store.record(KEY, 3, action="relabel", old_label="joy", new_label="love")
    store.record(KEY, 3, action="keep", old_label="joy")  # a second tab, later: this one is current
    store.record(KEY, 5, action="ambiguous", old_label="fear")
    store.record(KEY, 5, action="skip", old_label="fear")  # a skip does not undo a decision
    store.record(KEY, 9, action="skip", old_label="anger")  # skipped only: not reviewed
    store.record("another-analysis", 1, action="keep", old_label="joy")

    latest = store.latest(KEY)
    assert latest["sample_id"].tolist() == [3, 5]
    assert latest["action"].tolist() == ["keep", "ambiguous"]
    assert store.reviewed_count(KEY) == 2
    assert store.reviewed_ids(KEY) == {3, 5}
    assert store.history(KEY)["action"].tolist() == ["relabel", "keep", "ambiguous", "skip", "skip"]
    assert store.history(KEY, 5)["action"].tolist() == ["ambiguous", "skip"]
    assert store.reviewed_count("another-analysis") == 1


def test_empty_store_gives_empty_typed_frames(store: ReviewStore) -> None:
    latest = store.latest(KEY)
    assert latest.empty and list(latest.columns)[:4] == ["id", "time", "dataset_key", "sample_id"]
    assert str(latest["sample_id"].dtype) == "int64"
    assert store.history(KEY).empty
    assert store.reviewed_count(KEY) == 0 and store.reviewed_ids(KEY) == set()


# ---------------------------------------------------------------------------------------------
# Validation


def test_unknown_action_names_the_choices(store: ReviewStore) -> None:
    with pytest.raises(ValueError, match="unknown action 'delete'") as err:
        store.record(KEY, 0, action="delete", old_label="joy")
    assert all(a in str(err.value) for a in ACTIONS)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"action": "relabel", "old_label": "joy", "new_label": "joy"}, "different from the old label"),
        ({"action": "relabel", "old_label": "joy"}, "needs a new_label"),
        ({"action": "keep", "old_label": "joy", "new_label": "love"}, "use 'relabel'"),
        ({"action": "ambiguous", "old_label": "joy", "new_label": "love"}, "takes no new_label"),
        ({"action": "keep", "old_label": ""}, "old_label"),
    ],
)
def test_inconsistent_labels_are_rejected(store: ReviewStore, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        store.record(KEY, 0, **kwargs)
    assert store.history(KEY).empty


@pytest.mark.parametrize("sample_id", [-1, 1.5, "3", True])
def test_bad_sample_ids_are_rejected(store: ReviewStore, sample_id: object) -> None:
    with pytest.raises(ValueError, match="sample_id"):
        store.record(KEY, sample_id, action="keep", old_label="joy")  # type: ignore[arg-type]


def test_numpy_integer_sample_ids_are_accepted(store: ReviewStore) -> None:
    import numpy as np

    assert store.record(KEY, np.int64(4), action="keep", old_label="joy").sample_id == 4


# ---------------------------------------------------------------------------------------------
# Files


def test_decisions_persist_across_a_new_store(db: Path) -> None:
    first = ReviewStore(db)
    for i in range(5):
        first.record(KEY, i, action="relabel", old_label="joy", new_label="sadness", reviewer="ana")
    del first
    again = ReviewStore(db)
    assert again.reviewed_ids(KEY) == set(range(5))
    assert (again.latest(KEY)["new_label"] == "sadness").all()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_missing_folders_are_created(tmp_path: Path) -> None:
    store = ReviewStore(tmp_path / "cache" / "emotion-lens" / "reviews.sqlite")
    store.record(KEY, 0, action="keep", old_label="joy")
    assert store.path.is_file()


def test_folder_that_cannot_exist_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(ReviewStoreError, match="cannot create the folder"):
        ReviewStore(blocker / "reviews.sqlite")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ReviewStoreError, match="not writable"):
            ReviewStore(folder / "reviews.sqlite")
    finally:
        folder.chmod(0o700)


def test_a_folder_path_or_a_foreign_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReviewStoreError, match="is a folder"):
        ReviewStore(tmp_path)
    foreign = tmp_path / "notes.sqlite"
    foreign.write_text("these are not the decisions you are looking for\n" * 100)
    with pytest.raises(ReviewStoreError, match="cannot open the review database"):
        ReviewStore(foreign)


def test_a_newer_schema_is_refused(db: Path) -> None:
    ReviewStore(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(ReviewStoreError, match="newer"):
        ReviewStore(db)


# ---------------------------------------------------------------------------------------------
# Crashes and concurrency


def test_kill_9_loses_no_committed_decision(db: Path) -> None:
    code = (
        "import sys\n"
        "from core.review.store import ReviewStore\n"
        f"store = ReviewStore({str(db)!r})\n"
        "for i in range(100_000):\n"
        f"    d = store.record({KEY!r}, i, action='relabel', old_label='joy', new_label='love', note='n' * 200)\n"
        "    print(d.sample_id, flush=True)\n"
    )
    child = _child(code)
    assert child.stdout is not None
    reported: list[int] = []
    for line in child.stdout:
        reported.append(int(line))
        if len(reported) == 40:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(timeout=60)
    # read through the same buffered file the loop read from: communicate() would read the pipe beneath it and
    # miss lines the loop had already buffered (a decision committed but never counted as reported)
    rest, err = child.stdout.read(), child.stderr.read() if child.stderr else ""
    reported += [int(x) for x in rest.split()]
    assert child.returncode == -signal.SIGKILL, err
    assert len(reported) < 100_000, "the child finished before it was killed"

    assert _integrity(db) == "ok"
    store = ReviewStore(db)
    stored = store.reviewed_ids(KEY)
    assert set(reported) <= stored
    assert stored <= set(range(max(reported) + 2))  # at most the one in flight beyond the last report
    store.record(KEY, 0, action="keep", old_label="joy")  # still writable after the crash


def test_two_threads_lose_no_decision(store: ReviewStore, db: Path) -> None:
    second = ReviewStore(db)  # a second tab may hold its own store on the same file
    start = threading.Barrier(2)

    def review(s: ReviewStore, name: str, offset: int) -> None:
        start.wait()
        for i in range(200):
            s.record(KEY, offset + i, action="keep", old_label="joy", reviewer=name)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(review, store, "tab-a", 0), pool.submit(review, second, "tab-b", 100)]
    for future in futures:
        future.result()  # re-raises a worker's error
    history = store.history(KEY)
    assert len(history) == 400
    assert history["reviewer"].value_counts().to_dict() == {"tab-a": 200, "tab-b": 200}
    assert store.reviewed_count(KEY) == 300  # samples 100..199 were reviewed by both
    assert history["id"].is_unique


def test_two_processes_lose_no_decision(db: Path) -> None:
    ReviewStore(db)
    go = db.parent / "go"
    code = (
        "import os, sys, time\n"
        "from core.review.store import ReviewStore\n"
        f"store = ReviewStore({str(db)!r})\n"
        "name = sys.argv[1]\n"
        f"while not os.path.exists({str(go)!r}):\n"
        "    time.sleep(0.005)\n"
        "for i in range(200):\n"
        f"    store.record({KEY!r}, i, action='ambiguous', old_label='fear', reviewer=name)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [subprocess.Popen([sys.executable, "-c", code, name], env=env, cwd=REPO, stderr=subprocess.PIPE,
                                 text=True) for name in ("proc-a", "proc-b")]
    go.touch()
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err

    history = ReviewStore(db).history(KEY)
    assert len(history) == 400
    assert history["reviewer"].value_counts().to_dict() == {"proc-a": 200, "proc-b": 200}
    assert _integrity(db) == "ok"


# ---------------------------------------------------------------------------------------------
# Schema 2: audit fields, events, migration from schema 1

V1_SCHEMA = (Path(__file__).parents[1] / "data" / "review_store_v1.sql").read_text()  # schema 1's DDL
LEGACY = "0123456789abcdef:fedcba9876543210:validation"


def _v1_database(path: Path, n: int = 30) -> list[tuple]:
    """A schema-1 file as the previous code wrote it (its DDL, verbatim); returns its rows."""
    actions = ["keep", "relabel", "ambiguous", "skip"]
    rows = []
    for i in range(n):
        action = actions[i % 4]
        new = {"keep": "joy", "relabel": "love"}.get(action)
        key = LEGACY if i % 3 else "aaaaaaaaaaaaaaaa:bbbbbbbbbbbbbbbb:train"
        rows.append((i + 1, f"2026-01-01T00:00:{i:02d}.000000+00:00", key, i % 7, action, "joy", new, f"r{i % 2}",
                     f"note {i}"))
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SCHEMA)
        conn.executemany("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return rows


def test_record_stores_the_audit_fields_and_a_unique_event_id(store: ReviewStore) -> None:
    a = store.record(KEY, 1, action="relabel", old_label="joy", new_label="love", text_hash="ab" * 8,
                     model_fingerprint="m1", model_pred="joy")
    b = store.record(KEY, 1, action="keep", old_label="joy")
    assert (a.text_hash, a.model_fingerprint, a.model_pred) == ("ab" * 8, "m1", "joy")
    assert (b.text_hash, b.model_fingerprint, b.model_pred) == (None, "", None)
    assert len(a.event_id) == 32 and a.event_id != b.event_id
    row = store.history(KEY).iloc[0]
    assert (row["event_id"], row["text_hash"], row["model_pred"]) == (a.event_id, "ab" * 8, "joy")


def test_migration_from_schema_1_keeps_every_row_and_is_idempotent(db: Path) -> None:
    rows = _v1_database(db)
    store = ReviewStore(db)
    events = store.events()
    assert len(events) == len(rows)
    for old, new in zip(rows, events, strict=True):
        assert (new["id"], new["time"], new["dataset_key"], new["sample_id"], new["action"], new["old_label"],
                new["new_label"], new["reviewer"], new["note"]) == old
        assert new["model_fingerprint"] == old[2].split(":")[0]
        assert new["text_hash"] is None and new["model_pred"] is None
    assert len({e["event_id"] for e in events}) == len(rows)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert _integrity(db) == "ok"

    again = ReviewStore(db)  # opening a migrated file changes nothing
    assert again.events() == events
    copy = db.parent / "copy.sqlite"  # a second copy of the same old file migrates to the same events
    _v1_database(copy)
    assert [e["event_id"] for e in ReviewStore(copy).events()] == [e["event_id"] for e in events]
    again.record(LEGACY, 0, action="keep", old_label="joy")
    assert again.events()[-1]["id"] == len(rows) + 1


def test_rekey_moves_legacy_rows_to_the_data_key(db: Path) -> None:
    _v1_database(db)
    store = ReviewStore(db)
    before = store.latest(LEGACY)
    moved = store.rekey(LEGACY, "fedcba9876543210:validation")
    assert moved == len(store.history("fedcba9876543210:validation")) > 0
    assert store.history(LEGACY).empty
    after = store.latest("fedcba9876543210:validation")
    assert after.drop(columns="dataset_key").equals(before.drop(columns="dataset_key"))
    assert store.rekey(LEGACY, "fedcba9876543210:validation") == 0  # idempotent
    assert store.reviewed_count("aaaaaaaaaaaaaaaa:bbbbbbbbbbbbbbbb:train") > 0  # other keys untouched


def test_events_round_trip_into_another_store_idempotently(tmp_path: Path) -> None:
    a, b = ReviewStore(tmp_path / "a.sqlite"), ReviewStore(tmp_path / "b.sqlite")
    for i in range(5):
        a.record(KEY, i, action="relabel", old_label="joy", new_label="fear", reviewer="ana", text_hash=f"{i:016x}")
    events = a.events()
    json.dumps(events)  # JSON-able
    assert b.import_events(events) == 5
    assert b.import_events(events) == 0  # idempotent by event_id
    mine = b.record(KEY, 9, action="keep", old_label="joy")
    got = b.events()
    assert [e["event_id"] for e in got[:5]] == [e["event_id"] for e in events]
    for original, copied in zip(events, got, strict=False):
        assert {k: v for k, v in copied.items() if k != "id"} == {k: v for k, v in original.items() if k != "id"}
    assert got[-1]["event_id"] == mine.event_id
    assert [e["id"] for e in b.events(after_id=got[2]["id"])] == [e["id"] for e in got[3:]]


def test_a_bad_event_imports_nothing_and_says_which(store: ReviewStore) -> None:
    good = {"event_id": "a" * 32, "time": "2026-01-01T00:00:00+00:00", "dataset_key": KEY, "sample_id": 1,
            "action": "keep", "old_label": "joy"}
    for bad, match in [({**good, "event_id": "b" * 32, "action": "delete"}, "unknown action"),
                       ({**good, "event_id": "c" * 32, "time": "yesterday"}, "ISO 8601"),
                       ({**good, "event_id": "../../x"}, "event_id"),
                       ({k: v for k, v in good.items() if k != "old_label"}, "missing")]:
        with pytest.raises(ValueError, match=f"event 2: .*{match}"):
            store.import_events([good, bad])
    assert store.count() == 0


def test_the_last_recorded_decision_is_current_whatever_time_an_imported_event_claims(store: ReviewStore) -> None:
    forged = {"event_id": "f" * 32, "time": "2099-12-31T00:00:00+00:00", "dataset_key": KEY, "sample_id": 3,
              "action": "relabel", "old_label": "joy", "new_label": "love"}
    store.import_events([forged])
    real = store.record(KEY, 3, action="keep", old_label="joy")  # recorded after the import, earlier "time"
    assert real.time < forged["time"]
    assert store.latest(KEY)["event_id"].tolist() == [real.event_id]
    assert store.history(KEY, 3)["event_id"].tolist() == ["f" * 32, real.event_id]  # recorded order
    old = {**forged, "event_id": "e" * 32, "time": "2001-01-01T00:00:00+00:00", "action": "ambiguous",
           "new_label": None}
    store.import_events([old])  # recorded last here, though its time is the oldest
    assert store.latest(KEY)["event_id"].tolist() == ["e" * 32]


def test_unsynced_and_mark_synced_track_each_target(store: ReviewStore) -> None:
    ds = [store.record(KEY, i, action="keep", old_label="joy") for i in range(3)]
    assert [e["event_id"] for e in store.unsynced("t1")] == [d.event_id for d in ds]
    store.mark_synced("t1", [ds[0].event_id, ds[1].event_id])
    assert [e["event_id"] for e in store.unsynced("t1")] == [ds[2].event_id]
    assert len(store.unsynced("t2")) == 3
    assert "id" not in store.unsynced("t2")[0]
    imported = {**ds[0].to_event(), "event_id": "f" * 32}
    store.import_events([imported], synced_to="t1")
    assert [e["event_id"] for e in store.unsynced("t1")] == [ds[2].event_id]


def test_a_schema_2_file_is_migrated_with_every_row_and_takes_audit_decisions(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.executescript("""
        CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (2);
        CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, dataset_key TEXT NOT NULL,
            sample_id INTEGER NOT NULL, action TEXT NOT NULL CHECK (action IN ('keep','relabel','ambiguous','skip')),
            old_label TEXT NOT NULL, new_label TEXT, reviewer TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
            event_id TEXT NOT NULL UNIQUE, text_hash TEXT, model_fingerprint TEXT NOT NULL DEFAULT '', model_pred TEXT);
        INSERT INTO decisions VALUES (7, '2026-01-01T00:00:00+00:00', 'k', 3, 'relabel', 'joy', 'love', 'ana', '',
            'abcdef0123456789', NULL, 'm', 'joy');
    """)
    conn.commit()
    conn.close()
    store = ReviewStore(db)
    old = store.latest("k")
    rows = old[["id", "sample_id", "action", "new_label", "reviewer"]].values.tolist()
    assert rows == [[7, 3, "relabel", "love", "ana"]]
    assert old["audit"].isna().all()
    d = store.record("k", 4, action="not_emotion", old_label="fear", audit="stratified:2", weight=12.5)
    assert (d.action, d.new_label, d.audit, d.weight) == ("not_emotion", None, "stratified:2", 12.5)
    assert store.events(after_id=7)[0]["weight"] == 12.5
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 5


@pytest.mark.parametrize("kwargs, match", [
    ({"action": "not_emotion", "new_label": "joy"}, "takes no new_label"),
    ({"action": "keep", "weight": 2.0}, "audit is missing"),
    ({"action": "keep", "audit": "uniform", "weight": -1.0}, "positive"),
])
def test_audit_fields_are_checked(store: ReviewStore, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        store.record("k", 1, old_label="fear", **kwargs)
