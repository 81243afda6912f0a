"""The one check every decision made elsewhere passes before it can become a decision here.

Decisions arrive from two places: a reviewer's upload (JSON Lines, :func:`import_upload`) and the sync
target (:class:`core.review.sync.ReviewSync`). Both go through :func:`import_checked`, which sorts
each event into one outcome:

- ``added``: a valid decision on a row this server analyses; recorded (a new local ``id``, so it is the
  row's current decision only if nothing is recorded after it here);
- ``already present``: the same event id with the same content is already in the store;
- ``set aside``: a valid decision for a dataset key this server does not analyse; kept in the store's
  ``set_aside`` table for inspection and never applied;
- ``refused``: anything else, with the reason: not UTF-8, not JSON, not a valid decision, a time more
  than :data:`SKEW_S` seconds in the future or before :data:`EARLIEST`, a label outside the label
  set, a row outside the split, another reviewer's name on an upload (``login`` and ``password``
  access), a reviewer who may not write (sync), or an event id already present with other content.

Nothing is silent: :class:`ImportReport` counts every outcome and keeps every reason.

Example
-------
>>> import tempfile
>>> from core.review.store import ReviewStore
>>> folder = tempfile.TemporaryDirectory()
>>> store = ReviewStore(Path(folder.name) / "r.sqlite")
>>> rules = EventRules(labels=frozenset({"joy", "fear"}), rows={"abc:train": 10}, uploader="ana")
>>> line = b'{"event_id": "e1e1e1e1", "time": "2026-01-01T00:00:00+00:00", "dataset_key": "abc:train", '
>>> line += b'"sample_id": 3, "action": "relabel", "old_label": "joy", "new_label": "anger"}'
>>> report = import_upload(store, line, rules=rules)
>>> report.added, report.refused, report.reasons()
(0, 1, ["line 1: new_label 'anger' is not a label (fear, joy)"])
>>> store.close(); folder.cleanup()
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from core.review.access import parse_allowlist, parse_users
from core.review.decision import parse_audit_tag
from core.review.store import Decision, ReviewStore, ReviewStoreError, decision_from_event

#: Seconds an event's time may lie ahead of this server's clock (another machine's clock skew).
SKEW_S = 300.0
#: No decision of this tool is older; an earlier time is a broken clock or a forgery.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
#: A JSON Lines line longer than this is refused unread (bytes).
MAX_LINE_BYTES = 1_000_000
#: A JSON Lines file (an upload, or one event file at the sync target) longer than this is refused unread (bytes).
MAX_FILE_BYTES = 64 * 2**20
MAX_REASON_CHARS = 300
OUTCOMES: tuple[str, ...] = ("added", "already present", "set aside", "refused")


@dataclass(frozen=True)
class EventRules:
    """What an event must satisfy here.

    ``labels``: the label set; ``rows``: review key -> rows in that split, for every key this server
    analyses (a legacy key may map to its split's rows too); ``uploader``: on an upload in ``login`` or
    ``password`` access, the checked name every event is recorded under (an event naming someone else is
    refused); ``reviewers``: names that may write (sync in ``password`` access, or ``login`` with a user
    allow-list), ``None`` when any name may; ``skew_s``: tolerated clock skew.
    """

    labels: frozenset[str]
    rows: Mapping[str, int]
    uploader: str | None = None
    reviewers: frozenset[str] | None = None
    skew_s: float = SKEW_S


def rules_for(
    settings, *, labels: Iterable[str], rows: Mapping[str, int], uploader: str | None = None
) -> EventRules:
    """The rules for ``settings.access``: ``uploader`` (the name :func:`core.review.access.authorize`
    returned) binds an upload in ``login``/``password`` access; a sync (``uploader=None``) admits the
    reviewers the access settings name (any name in ``open`` access, or ``login`` with organisations)."""
    mode = settings.access
    reviewers = None
    if mode == "password":
        reviewers = frozenset(name.casefold() for name, _ in parse_users(settings.review_users))
    elif mode == "login":
        users, orgs = parse_allowlist(settings.reviewers)
        reviewers = users if users and not orgs else None
    bound = uploader if mode in ("login", "password") and uploader else None
    return EventRules(labels=frozenset(labels), rows=dict(rows), uploader=bound, reviewers=reviewers)


@dataclass
class ImportReport:
    """Every event's outcome: ``(where, event_id, outcome, reason)`` rows, and counts."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        """How many events had ``outcome`` (one of :data:`OUTCOMES`)."""
        return sum(r[2] == outcome for r in self.rows)

    @property
    def added(self) -> int:
        return self.count("added")

    @property
    def refused(self) -> int:
        return self.count("refused")

    @property
    def set_aside(self) -> int:
        return self.count("set aside")

    def reasons(self, outcome: str = "refused", limit: int = 5) -> list[str]:
        """``"<where>: <reason>"`` for the first ``limit`` events with ``outcome``."""
        return [f"{w}: {why}" for w, _, o, why in self.rows if o == outcome][:limit]

    def summary(self) -> str:
        """One line for people, with the first reasons for refusals."""
        line = (f"{self.added} new decisions imported, {self.count('already present')} already present, "
                f"{self.set_aside} set aside, {self.refused} refused")
        if self.set_aside:
            line += f" (set aside: {'; '.join(self.reasons('set aside', 3))})"
        if self.refused:
            more = self.refused - len(self.reasons())
            line += f" ({'; '.join(self.reasons())}{f'; {more} more' if more > 0 else ''})"
        return line + "."


def read_jsonl(data: bytes, *, source: str = "line") -> list[tuple[str, dict | None, str]]:
    """``(where, event or None, why not)`` per non-blank line; a line that cannot be read gets ``None`` and a
    reason, and so does the whole input when it is longer than :data:`MAX_FILE_BYTES`. Never raises on content."""
    if len(data) > MAX_FILE_BYTES:
        return [(f"{source}s", None, f"file of {len(data)} bytes, longer than {MAX_FILE_BYTES}: not read")]
    out = []
    for n, raw in enumerate(data.split(b"\n"), 1):
        if raw.strip():
            event, why = _read_line(raw)
            out.append((f"{source} {n}", event, why))
    return out


def _read_line(raw: bytes) -> tuple[dict | None, str]:
    """One JSON Lines line as ``(event, "")`` or ``(None, why not)``."""
    if len(raw) > MAX_LINE_BYTES:
        return None, f"line longer than {MAX_LINE_BYTES} bytes"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte {exc.start})"
    try:
        event = json.loads(text)
    except RecursionError:
        return None, "not JSON (nested too deeply)"
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4,300 digits
        return None, f"not JSON ({getattr(exc, 'msg', None) or str(exc)[:100]})"
    if not isinstance(event, dict):
        return None, f"expected an object, got {type(event).__name__}"
    return event, ""


