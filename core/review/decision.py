"""One review decision: its fields, its check, and its form as a sync event.

A :class:`Decision` is what :class:`core.review.store.ReviewStore` records and what sync files and
uploads carry as JSON events (:meth:`Decision.to_event`); :func:`decision_from_event` checks such an
event and :func:`validated` fills in the stored form of any decision (``keep`` stores ``new_label =
old_label``; ``ambiguous``, ``not_emotion``, ``skip`` and ``withdraw`` store no new label).

Example
-------
>>> decision_from_event({"event_id": "a1b2c3d4", "time": "2024-01-01T00:00:00+00:00", "dataset_key": "k:train",
...                      "sample_id": 3, "action": "keep", "old_label": "joy"}).new_label
'joy'
"""

from __future__ import annotations

import json
import math
import numbers
import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone

#: ``not_emotion``: the text expresses no emotion of the writer (spam, a plain report); it takes no new label.
#: ``withdraw``: takes back the sample's current decision (an undo, as a new event); the sample is undecided again.
ACTIONS: tuple[str, ...] = ("keep", "relabel", "ambiguous", "not_emotion", "skip", "withdraw")
MAX_NOTE_CHARS = 10_000
MAX_REVIEWER_CHARS = 200
MAX_TIME_CHARS = 64
#: A bulk decision's ``bulk`` record (JSON text) is at most this long.
MAX_BULK_CHARS = 2_000
_EVENT_ID = re.compile(r"[A-Za-z0-9]{8,64}")
#: Strata of an audit design (:mod:`core.audit.design`); ``all`` is a draw made without a ranking.
AUDIT_STRATA: tuple[str, ...] = ("top1", "top5", "top20", "rest", "all")
#: ``uniform|stratified:<stratum>[@<ranking digest>]``, a legacy bare ``uniform``, or ``revision``.
_AUDIT_TAG = re.compile(
    rf"(?:(uniform|stratified):({'|'.join(AUDIT_STRATA)})(?:@([0-9a-f]{{12}}))?|(uniform)|(revision))")


def parse_audit_tag(tag: str) -> tuple[str, str, str | None]:
    """An audit decision's ``audit`` field as ``(sampling, stratum, ranking digest or None)``.

    ``"stratified:top5@0123456789ab"`` is a stratified draw from the top-5% stratum of the ranking with
    that digest; a tag without a digest is from before digests were recorded (``None``); a bare
    ``"uniform"`` is a legacy uniform draw (stratum ``all``); ``"revision"`` is a correction made after
    the reveal (stratum ``all``), never used by the estimates.

    >>> parse_audit_tag("stratified:top5@0123456789ab"), parse_audit_tag("revision")
    (('stratified', 'top5', '0123456789ab'), ('revision', 'all', None))
    >>> parse_audit_tag("uniform:foo")
    Traceback (most recent call last):
    ValueError: audit 'uniform:foo' is not '<uniform|stratified>:<top1|top5|top20|rest|all>[@<digest>]' or 'revision'
    """
    match = _AUDIT_TAG.fullmatch(tag) if isinstance(tag, str) else None
    if match is None:
        shown = tag[:80] if isinstance(tag, str) else tag
        raise ValueError(f"audit {shown!r} is not '<uniform|stratified>:<{'|'.join(AUDIT_STRATA)}>[@<digest>]' "
                         "or 'revision'")
    sampling, stratum, digest, legacy, revision = match.groups()
    if sampling:
        return sampling, stratum, digest
    return (legacy or revision), "all", None
_TEXT_FIELDS = ("dataset_key", "old_label", "new_label", "reviewer", "note", "text_hash", "model_fingerprint",
                "model_pred", "audit", "bulk")


