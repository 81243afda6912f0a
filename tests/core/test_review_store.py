"""ReviewStore: decisions survive restarts, kill -9 and concurrent writers, on real SQLite files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.review_store import ACTIONS, SCHEMA_VERSION, ReviewStore, ReviewStoreError

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
        "from core.review_store import ReviewStore\n"
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
    rest, err = child.communicate(timeout=60)
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
        "from core.review_store import ReviewStore\n"
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