def check_event(event: dict, rules: EventRules, *, now: datetime | None = None) -> tuple[Decision | None, str, str]:
    """``(decision, outcome, reason)`` for one event without touching a store (``added`` means "may be added")."""
    try:
        d = decision_from_event(event)
    except (ValueError, TypeError) as exc:
        return None, "refused", str(exc)
    except Exception as exc:  # RecursionError, OverflowError, ...: the event's problem, never the caller's
        return None, "refused", f"not a valid decision ({type(exc).__name__})"
    now = now or datetime.now(timezone.utc)
    when = datetime.fromisoformat(d.time)
    if when > now + timedelta(seconds=rules.skew_s):
        return None, "refused", f"time {d.time} is in the future (this server's clock: {now.isoformat()})"
    if when < EARLIEST:
        return None, "refused", f"time {d.time} is before {EARLIEST.date()}"
    names = ", ".join(sorted(rules.labels))
    for name in ("old_label", "new_label"):
        value = getattr(d, name)
        if value is not None and value not in rules.labels:
            return None, "refused", f"{name} {value!r} is not a label ({names})"
    if d.audit is not None:
        try:
            parse_audit_tag(d.audit)
        except ValueError as exc:
            return None, "refused", str(exc)
    if rules.uploader is not None:
        if d.reviewer and d.reviewer.casefold() != rules.uploader.casefold():
            return None, "refused", f"names reviewer {d.reviewer!r}, but the upload is by {rules.uploader!r}"
        d = replace(d, reviewer=rules.uploader)
    elif rules.reviewers is not None and d.reviewer and d.reviewer.casefold() not in rules.reviewers:
        return None, "refused", f"reviewer {d.reviewer!r} may not write here"
    if d.dataset_key not in rules.rows:
        return d, "set aside", f"dataset key {d.dataset_key!r} is not analysed here"
    if d.sample_id >= rules.rows[d.dataset_key]:
        return None, "refused", f"sample {d.sample_id} is not in 0..{rules.rows[d.dataset_key] - 1}"
    return d, "added", ""


