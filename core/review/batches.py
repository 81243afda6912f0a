"""Bulk decisions: one action decides many rows, each row its own event, and one action undoes them.

:func:`record_batch` records one decision per row in one transaction
(:meth:`core.review.store.ReviewStore.record_many`); every row's event carries the same ``batch`` id and,
in ``bulk``, a JSON record of the action (``{"kind": "apply", "pattern": ..., "spot_check": {...}}``). They
are decisions like any other: current, exported, synced and checked on import alike; the ``batch`` field
marks them as bulk.

:func:`undo_batch` reverts a batch with new events, never rewriting the log: each row whose current
decision is still the batch's gets its previous current decision back (a copy of it as a new event), or a
``withdraw`` when it had none. The undo events are themselves a batch (``{"kind": "undo", "undoes": id}``),
so the undo survives a restart and travels with the sync; a batch is undone once.

>>> import tempfile
>>> from core.review.store import ReviewStore
>>> folder = tempfile.TemporaryDirectory()
>>> store = ReviewStore(folder.name + "/r.sqlite")
>>> batch, _ = record_batch(store, "k:train", [{"sample_id": 1, "old_label": "anger", "new_label": "joy"}],
...                         action="relabel", reviewer="ana", record={"pattern": "negated:anger:angry"})
>>> store.latest("k:train")["action"].tolist()
['relabel']
>>> _ = undo_batch(store, "k:train", batch, reviewer="ana")
>>> len(store.latest("k:train")), batch_status(store, "k:train").set_index("batch").at[batch, "undone_by"] != ""
(0, True)
>>> store.close(); folder.cleanup()
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import pandas as pd

from core.review.store import Decision, ReviewStore

#: Actions a bulk action may record on every row of a pattern.
BULK_ACTIONS: tuple[str, ...] = ("relabel", "ambiguous", "skip")
BATCH_COLUMNS = ["batch", "kind", "action", "pattern", "rows", "reviewer", "time", "undoes", "undone_by", "record"]


class BatchError(ValueError):
    """A batch that cannot be recorded or undone; the message says why."""


def bulk_text(record: dict) -> str:
    """A bulk record as the compact JSON text events carry."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_batch(store: ReviewStore, dataset_key: str, rows: Sequence[dict], *, action: str, reviewer: str,
                 record: dict, model_fingerprint: str = "", note: str = "") -> tuple[str, list[Decision]]:
    """Record ``action`` on every row (dicts with ``sample_id``, ``old_label``, ``new_label`` for a relabel,
    optional ``text_hash`` and ``model_pred``) as one batch; returns ``(batch id, decisions)``."""
    if action not in BULK_ACTIONS:
        raise BatchError(f"unknown bulk action {action!r}; choose one of {list(BULK_ACTIONS)}")
    if not rows:
        raise BatchError("no rows to decide: every row of the pattern is decided already")
    batch = uuid.uuid4().hex
    text = bulk_text({"kind": "apply", **record})
    decisions = [Decision(0, "", dataset_key, int(r["sample_id"]), action, str(r["old_label"]),
                          r.get("new_label") if action == "relabel" else None, reviewer, note, "",
                          r.get("text_hash"), model_fingerprint, r.get("model_pred"), None, None, batch, text)
                 for r in rows]
    try:
        return batch, store.record_many(decisions)
    except ValueError as exc:
        raise BatchError(str(exc)) from None


def _parsed(bulk: object) -> dict:
    try:
        out = json.loads(bulk) if isinstance(bulk, str) else {}
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def batch_status(store: ReviewStore, dataset_key: str) -> pd.DataFrame:
    """Every batch on ``dataset_key``, newest first (:data:`BATCH_COLUMNS`): its kind (``apply`` or ``undo``),
    action, pattern, rows, reviewer, time, the batch it undoes and the undo batch that undid it (``""``)."""
    history = store.history(dataset_key)
    history = history[history["batch"].notna()]
    out = []
    for batch, events in history.groupby("batch", sort=False):
        record = _parsed(events["bulk"].iat[0])
        out.append({"batch": batch, "kind": record.get("kind", ""), "action": events["action"].iat[0],
                    "pattern": str(record.get("pattern", "")), "rows": len(events),
                    "reviewer": events["reviewer"].iat[0], "time": events["time"].iat[0],
                    "undoes": str(record.get("undoes", "")), "record": events["bulk"].iat[0],
                    "first_id": int(events["id"].min())})
    frame = pd.DataFrame(out, columns=[*BATCH_COLUMNS[:-2], "record", "first_id"])
    undone = {u: b for b, u in zip(frame["batch"], frame["undoes"], strict=True) if u}
    frame.insert(BATCH_COLUMNS.index("undone_by"), "undone_by", [undone.get(b, "") for b in frame["batch"]])
    return frame.sort_values("first_id", ascending=False).drop(columns="first_id").reset_index(drop=True)


def _restore(history: pd.DataFrame, event: pd.Series) -> tuple[str, str | None, str]:
    """``(action, new_label, note)`` that gives the row of ``event`` back its current decision from before it."""
    before = history[(history["sample_id"] == event["sample_id"]) & (history["id"] < event["id"])
                     & (history["action"] != "skip")]
    if before.empty or before["action"].iat[-1] == "withdraw":
        return "withdraw", None, f"undoes {event['event_id']} (batch {event['batch']})"
    prev = before.iloc[-1]
    return str(prev["action"]), prev["new_label"], f"restores {prev['event_id']} (undo of batch {event['batch']})"


def undo_batch(store: ReviewStore, dataset_key: str, batch: str, *, reviewer: str) -> tuple[str, list[Decision], int]:
    """Revert ``batch`` as a new batch of events; returns ``(undo batch id, its decisions, rows left as they are
    because a later decision replaced the batch's)``. :class:`BatchError` for an unknown or undone batch."""
    status = batch_status(store, dataset_key)
    match = status[status["batch"] == batch]
    if match.empty:
        raise BatchError(f"no batch {batch!r} on this split")
    if match["action"].iat[0] == "skip":
        raise BatchError(f"batch {batch} skipped its rows: skips decide nothing, so there is nothing to undo")
    if match["undone_by"].iat[0]:
        raise BatchError(f"batch {batch} was undone already (by batch {match['undone_by'].iat[0]})")
    history = store.history(dataset_key)
    undecided = history[history["action"] != "skip"]
    current = undecided.drop_duplicates("sample_id", keep="last").set_index("sample_id")["event_id"]
    events = history[history["batch"] == batch]
    todo = events[[current.get(s) == e for s, e in zip(events["sample_id"], events["event_id"], strict=True)]]
    undo_id = uuid.uuid4().hex
    text = bulk_text({"kind": "undo", "undoes": batch, "pattern": match["pattern"].iat[0]})
    decisions = []
    for _, event in todo.iterrows():
        action, new_label, note = _restore(history, event)
        decisions.append(Decision(0, "", dataset_key, int(event["sample_id"]), action, str(event["old_label"]),
                                  new_label, reviewer, note, "", event["text_hash"], str(event["model_fingerprint"]),
                                  event["model_pred"], None, None, undo_id, text))
    if not decisions:
        raise BatchError(f"every row of batch {batch} has a later decision; nothing to undo")
    return undo_id, store.record_many(decisions), len(events) - len(todo)
