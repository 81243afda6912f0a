"""The review database's SQLite layout: its schema and versions, migrations, connections and transactions.

Connections are one per operation (:func:`connect`), in WAL mode with ``synchronous=FULL``; writes take
the write lock up front (:func:`transaction`). :func:`create_schema` creates the tables of a new file
and migrates an older one in place.

Schema versions
---------------
1. ``dataset_key`` was ``"<model fp>:<data fp>:<split>"``; no event id, text hash or model columns.
2. adds ``event_id``, ``text_hash``, ``model_fingerprint`` and ``model_pred``. A version-1 file is
   migrated when opened: every row is kept with its key, its ``model_fingerprint`` is taken from the
   key's first part, its ``event_id`` is derived from the row's content (so two copies of one old
   file migrate to the same events), and its ``text_hash`` is unknown (``NULL``). The service calls
   :meth:`core.review.store.ReviewStore.rekey` to move such rows to the data key when it opens their split.
3. adds the ``not_emotion`` action and the ``audit`` and ``weight`` columns of audit
   decisions; a version-2 file is rebuilt keeping every row and its local id. The ``audit_draws`` table
   (the blind audit's draw tokens, :mod:`core.review.draws`) is created in any version-3 file that lacks it.
4. adds the ``withdraw`` action (an undo recorded as a new event); a version-2 or 3 file is
   rebuilt keeping every row and its local id.
5. (this code) adds the ``batch`` and ``bulk`` columns of bulk decisions (a pattern decided in one action,
   :mod:`core.review.batches`); a version-4 file gains the two columns (``NULL`` in every old row), older
   files are rebuilt as above. Events without the two fields (older files, older replicas) still load.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from core.review.decision import ACTIONS, COLUMNS

SCHEMA_VERSION = 5
ACTION_LIST = ", ".join(f"'{a}'" for a in ACTIONS)
BUSY_TIMEOUT_S = 30.0

_DECISIONS = f"""
CREATE TABLE IF NOT EXISTS decisions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    time              TEXT    NOT NULL,
    dataset_key       TEXT    NOT NULL,
    sample_id         INTEGER NOT NULL CHECK (sample_id >= 0),
    action            TEXT    NOT NULL CHECK (action IN ({ACTION_LIST})),
    old_label         TEXT    NOT NULL,
    new_label         TEXT,
    reviewer          TEXT    NOT NULL DEFAULT '',
    note              TEXT    NOT NULL DEFAULT '',
    event_id          TEXT    NOT NULL UNIQUE,
    text_hash         TEXT,
    model_fingerprint TEXT    NOT NULL DEFAULT '',
    model_pred        TEXT,
    audit             TEXT,
    weight            REAL,
    batch             TEXT,
    bulk              TEXT
)"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
{_DECISIONS};
CREATE INDEX IF NOT EXISTS decisions_by_sample ON decisions (dataset_key, sample_id, time, event_id);
CREATE INDEX IF NOT EXISTS decisions_by_batch ON decisions (batch);
CREATE TABLE IF NOT EXISTS set_aside (
    event_id TEXT PRIMARY KEY,
    received TEXT NOT NULL,
    source   TEXT NOT NULL,
    reason   TEXT NOT NULL,
    event    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_draws (
    token       TEXT PRIMARY KEY,
    dataset_key TEXT NOT NULL,
    sample_id   INTEGER NOT NULL,
    tag         TEXT NOT NULL,
    issued      TEXT NOT NULL,
    event_id    TEXT
);
CREATE TABLE IF NOT EXISTS synced (
    target   TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (target, event_id)
) WITHOUT ROWID
"""
_V1_COLUMNS = ("id", "time", "dataset_key", "sample_id", "action", "old_label", "new_label", "reviewer", "note")
#: The columns of a version-3 or 4 file (this schema's, before the bulk decisions' two).
_V4_COLUMNS = COLUMNS[:COLUMNS.index("batch")]


class ReviewStoreError(RuntimeError):
    """A review database that cannot be opened or written; the message names the file."""


def check_location(path: Path) -> None:
    """Refuse a database path whose folder cannot be made or written, that is a folder, or that is not writable."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReviewStoreError(
            f"{path}: cannot create the folder {folder} ({exc.strerror or exc}); "
            "choose another review database path"
        ) from None
    if path.is_dir():
        raise ReviewStoreError(f"{path}: is a folder; the review database must be a file path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ReviewStoreError(
            f"{path}: the folder {folder} is not writable (SQLite also needs to create its "
            "-wal and -shm files there); choose another review database path"
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise ReviewStoreError(f"{path}: the review database is not readable and writable")


@contextlib.contextmanager
def connect(path: Path, timeout: float) -> Iterator[sqlite3.Connection]:
    """One connection for one operation, closed afterwards; transactions are explicit."""
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA synchronous = FULL")
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` (take the write lock up front, waiting up to the busy timeout) ... ``COMMIT``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def create_schema(path: Path, timeout: float) -> None:
    """Switch the file to WAL mode, then create the tables or migrate an older version, in one transaction."""
    with connect(path, timeout) as conn:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise ReviewStoreError(f"{path}: SQLite could not switch to WAL mode (got {mode!r})")
        with transaction(conn):
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            version = None if row[0] is None else int(row[0])
            if version is not None and version > SCHEMA_VERSION:
                raise ReviewStoreError(f"{path}: schema version {version} is newer than this code's {SCHEMA_VERSION}")
            if version == 1:
                _migrate_v1(conn)  # straight to this schema
            elif version == 2:
                _migrate_v2(conn)
            elif version == 3:
                _rebuild(conn, _V4_COLUMNS)
            elif version == 4:
                conn.execute("ALTER TABLE decisions ADD COLUMN batch TEXT")
                conn.execute("ALTER TABLE decisions ADD COLUMN bulk TEXT")
            for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript would commit early
                conn.execute(statement)
            if version != SCHEMA_VERSION:
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))


def _migrate_v1(conn: sqlite3.Connection) -> None:
    """Rebuild a schema-1 ``decisions`` table as the current schema inside the caller's transaction; keeps every row."""
    rows = conn.execute(f"SELECT {', '.join(_V1_COLUMNS)} FROM decisions ORDER BY id").fetchall()
    conn.execute("ALTER TABLE decisions RENAME TO decisions_v1")
    conn.execute("DROP INDEX IF EXISTS decisions_by_sample")
    conn.execute(_DECISIONS)
    migrated = []
    for row in rows:
        old = dict(zip(_V1_COLUMNS, row, strict=True))
        parts = str(old["dataset_key"]).split(":")
        model_fp = parts[0] if len(parts) >= 3 else ""
        # The same old row always gets the same event id: two copies of one file converge on sync.
        event_id = hashlib.sha256(json.dumps(row, default=str).encode()).hexdigest()[:32]
        migrated.append((*row, event_id, None, model_fp, None))
    names = (*_V1_COLUMNS, "event_id", "text_hash", "model_fingerprint", "model_pred")
    conn.executemany(f"INSERT INTO decisions ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", migrated)
    conn.execute("DROP TABLE decisions_v1")


def _migrate_v2(conn: sqlite3.Connection) -> None:
    """Rebuild a schema-2 ``decisions`` table as the current schema (the ``not_emotion`` action, ``audit`` and
    ``weight`` columns) inside the caller's transaction; keeps every row and its local id."""
    _rebuild(conn, ("id", *_V4_COLUMNS[1:-2]))


def _rebuild(conn: sqlite3.Connection, columns: tuple[str, ...]) -> None:
    """Rebuild ``decisions`` as the current schema (its action list included), copying ``columns`` of every
    row with its local id, inside the caller's transaction."""
    names = ", ".join(columns)
    conn.execute("ALTER TABLE decisions RENAME TO decisions_old")
    conn.execute("DROP INDEX IF EXISTS decisions_by_sample")
    conn.execute(_DECISIONS)
    conn.execute(f"INSERT INTO decisions ({names}) SELECT {names} FROM decisions_old ORDER BY id")
    conn.execute("DROP TABLE decisions_old")