def import_checked(
    store: ReviewStore,
    items: Iterable[tuple[str, dict | None, str]],
    *,
    rules: EventRules,
    source: str,
    synced_to: str | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Check ``(where, event, why not)`` items (as :func:`read_jsonl` gives them) and record what passes.

    Valid decisions for a known key are added in the items' order (idempotent by event id); valid ones
    for an unknown key are set aside; the rest are refused with their reason. ``synced_to`` marks the
    added and present events as already on that sync target. Returns every outcome.
    """
    report = ImportReport()
    items = list(items)
    stored = store.stored_events(_event_ids(items))
    checked: list[tuple[int, str, Decision, str, str]] = []
    for where, event, why in items:
        if event is None:
            report.rows.append((where, "", "refused", why))
            continue
        if _unchanged(event, stored):  # already here as it is: changes nothing, whatever the rules say now
            report.rows.append((where, event["event_id"], "already present", ""))
            continue
        try:
            decision, outcome, reason = check_event(event, rules, now=now)
        except Exception as exc:  # the event boundary: one event's oddity never stops the others
            decision, outcome, reason = None, "refused", f"could not be checked ({type(exc).__name__})"
        reason = reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS] + "..."
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else ""
        report.rows.append((where, str(event_id)[:64], outcome, reason))
        if decision is not None:
            checked.append((len(report.rows) - 1, where, decision, outcome, reason))
    present = dict(stored)
    to_add: list[Decision] = []
    aside: list[tuple[Decision, str]] = []
    for slot, where, d, outcome, reason in checked:
        earlier = present.get(d.event_id)
        if earlier is not None:
            same = earlier == d.to_event()
            outcome, reason = ("already present", "") if same else (
                "refused", "event id already present with other content")
        elif outcome == "added":
            present[d.event_id] = d.to_event()
            to_add.append(d)
        else:
            aside.append((d, reason))
        report.rows[slot] = (where, d.event_id, outcome, reason)
    _add(store, report, to_add, aside, source=source, synced_to=synced_to)
    return report


def _add(store: ReviewStore, report: ImportReport, to_add: list[Decision], aside: list[tuple[Decision, str]], *,
         source: str, synced_to: str | None) -> None:
    """Record the checked decisions in one transaction; should one of them still not store (a value SQLite
    cannot hold), store them one by one and refuse just those. A failing database raises as ever."""
    try:
        store.add_checked(to_add, set_aside=aside, source=source, synced_to=synced_to)
        return
    except ReviewStoreError:
        raise
    except Exception:
        pass
    failed: dict[str, str] = {}
    for d, why in [*((d, None) for d in to_add), *aside]:
        try:
            store.add_checked([d] if why is None else [], set_aside=[] if why is None else [(d, why)],
                              source=source, synced_to=synced_to)
        except ReviewStoreError:
            raise
        except Exception as exc:
            failed[d.event_id] = f"cannot be stored ({type(exc).__name__})"
    for i, (where, event_id, outcome, _) in enumerate(report.rows):
        if event_id in failed and outcome in ("added", "set aside"):
            report.rows[i] = (where, event_id, "refused", failed[event_id])


def _event_ids(items: list[tuple[str, dict | None, str]]) -> list[str]:
    """The event ids worth looking up (ASCII, at most 64 characters: no other id can be stored)."""
    ids = (e.get("event_id") for _, e, _ in items if e is not None)
    return [i for i in ids if isinstance(i, str) and i.isascii() and len(i) <= 64]


def _unchanged(event: dict, stored: dict[str, dict]) -> bool:
    """Whether ``event`` is a valid decision already stored with exactly this content."""
    event_id = event.get("event_id")
    earlier = stored.get(event_id) if isinstance(event_id, str) else None
    if earlier is None:
        return False
    try:
        return decision_from_event(event).to_event() == earlier
    except Exception:  # any oddity: not unchanged; check_event says why
        return False


def import_upload(store: ReviewStore, data: bytes | str | Path, *, rules: EventRules) -> ImportReport:
    """Import an uploaded JSON Lines file (bytes, or a path) under ``rules``; the access check is the caller's."""
    if isinstance(data, (str, Path)):
        size = Path(data).stat().st_size
        if size > MAX_FILE_BYTES:
            return import_checked(store, [("upload", None, f"file of {size} bytes, longer than {MAX_FILE_BYTES}: "
                                                            "not read")], rules=rules, source="upload")
        data = Path(data).read_bytes()
    return import_checked(store, read_jsonl(data), rules=rules, source="upload")
