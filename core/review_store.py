"""Review decisions in an append-only SQLite history.

Every action a reviewer takes is one ``INSERT`` in its own committed transaction, in WAL mode with
``synchronous=FULL``: once :meth:`ReviewStore.record` returns, the decision survives a restart, a
``kill -9`` and a power loss. Nothing is ever updated or deleted, so two browser tabs (or two
processes) reviewing at once never lose each other's decisions; when both decide the same sample,
the later one is current and both stay in the history.

Each operation opens its own connection, so one store can be shared by web-server worker threads
and several processes can use the same file.

Current decision
----------------
The current decision for a sample is its latest row whose action is not ``skip``. A skip is kept in
the history but neither counts as reviewed nor overrides an earlier keep, relabel or ambiguous.

Labels are stored as names. ``keep`` stores ``new_label = old_label``; ``ambiguous`` and ``skip``
store no new label.

Example
-------
>>> import tempfile
>>> folder = tempfile.TemporaryDirectory()
>>> store = ReviewStore(Path(folder.name) / "reviews.sqlite")
>>> store.record("model-data-validation", 12, action="relabel", old_label="joy", new_label="love").action
'relabel'
>>> _ = store.record("model-data-validation", 3, action="skip", old_label="fear")
>>> store.latest("model-data-validation")[["sample_id", "action", "old_label", "new_label"]]
   sample_id    action old_label new_label
0         12   relabel       joy      love
>>> store.reviewed_ids("model-data-validation")
{12}
>>> store.close(); folder.cleanup()
"""

from __future__ import annotations

import contextlib
import numbers
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import astuple, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

ACTIONS: tuple[str, ...] = ("keep", "relabel", "ambiguous", "skip")
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        TEXT    NOT NULL,
    dataset_key TEXT    NOT NULL,
    sample_id   INTEGER NOT NULL CHECK (sample_id >= 0),
    action      TEXT    NOT NULL CHECK (action IN ('keep', 'relabel', 'ambiguous', 'skip')),
    old_label   TEXT    NOT NULL,
    new_label   TEXT,
    reviewer    TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS decisions_by_sample ON decisions (dataset_key, sample_id, id);
"""


class ReviewStoreError(RuntimeError):
    """A review database that cannot be opened or written; the message names the file."""


@dataclass(frozen=True)
class Decision:
    """One recorded action; ``time`` is ISO 8601 UTC, ``id`` increases with every record."""

    id: int
    time: str
    dataset_key: str
    sample_id: int
    action: str
    old_label: str
    new_label: str | None
    reviewer: str
    note: str


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Decision))
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM decisions"
_INSERT = f"INSERT INTO decisions ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * len(COLUMNS[1:]))})"


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
                for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript would commit early
                    conn.execute(statement)
                row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
                if row[0] is None:
                    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
                elif int(row[0]) > SCHEMA_VERSION:
                    raise ReviewStoreError(
                        f"{self.path}: schema version {row[0]} is newer than this code's {SCHEMA_VERSION}"
                    )

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
    ) -> Decision:
        """Append one decision and commit it before returning.

        Parameters
        ----------
        dataset_key : names the analysis (model, data and split) the sample belongs to.
        sample_id : row position of the sample in the analysed split, ``>= 0``.
        action : one of ``keep``, ``relabel``, ``ambiguous``, ``skip``.
        old_label : the sample's label name in the analysed split (not an earlier correction), so
            that ``keep`` means "the data's label is right"; :func:`core.export.corrected_split`
            checks it against the split.
        new_label : the corrected label name; required for ``relabel`` (and different from
            ``old_label``), otherwise ``None`` (or ``old_label`` for ``keep``).
        reviewer, note : free text, optional.

        Raises
        ------
        ValueError : an unknown action, or labels that do not fit it.
        ReviewStoreError : the database could not be written.
        """
        decision = _validated(dataset_key, sample_id, action=action, old_label=old_label, new_label=new_label,
                              reviewer=reviewer, note=note)
        values = astuple(decision)[1:]
        try:
            with self._connect() as conn, _transaction(conn):
                cursor = conn.execute(_INSERT, values)
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"{self.path}: could not record the decision ({exc})") from None
        return Decision(int(cursor.lastrowid), *values)  # type: ignore[arg-type]

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
        return self._frame(
            f"{_SELECT} WHERE id IN (SELECT MAX(id) FROM decisions WHERE dataset_key = ? AND action != 'skip' "
            "GROUP BY sample_id) ORDER BY sample_id",
            (dataset_key,),
        )

    def history(self, dataset_key: str, sample_id: int | None = None) -> pd.DataFrame:
        """Every recorded action, skips included, oldest first; one sample's when ``sample_id`` is given."""
        if sample_id is None:
            return self._frame(f"{_SELECT} WHERE dataset_key = ? ORDER BY id", (dataset_key,))
        return self._frame(f"{_SELECT} WHERE dataset_key = ? AND sample_id = ? ORDER BY id",
                           (dataset_key, int(sample_id)))

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


def _validated(
    dataset_key: str, sample_id: int, *, action: str, old_label: str, new_label: str | None, reviewer: str, note: str
) -> Decision:
    """Check one decision's fields and fill in the stored form (time, ``keep``'s new label)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; choose one of {ACTIONS}")
    if not isinstance(dataset_key, str) or not dataset_key:
        raise ValueError("dataset_key must be a non-empty string")
    if isinstance(sample_id, bool) or not isinstance(sample_id, numbers.Integral) or sample_id < 0:
        raise ValueError(f"sample_id must be a non-negative integer, got {sample_id!r}")
    if not isinstance(old_label, str) or not old_label:
        raise ValueError(f"old_label must be a non-empty label name, got {old_label!r}")
    if new_label is not None and not isinstance(new_label, str):
        raise ValueError(f"new_label must be a label name or None, got {new_label!r}")
    if action == "relabel":
        if not new_label:
            raise ValueError("action 'relabel' needs a new_label")
        if new_label == old_label:
            raise ValueError(f"action 'relabel' needs a new_label different from the old label {old_label!r}")
    elif action == "keep":
        if new_label not in (None, old_label):
            raise ValueError(f"action 'keep' keeps {old_label!r}; use 'relabel' to change it to {new_label!r}")
        new_label = old_label
    elif new_label is not None:
        raise ValueError(f"action {action!r} takes no new_label (got {new_label!r})")
    time = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    return Decision(0, time, dataset_key, int(sample_id), action, old_label, new_label, str(reviewer or ""),
                    str(note or ""))

