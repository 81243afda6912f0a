"""The blind audit's draw tokens: the server draws a row and hands out a token; a judgement is recorded
only against a token it issued, once, and only while the row has no blind judgement yet.

Tokens live in the review database's ``audit_draws`` table, so a draw made by one process (the app, the
command line) can be judged by another. They are local to one database file and never synced; the
judgements are ordinary decisions and sync as events.

>>> import tempfile
>>> from core.review.store import ReviewStore
>>> folder = tempfile.TemporaryDirectory()
>>> ledger = DrawLedger(ReviewStore(folder.name + "/r.sqlite"))
>>> token, = ledger.issue("fp:train", [(7, "uniform:all")])
>>> [(d.sample_id, d.tag) for d in ledger.outstanding("fp:train")]
[(7, 'uniform:all')]
>>> ledger.redeem(token, "fp:train", lambda draw: dict(action="keep", old_label="joy")).sample_id
7
>>> ledger.redeem(token, "fp:train", lambda draw: dict(action="keep", old_label="joy"))
Traceback (most recent call last):
core.review.draws.DrawError: this draw token was already used: each draw is judged once
>>> folder.cleanup()
"""

from __future__ import annotations

import secrets
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from core.review.database import ReviewStoreError, connect, transaction
from core.review.decision import EVENT_FIELDS, Decision, validated, values
from core.review.store import ReviewStore

_INSERT = f"INSERT INTO decisions ({', '.join(EVENT_FIELDS)}) VALUES ({', '.join('?' * len(EVENT_FIELDS))})"
#: A blind judgement: an audit decision that is not a revision.
BLIND = "audit IS NOT NULL AND audit != 'revision'"


class DrawError(ValueError):
    """A judgement that no open draw allows (unknown or used token, a row already judged blind)."""


@dataclass(frozen=True)
class OpenDraw:
    """An issued, not yet judged draw: its token, row and the audit tag its judgement will carry."""

    token: str
    sample_id: int
    tag: str


class DrawLedger:
    """Issue and redeem draw tokens in ``store``'s database file."""

    def __init__(self, store: ReviewStore) -> None:
        self.store = store

    def _connect(self):
        return connect(self.store.path, self.store.timeout)

    def issue(self, dataset_key: str, rows: Sequence[tuple[int, str]]) -> list[str]:
        """Record one draw per ``(sample_id, tag)``; returns their tokens, in order."""
        tokens = [secrets.token_hex(16) for _ in rows]
        now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        try:
            with self._connect() as conn, transaction(conn):
                conn.executemany("INSERT INTO audit_draws (token, dataset_key, sample_id, tag, issued) "
                                 "VALUES (?, ?, ?, ?, ?)",
                                 [(t, dataset_key, int(s), tag, now) for t, (s, tag) in zip(tokens, rows, strict=True)])
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"{self.store.path}: could not record the draws ({exc})") from None
        return tokens

    def outstanding(self, dataset_key: str, sampling: str | None = None) -> list[OpenDraw]:
        """Draws issued and not yet judged (oldest first), of one sampling if given; rows judged blind
        meanwhile (another replica, an import) are left out."""
        sql = (f"SELECT token, sample_id, tag FROM audit_draws d WHERE dataset_key = ? AND event_id IS NULL "
               f"AND NOT EXISTS (SELECT 1 FROM decisions WHERE dataset_key = d.dataset_key "
               f"AND sample_id = d.sample_id AND {BLIND}) ORDER BY issued, rowid")
        with self._connect() as conn:
            rows = conn.execute(sql, (dataset_key,)).fetchall()
        draws = [OpenDraw(str(t), int(s), str(tag)) for t, s, tag in rows]
        return [d for d in draws if sampling is None or d.tag.split(":")[0] == sampling]

    def redeem(self, token: str, dataset_key: str, build: Callable[[OpenDraw], dict]) -> Decision:
        """Record the judgement of the draw ``token`` names, in one transaction with using the token.

        ``build(draw)`` returns the decision's fields (``action``, ``old_label`` ...; ``audit`` is the
        draw's tag). Raises :class:`DrawError` for a token not issued here for ``dataset_key``, one
        already used, or a row that has a blind judgement already (then it can only be revised).
        """
        try:
            with self._connect() as conn, transaction(conn):
                row = conn.execute("SELECT sample_id, tag, event_id FROM audit_draws WHERE token = ? "
                                   "AND dataset_key = ?", (str(token), dataset_key)).fetchone()
                if row is None:
                    raise DrawError("this draw token was not issued by this server for this split; draw a row first")
                if row[2] is not None:
                    raise DrawError("this draw token was already used: each draw is judged once")
                draw = OpenDraw(str(token), int(row[0]), str(row[1]))
                judged = conn.execute(f"SELECT 1 FROM decisions WHERE dataset_key = ? AND sample_id = ? AND {BLIND}",
                                      (dataset_key, draw.sample_id)).fetchone()
                if judged:
                    raise DrawError(f"sample {draw.sample_id} is judged already and its judgement was revealed; "
                                    "record a revision with a reason instead")
                fields = {"new_label": None, "reviewer": "", "note": "", **build(draw), "audit": draw.tag}
                decision = validated(Decision(0, _now(), dataset_key, draw.sample_id, event_id=uuid.uuid4().hex,
                                              **fields))
                cursor = conn.execute(_INSERT, values(decision))
                conn.execute("UPDATE audit_draws SET event_id = ? WHERE token = ?", (decision.event_id, str(token)))
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"{self.store.path}: could not record the judgement ({exc})") from None
        return replace(decision, id=int(cursor.lastrowid))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
