"""Review decisions in an append-only SQLite history.

Every action a reviewer takes is one ``INSERT`` in its own committed transaction, in WAL mode with
``synchronous=FULL``: once :meth:`ReviewStore.record` returns, the decision survives a restart, a
``kill -9`` and a power loss. Nothing is ever updated or deleted, so two browser tabs (or two
processes) reviewing at once never lose each other's decisions; when both decide the same sample,
the later one is current and both stay in the history. The one exception is :meth:`ReviewStore.rekey`,
a migration step that moves decisions from a legacy key to the data key (their content is unchanged).

Each operation opens its own connection, so one store can be shared by web-server worker threads
and several processes can use the same file.

Keys and identity
-----------------
``dataset_key`` names the data a decision belongs to (``"<content fingerprint>:<split>"``, computed by
the service), not the model, so a retrained model still sees every decision. Each decision also
stores ``text_hash`` (of the sample's text, to notice a re-ordered or edited file), the
``model_fingerprint`` and ``model_pred`` it was made with (audit trail), and a random ``event_id``
that names it everywhere: :mod:`core.review.sync` appends decisions to a shared target as events and
restores them through :func:`core.review.trust.import_checked`, which skips event ids already present.

Current decision
----------------
The current decision for a sample is the last row *recorded in this file* (the local ``id``) whose
action is not ``skip``; a ``time`` written in an imported event cannot reorder it. Two replicas that
decide the same sample at about the same time can therefore disagree on which decision is current,
each keeping its own last one, until someone decides that sample again. A skip is kept in the history
but neither counts as reviewed nor overrides an earlier keep, relabel or ambiguous.

Decisions made elsewhere (uploads, the sync target) enter through :mod:`core.review.trust`, which
checks them first; valid decisions for a dataset key this server does not analyse are kept in the
``set_aside`` table (raw event, reason, source) and never applied.

Labels are stored as names. ``keep`` stores ``new_label = old_label``; ``ambiguous`` and ``skip``
store no new label.

Schema versions
---------------
1. ``dataset_key`` was ``"<model fp>:<data fp>:<split>"``; no event id, text hash or model columns.
2. (this code) the columns above. A version-1 file is migrated when opened: every row is kept with
   its key, its ``model_fingerprint`` is taken from the key's first part, its ``event_id`` is derived
   from the row's content (so two copies of one old file migrate to the same events), and its
   ``text_hash`` is unknown (``NULL``). The service calls :meth:`ReviewStore.rekey` to move such
   rows to the data key when it opens their split.

Example
-------
>>> import tempfile
>>> folder = tempfile.TemporaryDirectory()
>>> store = ReviewStore(Path(folder.name) / "reviews.sqlite")
>>> store.record("data-fp:validation", 12, action="relabel", old_label="joy", new_label="love").action
'relabel'
>>> _ = store.record("data-fp:validation", 3, action="skip", old_label="fear")
>>> store.latest("data-fp:validation")[["sample_id", "action", "old_label", "new_label"]]
   sample_id    action old_label new_label
0         12   relabel       joy      love
>>> store.reviewed_ids("data-fp:validation")
{12}
>>> store.close(); folder.cleanup()
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import numbers
import os
import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

#: ``not_emotion``: the text expresses no emotion of the writer (spam, a plain report); it takes no new label.
ACTIONS: tuple[str, ...] = ("keep", "relabel", "ambiguous", "not_emotion", "skip")
SCHEMA_VERSION = 3
BUSY_TIMEOUT_S = 30.0
MAX_NOTE_CHARS = 10_000
MAX_REVIEWER_CHARS = 200

_DECISIONS = """
CREATE TABLE IF NOT EXISTS decisions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    time              TEXT    NOT NULL,
    dataset_key       TEXT    NOT NULL,
    sample_id         INTEGER NOT NULL CHECK (sample_id >= 0),
    action            TEXT    NOT NULL CHECK (action IN ('keep', 'relabel', 'ambiguous', 'not_emotion', 'skip')),
    old_label         TEXT    NOT NULL,
    new_label         TEXT,
    reviewer          TEXT    NOT NULL DEFAULT '',
    note              TEXT    NOT NULL DEFAULT '',
    event_id          TEXT    NOT NULL UNIQUE,
    text_hash         TEXT,
    model_fingerprint TEXT    NOT NULL DEFAULT '',
    model_pred        TEXT,
    audit             TEXT,
    weight            REAL
)"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
{_DECISIONS};
CREATE INDEX IF NOT EXISTS decisions_by_sample ON decisions (dataset_key, sample_id, time, event_id);
CREATE TABLE IF NOT EXISTS set_aside (
    event_id TEXT PRIMARY KEY,
    received TEXT NOT NULL,
    source   TEXT NOT NULL,
    reason   TEXT NOT NULL,
    event    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS synced (
    target   TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (target, event_id)
) WITHOUT ROWID
"""
_EVENT_ID = re.compile(r"[A-Za-z0-9]{8,64}")
_V1_COLUMNS = ("id", "time", "dataset_key", "sample_id", "action", "old_label", "new_label", "reviewer", "note")


class ReviewStoreError(RuntimeError):
    """A review database that cannot be opened or written; the message names the file."""


@dataclass(frozen=True)
class Decision:
    """One recorded action; ``time`` is ISO 8601 UTC, ``id`` is local to one database file.

    ``event_id`` names the decision on every replica; ``text_hash`` is ``None`` for decisions
    migrated from schema 1; ``model_pred`` is ``None`` when the caller did not say. An audit decision
    (:mod:`core.audit`) names its sampling in ``audit`` (``"uniform"`` or ``"stratified:<stratum>"``) and
    carries its sampling ``weight`` (rows of the split it stands for); both are ``None`` otherwise.
    """

    id: int
    time: str
    dataset_key: str
    sample_id: int
    action: str
    old_label: str
    new_label: str | None
    reviewer: str
    note: str
    event_id: str = ""
    text_hash: str | None = None
    model_fingerprint: str = ""
    model_pred: str | None = None
    audit: str | None = None
    weight: float | None = None

    def to_event(self) -> dict:
        """The decision as a JSON-able dict without the local ``id`` (what sync writes)."""
        event = asdict(self)
        del event["id"]
        return event


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Decision))
EVENT_FIELDS: tuple[str, ...] = COLUMNS[1:]
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM decisions"
_INSERT = f"INSERT INTO decisions ({', '.join(EVENT_FIELDS)}) VALUES ({', '.join('?' * len(EVENT_FIELDS))})"
_CURRENT = (
    "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY sample_id ORDER BY id DESC) AS r "
    "FROM decisions WHERE dataset_key = ? AND action != 'skip') WHERE r = 1"
)


class ReviewStore:
    """Review decisions in one SQLite file; several analyses share a file through ``dataset_key``.

    Parameters
    ----------
    path : the SQLite file; its folder is created when missing.
    timeout : seconds to wait for another writer's lock before failing.

    Raises
    ------
    ReviewStoreError : the folder cannot be created or written, the file is not a SQLite database,
        or it holds a newer schema version.
    """

    def __init__(self, path: str | Path, *, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path).expanduser()
        self.timeout = float(timeout)
        self._check_location()
        try:
            self._create_schema()
            # An idle connection held for the store's life: without it every operation's connection
            # would be the last to close, and SQLite would checkpoint and delete the WAL each time
            # (about 3x slower per decision). It is never used for queries.
            self._anchor: sqlite3.Connection | None = sqlite3.connect(self.path, check_same_thread=False)
            self._anchor.execute("SELECT version FROM schema_version").fetchall()
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"{self.path}: cannot open the review database ({exc})") from None

    def close(self) -> None:
        """Release the idle connection; the store still works afterwards, only slower."""
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None

    def __repr__(self) -> str:
        return f"ReviewStore({str(self.path)!r})"

    # -----------------------------------------------------------------------------------------
    # Opening

    def _check_location(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReviewStoreError(
                f"{self.path}: cannot create the folder {folder} ({exc.strerror or exc}); "
                "choose another review database path"
            ) from None
        if self.path.is_dir():
            raise ReviewStoreError(f"{self.path}: is a folder; the review database must be a file path")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ReviewStoreError(
                f"{self.path}: the folder {folder} is not writable (SQLite also needs to create its "
                "-wal and -shm files there); choose another review database path"
            )
        if self.path.exists() and not os.access(self.path, os.R_OK | os.W_OK):
            raise ReviewStoreError(f"{self.path}: the review database is not readable and writable")

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One connection for one operation, closed afterwards; transactions are explicit."""
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA synchronous = FULL")
            yield conn
        finally:
            conn.close()

    def _create_schema(self) -> None:
        with self._connect() as conn:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise ReviewStoreError(f"{self.path}: SQLite could not switch to WAL mode (got {mode!r})")
            with _transaction(conn):
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
                version = None if row[0] is None else int(row[0])
                if version is not None and version > SCHEMA_VERSION:
                    raise ReviewStoreError(
                        f"{self.path}: schema version {version} is newer than this code's {SCHEMA_VERSION}"
                    )
                if version == 1:
                    _migrate_v1(conn)  # straight to this schema
                elif version == 2:
                    _migrate_v2(conn)
                for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript would commit early
                    conn.execute(statement)
                if version != SCHEMA_VERSION:
                    conn.execute("DELETE FROM schema_version")
                    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))

    # -----------------------------------------------------------------------------------------
    # Writing

    def record(
        self,
        dataset_key: str,
        sample_id: int,
        *,
        action: str,
        old_label: str,
        new_label: str | None = None,
        reviewer: str = "",
        note: str = "",
        text_hash: str | None = None,
        model_fingerprint: str = "",
        model_pred: str | None = None,
        audit: str | None = None,
        weight: float | None = None,
    ) -> Decision:
        """Append one decision and commit it before returning.

        Parameters
        ----------
        dataset_key : names the data and split the sample belongs to.
        sample_id : row position of the sample in the analysed split, ``>= 0``.
        action : one of ``keep``, ``relabel``, ``ambiguous``, ``skip``.
        old_label : the sample's label name in the analysed split (not an earlier correction), so
            that ``keep`` means "the data's label is right"; :func:`core.review.export.corrected_split`
            checks it against the split.
        new_label : the corrected label name; required for ``relabel`` (and different from
            ``old_label``), otherwise ``None`` (or ``old_label`` for ``keep``).
        reviewer, note : free text, optional.
        text_hash : a hash of the sample's text, so a later reader can tell whether row
            ``sample_id`` still holds the same text.
        model_fingerprint, model_pred : the model the reviewer saw and its predicted label (audit trail).
        audit, weight : for a blind audit decision, its sampling scheme and weight (see :class:`Decision`).

        Raises
        ------
        ValueError : an unknown action, or labels that do not fit it.
        ReviewStoreError : the database could not be written.
        """
        decision = _validated(Decision(
            0, "", dataset_key, sample_id, action, old_label, new_label, reviewer, note,  # type: ignore[arg-type]
            uuid.uuid4().hex, text_hash, model_fingerprint, model_pred, audit, weight,
        ))
        try:
            with self._connect() as conn, _transaction(conn):
                # The time is read under the write lock, so local time order is commit order.
                decision = replace(decision, time=_now())
                cursor = conn.execute(_INSERT, _values(decision))
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"{self.path}: could not record the decision ({exc})") from None
        return replace(decision, id=int(cursor.lastrowid))  # type: ignore[arg-type]

    def import_events(self, events: Iterable[dict], *, synced_to: str | None = None) -> int:
        """Add decisions made elsewhere (event dicts as :meth:`events` gives them); returns how many were new.

        No trust rules apply here (for copies of this app's own store: tests, migrations); uploads and the
        sync target go through :func:`core.review.trust.import_checked`. Idempotent by ``event_id``: an
        event already present is skipped. Each keeps its original
        ``time``, reviewer and every other field; it gets a new local ``id``. All events are checked
        first and written in one transaction, so a bad event adds nothing. ``synced_to`` marks the
        events as already present on that sync target (they came from it), so they are not pushed back.

        Raises
        ------
        ValueError : an event that is not a valid decision (the message gives its position and why).
        ReviewStoreError : the database could not be written.
        """
        checked = []
        for i, event in enumerate(events):
            try:
                checked.append(decision_from_event(event))
            except ValueError as exc:
                raise ValueError(f"event {i + 1}: {exc}") from None
        try:
            with self._connect() as conn, _transaction(conn):
                before = conn.total_changes
                conn.executemany(_INSERT.replace("INSERT", "INSERT OR IGNORE", 1), [_values(d) for d in checked])
                added = conn.total_changes - before
                if synced_to is not None:
                    conn.executemany("INSERT OR IGNORE INTO synced (target, event_id) VALUES (?, ?)",
                                     [(synced_to, d.event_id) for d in checked])
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"{self.path}: could not import decisions ({exc})") from None
        return int(added)

    def add_checked(
        self,
        decisions: list[Decision],
        *,
        set_aside: list[tuple[Decision, str]] = (),  # type: ignore[assignment]
        source: str = "",
        synced_to: str | None = None,
    ) -> None:
        """Record decisions :func:`core.review.trust.import_checked` passed, in order, and keep the
        ``(decision, reason)`` pairs it set aside; one transaction. ``synced_to`` as in :meth:`import_events`."""
        try:
            with self._connect() as conn, _transaction(conn):
                conn.executemany(_INSERT.replace("INSERT", "INSERT OR IGNORE", 1), [_values(d) for d in decisions])
                kept = [(d.event_id, _now(), source, why, json.dumps(d.to_event(), sort_keys=True))
                        for d, why in set_aside]
                conn.executemany("INSERT OR IGNORE INTO set_aside (event_id, received, source, reason, event) "
                                 "VALUES (?, ?, ?, ?, ?)", kept)
                if synced_to is not None:
                    conn.executemany("INSERT OR IGNORE INTO synced (target, event_id) VALUES (?, ?)",
                                     [(synced_to, d.event_id) for d in decisions])
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"{self.path}: could not import decisions ({exc})") from None

    def stored_events(self, event_ids: Iterable[str]) -> dict[str, dict]:
        """The stored events (as :meth:`Decision.to_event`) among ``event_ids``, by event id."""
        ids = list(dict.fromkeys(event_ids))
        found: dict[str, dict] = {}
        with self._connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows = conn.execute(f"{_SELECT} WHERE event_id IN ({', '.join('?' * len(chunk))})", chunk)
                found.update((d.event_id, d.to_event()) for d in (Decision(*row) for row in rows))
        return found

    def set_aside(self) -> pd.DataFrame:
        """Events kept aside (a dataset key not analysed where they arrived): ``event_id, received, source,
        reason, event`` (the event as JSON), oldest first. They are never applied."""
        with self._connect() as conn:
            rows = conn.execute("SELECT event_id, received, source, reason, event FROM set_aside ORDER BY rowid")
            return pd.DataFrame(rows.fetchall(), columns=["event_id", "received", "source", "reason", "event"])

    def rekey(self, old_key: str, new_key: str) -> int:
        """Move every decision from ``old_key`` to ``new_key``; returns how many moved.

        The one update this store makes: a migration step for decisions written under a legacy key
        (schema 1 keyed by model and data), called by the service when it opens the split that key
        names. Only ``dataset_key`` changes; events already synced keep their old key on the target
        and are moved again by the same call after a restore.
        """
        if not new_key or not isinstance(new_key, str):
            raise ValueError("new_key must be a non-empty string")
        if old_key == new_key:
            return 0
        try:
            with self._connect() as conn, _transaction(conn):
                cursor = conn.execute("UPDATE decisions SET dataset_key = ? WHERE dataset_key = ?", (new_key, old_key))
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"{self.path}: could not move decisions to the new key ({exc})") from None
        return int(cursor.rowcount)

    # -----------------------------------------------------------------------------------------
    # Sync bookkeeping (used by core.review.sync)

    def unsynced(self, target: str, *, limit: int = 10_000) -> list[dict]:
        """Events not yet known to be on ``target``, oldest first (at most ``limit``)."""
        with self._connect() as conn:
            rows = conn.execute(
                f"{_SELECT} WHERE NOT EXISTS (SELECT 1 FROM synced s WHERE s.target = ? "
                "AND s.event_id = decisions.event_id) ORDER BY id LIMIT ?", (target, int(limit)),
            ).fetchall()
        return [Decision(*row).to_event() for row in rows]

    def unsynced_count(self, target: str) -> int:
        """How many decisions are not yet known to be on ``target``."""
        with self._connect() as conn:
            return int(conn.execute(
                "SELECT COUNT(*) FROM decisions WHERE NOT EXISTS (SELECT 1 FROM synced s WHERE s.target = ? "
                "AND s.event_id = decisions.event_id)", (target,),
            ).fetchone()[0])

    def mark_synced(self, target: str, event_ids: Iterable[str]) -> None:
        """Remember that these events are on ``target`` (after a successful push)."""
        try:
            with self._connect() as conn, _transaction(conn):
                conn.executemany("INSERT OR IGNORE INTO synced (target, event_id) VALUES (?, ?)",
                                 [(target, e) for e in event_ids])
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"{self.path}: could not note the synced decisions ({exc})") from None

    # -----------------------------------------------------------------------------------------
    # Reading

    def _frame(self, sql: str, params: tuple) -> pd.DataFrame:
        with self._connect() as conn:
            rows = conn.execute(sql, params).fetchall()
        frame = pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)
        return frame.astype({"id": "int64", "sample_id": "int64"})

    def latest(self, dataset_key: str) -> pd.DataFrame:
        """The current decision per reviewed sample (latest non-skip row), ordered by ``sample_id``.

        Columns are the :class:`Decision` fields; ``new_label`` is ``None`` for ``ambiguous``.
        """
        return self._frame(f"{_SELECT} WHERE id IN ({_CURRENT}) ORDER BY sample_id", (dataset_key,))

    def history(self, dataset_key: str, sample_id: int | None = None) -> pd.DataFrame:
        """Every recorded action, skips included, in recorded order; one sample's when ``sample_id`` is given."""
        if sample_id is None:
            return self._frame(f"{_SELECT} WHERE dataset_key = ? ORDER BY id", (dataset_key,))
        return self._frame(f"{_SELECT} WHERE dataset_key = ? AND sample_id = ? ORDER BY id",
                           (dataset_key, int(sample_id)))

    def events(self, after_id: int = 0) -> list[dict]:
        """Every decision with local ``id > after_id``, all keys, as JSON-able dicts (``id`` included)."""
        with self._connect() as conn:
            rows = conn.execute(f"{_SELECT} WHERE id > ? ORDER BY id", (int(after_id),)).fetchall()
        return [asdict(Decision(*row)) for row in rows]

    def keys(self) -> list[str]:
        """Every ``dataset_key`` with at least one decision."""
        with self._connect() as conn:
            return [r[0] for r in conn.execute("SELECT DISTINCT dataset_key FROM decisions ORDER BY 1")]

    def count(self) -> int:
        """How many decisions the file holds (all keys, skips included)."""
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0])

    def reviewed_ids(self, dataset_key: str) -> set[int]:
        """Samples with a current (non-skip) decision."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT DISTINCT sample_id FROM decisions WHERE dataset_key = ? AND action != 'skip'", (dataset_key,)
            ).fetchall()
        return {int(r[0]) for r in rows}

    def reviewed_count(self, dataset_key: str) -> int:
        """How many samples have a current (non-skip) decision."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT COUNT(DISTINCT sample_id) FROM decisions WHERE dataset_key = ? AND action != 'skip'",
                (dataset_key,),
            ).fetchone()
        return int(row[0])


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` (take the write lock up front, waiting up to the busy timeout) ... ``COMMIT``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _values(d: Decision) -> tuple:
    return tuple(getattr(d, name) for name in EVENT_FIELDS)


def _migrate_v1(conn: sqlite3.Connection) -> None:
    """Rebuild a schema-1 ``decisions`` table as schema 2 inside the caller's transaction; keeps every row."""
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
    """Rebuild a schema-2 ``decisions`` table as schema 3 (the ``not_emotion`` action, ``audit`` and
    ``weight`` columns) inside the caller's transaction; keeps every row and its local id."""
    names = ", ".join(("id", *COLUMNS[1:-2]))
    conn.execute("ALTER TABLE decisions RENAME TO decisions_v2")
    conn.execute("DROP INDEX IF EXISTS decisions_by_sample")
    conn.execute(_DECISIONS)
    conn.execute(f"INSERT INTO decisions ({names}) SELECT {names} FROM decisions_v2 ORDER BY id")
    conn.execute("DROP TABLE decisions_v2")


def decision_from_event(event: dict) -> Decision:
    """Check one event dict (as sync files and uploads hold them) and return it as a :class:`Decision`.

    Raises ``ValueError`` naming the first problem.
    """
    if not isinstance(event, dict):
        raise ValueError(f"expected an object, got {type(event).__name__}")
    missing = [k for k in ("event_id", "time", "dataset_key", "sample_id", "action", "old_label") if k not in event]
    if missing:
        raise ValueError(f"missing fields {missing}")
    event_id = event["event_id"]
    if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        raise ValueError(f"event_id must be 8 to 64 letters or digits, got {event_id!r}")
    try:
        when = datetime.fromisoformat(str(event["time"]))
    except ValueError:
        raise ValueError(f"time {event['time']!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise ValueError(f"time {event['time']!r} has no time zone")
    optional = {k: event.get(k) for k in ("text_hash", "model_pred")}
    for key, value in optional.items():
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key} must be a string or null, got {value!r}")
    decision = Decision(
        0, when.astimezone(timezone.utc).isoformat(timespec="microseconds"), event["dataset_key"], event["sample_id"],
        event["action"], event["old_label"], event.get("new_label"), event.get("reviewer") or "",
        event.get("note") or "", event_id, optional["text_hash"], event.get("model_fingerprint") or "",
        optional["model_pred"], event.get("audit"), event.get("weight"),
    )
    return _validated(decision)


def _validated(d: Decision) -> Decision:
    """Check one decision's fields and fill in the stored form (``keep``'s new label, plain ``int`` and ``str``)."""
    if d.action not in ACTIONS:
        raise ValueError(f"unknown action {d.action!r}; choose one of {ACTIONS}")
    if not isinstance(d.dataset_key, str) or not d.dataset_key:
        raise ValueError("dataset_key must be a non-empty string")
    if isinstance(d.sample_id, bool) or not isinstance(d.sample_id, numbers.Integral) or d.sample_id < 0:
        raise ValueError(f"sample_id must be a non-negative integer, got {d.sample_id!r}")
    if not isinstance(d.old_label, str) or not d.old_label:
        raise ValueError(f"old_label must be a non-empty label name, got {d.old_label!r}")
    new_label = d.new_label
    if new_label is not None and not isinstance(new_label, str):
        raise ValueError(f"new_label must be a label name or None, got {new_label!r}")
    if d.action == "relabel":
        if not new_label:
            raise ValueError("action 'relabel' needs a new_label")
        if new_label == d.old_label:
            raise ValueError(f"action 'relabel' needs a new_label different from the old label {d.old_label!r}")
    elif d.action == "keep":
        if new_label not in (None, d.old_label):
            raise ValueError(f"action 'keep' keeps {d.old_label!r}; use 'relabel' to change it to {new_label!r}")
        new_label = d.old_label
    elif new_label is not None:
        raise ValueError(f"action {d.action!r} takes no new_label (got {new_label!r})")
    for name, most in (("reviewer", MAX_REVIEWER_CHARS), ("note", MAX_NOTE_CHARS)):
        if getattr(d, name) is not None and not isinstance(getattr(d, name), str):
            raise ValueError(f"{name} must be text, got {getattr(d, name)!r}")
        if len(getattr(d, name) or "") > most:
            raise ValueError(f"{name} longer than {most} characters")
    for name in ("text_hash", "model_pred", "audit"):
        value = getattr(d, name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string or None, got {value!r}")
    weight = d.weight
    if weight is not None:
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not math.isfinite(weight) or weight <= 0:
            raise ValueError(f"weight must be a positive number or None, got {weight!r}")
        weight = float(weight)
        if d.audit is None:
            raise ValueError("a weight belongs to an audit decision; audit is missing")
    return replace(d, sample_id=int(d.sample_id), new_label=new_label, weight=weight, reviewer=str(d.reviewer or ""),
                   note=str(d.note or ""), model_fingerprint=str(d.model_fingerprint or ""))
