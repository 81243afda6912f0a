"""A corpus of hostile or odd review decision events, for the upload and the sync target (issue 26).

:func:`corpus` builds the events for one analysed split (its review key, labels and row count), around a
real decision it may collide with. Each entry names what the trust rules (:mod:`core.review.trust`)
must do with it on an upload by ``ana`` in ``login`` access (allow-list ``ana,bo``) and when read from
the sync target. :func:`markdown_table` prints the outcomes for the issue's closing note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


@dataclass(frozen=True)
class Entry:
    """One corpus line: ``name``, the raw bytes of its line, and the expected outcome per path."""

    name: str
    line: bytes
    upload: str
    sync: str


def _iso(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) + delta).isoformat()


def corpus(key: str, labels: list[str], row_labels: list[str], real: dict) -> list[Entry]:
    """The entries for ``key``; ``row_labels[i]`` is row i's label, ``real`` a real decision's event."""
    other = next(x for x in labels if x != row_labels[1])
    n = len(row_labels)
    counter = iter(range(1, 1000))

    def event(**fields) -> dict:
        base = {"event_id": f"hostile{next(counter):04d}", "time": _iso(timedelta(minutes=-1)), "dataset_key": key,
                "sample_id": 1, "action": "relabel", "old_label": row_labels[1], "new_label": other,
                "reviewer": "ana", "note": ""}
        return {**base, **fields}

    def line(obj) -> bytes:
        return json.dumps(obj).encode()

    ok, refused = "added", "refused"
    entries = [
        ("valid relabel (control)", line(event()), ok, ok),
        ("time 9999-12-31", line(event(time="9999-12-31T00:00:00+00:00")), refused, refused),
        ("time 10 minutes ahead", line(event(time=_iso(timedelta(minutes=10)))), refused, refused),
        ("time 2 minutes ahead (clock skew)", line(event(sample_id=2, action="keep", new_label=None,
                                                         old_label=row_labels[2], time=_iso(timedelta(minutes=2))))),
        ("time 1970-01-01", line(event(time="1970-01-01T00:00:00+00:00")), refused, refused),
        ("time without a zone", line(event(time="2026-01-01T00:00:00")), refused, refused),
        ("time 'yesterday'", line(event(time="yesterday")), refused, refused),
        ("new_label 'not-a-label'", line(event(new_label="not-a-label")), refused, refused),
        ("old_label 'not-a-label'", line(event(old_label="not-a-label")), refused, refused),
        ("action 'delete'", line(event(action="delete")), refused, refused),
        ("unknown dataset key", line(event(dataset_key="0123456789abcdef:validation")), "set aside", "set aside"),
        ("legacy key of another model", line(event(dataset_key="m0:d0:train")), "set aside", "set aside"),
        ("sample id past the split", line(event(sample_id=n + 1000)), refused, refused),
        ("negative sample id", line(event(sample_id=-1)), refused, refused),
        ("sample id as text", line(event(sample_id="1")), refused, refused),
        ("sample id true", line(event(sample_id=True)), refused, refused),
        ("another reviewer's name", line(event(reviewer="someone-else")), refused, refused),
        ("reviewer ANA (case)", line(event(sample_id=3, old_label=row_labels[3], action="ambiguous",
                                           new_label=None, reviewer="ANA")), ok, ok),
        ("no reviewer", line(event(sample_id=4, old_label=row_labels[4], action="keep", new_label=None,
                                   reviewer="")), ok, ok),
        ("reviewer of 300 characters", line(event(reviewer="a" * 300)), refused, refused),
        ("duplicate id, other content", line({**real, "note": "forged"}), refused, refused),
        ("duplicate id, same content", line(real), "already present", "already present"),
        ("note of 20,000 characters", line(event(note="x" * 20_000)), refused, refused),
        ("HTML in the note", line(event(sample_id=5, old_label=row_labels[5], action="ambiguous", new_label=None,
                                        note="<script>alert(1)</script><img src=x onerror=alert(1)>")), ok, ok),
        ("note that is a number", line(event(note=5)), refused, refused),
        ("invalid UTF-8 in the note", line(event(note="@@")).replace(b"@@", b"\xff\xfe"), refused, refused),
        ("truncated JSON", line(event())[:40], refused, refused),
        ("a JSON array", b"[1, 2, 3]", refused, refused),
        ("event id that is a list", line(event(event_id=["a" * 10])), refused, refused),
        ("event id '../../etc/passwd'", line(event(event_id="../../etc/passwd")), refused, refused),
        ("event id in non-ASCII letters", line(event(event_id="\u00e9" * 12)), refused, refused),
        ("relabel to its own label", line(event(new_label=row_labels[1])), refused, refused),
        ("keep with another new label", line(event(action="keep")), refused, refused),
        ("ambiguous with a new label", line(event(action="ambiguous")), refused, refused),
        ("audit weight Infinity", line(event(action="not_emotion", new_label=None, audit="uniform"))
         .replace(b'"note": ""', b'"note": "", "weight": Infinity'), refused, refused),
        ("audit weight -1", line(event(action="not_emotion", new_label=None, audit="uniform", weight=-1)),
         refused, refused),
        ("audit scheme 'bogus'", line(event(action="not_emotion", new_label=None, audit="bogus", weight=2.0)),
         refused, refused),
        ("weight without an audit", line(event(action="not_emotion", new_label=None, weight=2.0)), refused, refused),
        ("valid audit not_emotion", line(event(sample_id=6, old_label=row_labels[6], action="not_emotion",
                                               new_label=None, audit="stratified:top5", weight=12.5)), ok, ok),
        ("audit scheme with a path", line(event(action="not_emotion", new_label=None, audit="uniform:../../x",
                                                weight=2.0)), refused, refused),
        ("audit stratum unknown", line(event(action="not_emotion", new_label=None, audit="uniform:foo")),
         refused, refused),
        ("audit digest not hex", line(event(action="not_emotion", new_label=None, audit="uniform:rest@zzzzzzzzzzzz")),
         refused, refused),
        ("same event id twice, second differs", line(event(event_id="hostile0001", new_label=None,
                                                           action="ambiguous")), refused, refused),
    ]
    out = []
    for name, raw, *expected in entries:
        upload, sync = expected if expected else (ok, ok)
        out.append(Entry(name, raw, upload, sync))
    return out


def markdown_table(rows: list[tuple[str, str, str, str]]) -> str:
    """``(event, path, outcome, reason)`` rows as a Markdown table (``|`` escaped)."""
    lines = ["| event | path | outcome | reason |", "|---|---|---|---|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ")[:160] for c in row) + " |")
    return "\n".join(lines)