@dataclass(frozen=True)
class Decision:
    """One recorded action; ``time`` is ISO 8601 UTC, ``id`` is local to one database file.

    ``event_id`` names the decision on every replica; ``text_hash`` is ``None`` for decisions
    migrated from schema 1; ``model_pred`` is ``None`` when the caller did not say. An audit decision
    (:mod:`core.audit`) carries its design in ``audit`` (see :func:`parse_audit_tag`); ``weight`` is kept
    for older files only (estimates derive weights from the design); both are ``None`` otherwise.

    A bulk decision (one row of a pattern decided in one action, :mod:`core.review.batches`) carries the
    ``batch`` id it shares with the other rows of that action and, in ``bulk``, a JSON object saying what
    the action was (the pattern and the spot check's k, hits, precision, lower bound and threshold, or the
    batch an undo reverts); both are ``None`` for a decision made one row at a time (schema 5).
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
    batch: str | None = None
    bulk: str | None = None

    def to_event(self) -> dict:
        """The decision as a JSON-able dict without the local ``id`` (what sync writes)."""
        event = asdict(self)
        del event["id"]
        return event


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Decision))
EVENT_FIELDS: tuple[str, ...] = COLUMNS[1:]


def values(d: Decision) -> tuple:
    """The decision's :data:`EVENT_FIELDS` in order (one ``INSERT``'s parameters)."""
    return tuple(getattr(d, name) for name in EVENT_FIELDS)


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
    time = utc_time(event["time"])
    optional = {k: event.get(k) for k in ("text_hash", "model_pred")}
    for key, value in optional.items():
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key} must be a string or null, got {value!r}")
    decision = Decision(
        0, time, event["dataset_key"], event["sample_id"],
        event["action"], event["old_label"], event.get("new_label"), event.get("reviewer") or "",
        event.get("note") or "", event_id, optional["text_hash"], event.get("model_fingerprint") or "",
        optional["model_pred"], event.get("audit"), event.get("weight"), event.get("batch"), event.get("bulk"),
    )
    return validated(decision)


def utc_time(value: object) -> str:
    """An event's ``time`` (ISO 8601 with a zone) as ISO 8601 UTC; ``ValueError`` naming why not.

    >>> utc_time("2024-01-01T02:00:00+02:00")
    '2024-01-01T00:00:00.000000+00:00'
    """
    if not isinstance(value, str) or len(value) > MAX_TIME_CHARS:
        shown = f"{type(value).__name__}" if not isinstance(value, str) else f"{len(value)} characters"
        raise ValueError(f"time must be an ISO 8601 string of at most {MAX_TIME_CHARS} characters, got {shown}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"time {value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise ValueError(f"time {value!r} has no time zone")
    try:
        return when.astimezone(timezone.utc).isoformat(timespec="microseconds")
    except (OverflowError, ValueError):  # 9999-12-31T23:59:59-14:00 is past the last year Python can hold
        raise ValueError(f"time {value!r} is out of range once in UTC") from None


def validated(d: Decision) -> Decision:
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
    for name in _TEXT_FIELDS:  # a lone surrogate ("\\ud800" in JSON) cannot be stored as UTF-8
        value = getattr(d, name)
        if isinstance(value, str) and not _encodes(value):
            raise ValueError(f"{name} is not valid Unicode text (a lone surrogate)")
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
    _check_bulk(d.batch, d.bulk)
    return replace(d, sample_id=int(d.sample_id), new_label=new_label, weight=weight, reviewer=str(d.reviewer or ""),
                   note=str(d.note or ""), model_fingerprint=str(d.model_fingerprint or ""))


def _check_bulk(batch: object, bulk: object) -> None:
    """A bulk decision's ``batch`` (an id like an event id) and ``bulk`` (a JSON object, as text); ``ValueError``."""
    if batch is None:
        if bulk is not None:
            raise ValueError("a bulk record belongs to a batch decision; batch is missing")
        return
    if not isinstance(batch, str) or not _EVENT_ID.fullmatch(batch):
        raise ValueError(f"batch must be 8 to 64 letters or digits, got {batch!r}"[:200])
    if not isinstance(bulk, str) or len(bulk) > MAX_BULK_CHARS:
        raise ValueError(f"a batch decision needs its bulk record: a JSON object of at most {MAX_BULK_CHARS} "
                         "characters")
    try:
        record = json.loads(bulk)
    except (ValueError, RecursionError):
        raise ValueError("bulk is not JSON") from None
    if not isinstance(record, dict):
        raise ValueError(f"bulk must be a JSON object, got {type(record).__name__}")


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
