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
but neither counts as reviewed nor overrides an earlier keep, relabel or ambiguous. A ``withdraw`` (an
undo) does override it: the sample is undecided again, and the withdrawn decision stays in the history.

Decisions made elsewhere (uploads, the sync target) enter through :mod:`core.review.trust`, which
checks them first; valid decisions for a dataset key this server does not analyse are kept in the
``set_aside`` table (raw event, reason, source) and never applied.

Labels are stored as names. ``keep`` stores ``new_label = old_label``; ``ambiguous``, ``not_emotion``
and ``skip`` store no new label.

The tables, their versions and migrations live in :mod:`core.review.database`; one decision's
fields and checks in :mod:`core.review.decision`.

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
import json
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from core.review.database import (
    BUSY_TIMEOUT_S,
    SCHEMA_VERSION,
    ReviewStoreError,
    check_location,
    connect,
    create_schema,
    transaction,
)
from core.review.decision import (
    ACTIONS,
    COLUMNS,
    EVENT_FIELDS,
    MAX_NOTE_CHARS,
    MAX_REVIEWER_CHARS,
    Decision,
    decision_from_event,
    validated,
    values,
)

__all__ = ["ACTIONS", "BUSY_TIMEOUT_S", "COLUMNS", "EVENT_FIELDS", "MAX_NOTE_CHARS", "MAX_REVIEWER_CHARS",
           "SCHEMA_VERSION", "Decision", "ReviewStore", "ReviewStoreError", "decision_from_event"]

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
        check_location(self.path)
        try:
            create_schema(self.path, self.timeout)
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

    def _connect(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return connect(self.path, self.timeout)

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
        action : one of :data:`ACTIONS` (``withdraw`` takes back the sample's current decision).
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
        decision = validated(Decision(
            0, "", dataset_key, sample_id, action, old_label, new_label, reviewer, note,  # type: ignore[arg-type]
            uuid.uuid4().hex, text_hash, model_fingerprint, model_pred, audit, weight,
        ))
        try:
            with self._connect() as conn, transaction(conn):
                # The time is read under the write lock, so local time order is commit order.
                decision = replace(decision, time=_now())
                cursor = conn.execute(_INSERT, values(decision))
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"{self.path}: could not record the decision ({exc})") from None
        return replace(decision, id=int(cursor.lastrowid))  # type: ignore[arg-type]

    def record_many(self, decisions: Sequence[Decision]) -> list[Decision]:
        """Append several decisions (a bulk action) in one transaction, all or none, in order; each gets a new
        event id and this time. Returns them as stored (local ids aside). ``ValueError`` for an invalid one."""
        stamped = [replace(validated(d), id=0, event_id=uuid.uuid4().hex) for d in decisions]
        now = _now()
        self._insert([replace(d, time=now) for d in stamped])
        return [replace(d, time=now) for d in stamped]

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
        return self._insert(checked, synced_to=synced_to)

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
        self._insert(decisions, set_aside=set_aside, source=source, synced_to=synced_to)

    def _insert(self, decisions: list[Decision], *, set_aside: Iterable[tuple[Decision, str]] = (), source: str = "",
                synced_to: str | None = None) -> int:
        """One transaction: the decisions not yet present, the set-aside ones; returns how many decisions were new."""
        try:
            with self._connect() as conn, transaction(conn):
                before = conn.total_changes
                conn.executemany(_INSERT.replace("INSERT", "INSERT OR IGNORE", 1), [values(d) for d in decisions])
                added = conn.total_changes - before
                kept = [(d.event_id, _now(), source, why, json.dumps(d.to_event(), sort_keys=True))
                        for d, why in set_aside]
                conn.executemany("INSERT OR IGNORE INTO set_aside (event_id, received, source, reason, event) "
                                 "VALUES (?, ?, ?, ?, ?)", kept)
                if synced_to is not None:
                    conn.executemany("INSERT OR IGNORE INTO synced (target, event_id) VALUES (?, ?)",
                                     [(synced_to, d.event_id) for d in decisions])
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"{self.path}: could not import decisions ({exc})") from None
        return int(added)

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
            with self._connect() as conn, transaction(conn):
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
            with self._connect() as conn, transaction(conn):
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
        """The current decision per reviewed sample (latest non-skip row, unless it is a ``withdraw``: that
        sample is undecided again), ordered by ``sample_id``; columns are the :class:`Decision` fields."""
        return self._frame(f"{_SELECT} WHERE id IN ({_CURRENT}) AND action != 'withdraw' ORDER BY sample_id",
                           (dataset_key,))

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
            rows = conn.execute(f"SELECT sample_id FROM decisions WHERE id IN ({_CURRENT}) AND action != 'withdraw'",
                                (dataset_key,)).fetchall()
        return {int(r[0]) for r in rows}

    def reviewed_count(self, dataset_key: str) -> int:
        """How many samples have a current (non-skip) decision."""
        with self._connect() as conn:
            row = conn.execute(f"SELECT COUNT(*) FROM decisions WHERE id IN ({_CURRENT}) AND action != 'withdraw'",
                               (dataset_key,)).fetchone()
        return int(row[0])


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
