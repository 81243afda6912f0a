"""Event files at a sync target: cut under a byte limit when written, kept aside when they cannot be imported.

:class:`core.review.sync.ReviewSync` writes decisions as JSON Lines files of at most ``max_file_bytes``
(:func:`event_files`) and reads the other replicas' files. A file it cannot import (too long, a folder,
content that breaks the reader, or a file the target fails to give :data:`READ_TRIES` passes in a row) is
recorded in a :class:`Quarantine` with the reason, shown in the sync status, and not read again by this
process; the pull goes on to the next file, so one bad file never stops the replicas converging.

Example
-------
>>> [len(chunk) for chunk, _ in event_files([{"a": 1}] * 5, most=20)]
[2, 2, 1]
>>> q = Quarantine(); q.add("x.jsonl", "a folder, not an event file"); q.note()
'1 target file quarantined (not imported): x.jsonl (a folder, not an event file)'
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

#: Passes a target file may fail to be read (an error of the filesystem) before it is quarantined.
READ_TRIES = 3
#: Quarantined files whose names and reasons are kept (the latest).
KEPT = 20
MAX_REASON_CHARS = 300


def event_files(events: list[dict], most: int) -> list[tuple[list[dict], bytes]]:
    """``events`` cut into consecutive files of at most ``most`` bytes (one event may exceed it alone):
    ``(events, JSON Lines bytes)`` per file."""
    out: list[tuple[list[dict], bytes]] = []
    chunk: list[dict] = []
    lines: list[bytes] = []
    size = 0
    for event in events:
        line = (json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n").encode()
        if chunk and size + len(line) > most:
            out.append((chunk, b"".join(lines)))
            chunk, lines, size = [], [], 0
        chunk.append(event)
        lines.append(line)
        size += len(line)
    if chunk:
        out.append((chunk, b"".join(lines)))
    return out


@dataclass
class Quarantine:
    """Target files not imported: ``files`` (name -> reason, the last :data:`KEPT`), ``count`` in all, and
    the failed reads per file not quarantined yet."""

    files: dict[str, str] = field(default_factory=dict)
    count: int = 0
    failed_reads: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, reason: str) -> None:
        """Quarantine ``name`` for ``reason`` (already free of secrets)."""
        reason = reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS] + "..."
        self.files = dict(list({**self.files, name: reason}.items())[-KEPT:])
        self.count += 1
        self.failed_reads.pop(name, None)
        log.warning("review sync: quarantined %s: %s", name, reason)

    def read_failed(self, name: str) -> int:
        """Count one failed read of ``name``; how many so far (quarantine it at :data:`READ_TRIES`)."""
        self.failed_reads[name] = self.failed_reads.get(name, 0) + 1
        return self.failed_reads[name]

    def note(self) -> str:
        """The status's clause: how many files, and the last three with their reasons; ``""`` when none."""
        if not self.count:
            return ""
        shown = "; ".join(f"{name} ({why})" for name, why in list(self.files.items())[-3:])
        return f"{self.count} target file{'s' * (self.count != 1)} quarantined (not imported): {shown}"
