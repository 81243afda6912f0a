"""Copy review decisions to a sync target so they outlive the machine, and restore them on start.

A Hugging Face Space's disk is wiped on every restart, rebuild and wake-up; the review database in
the cache folder goes with it. :class:`ReviewSync` keeps a second copy at an fsspec URL:

- ``file:///path``: a folder (a mounted storage volume, or the tests' temporary folders);
- ``hf://datasets/<owner>/<repo>``: a Hub dataset, written with ``huggingface_hub``'s ``HfFileSystem``
  using the ``HF_TOKEN`` secret of the Space (read by ``huggingface_hub`` itself).

Every decision is committed to the local SQLite file first (:class:`core.review.store.ReviewStore`);
the sync appends it later to the target as an immutable JSON Lines file
``events/<utc time>-<replica id>-<sequence>.jsonl`` (one decision per line, every field but the
local ``id``), in batches every ``every_s`` seconds from a daemon thread and once more on
:meth:`ReviewSync.close` (also registered with ``atexit``). A file on the target is never rewritten:
local folders get a temporary file that is hard-linked to its final name (which fails rather than
overwrite) and removed; other filesystems write a fresh name in one operation (one Hub commit).

What has been pushed is remembered per target in the store's ``synced`` table, after the file is
written: a ``kill -9`` between the two re-pushes that batch once more, which is harmless because
restoring is idempotent by ``event_id``. On :meth:`ReviewSync.start`, and on every later cycle, the
event files not read yet are imported (:meth:`ReviewStore.import_events`), so the store holds the
union of the target and its own not-yet-pushed decisions, and two replicas on one target converge.

Failures (read-only folder, full disk, no network, bad token) never lose a decision and never block
a reviewer: the decision stays in SQLite, :meth:`ReviewSync.status` says what failed and when, and
the next cycle tries again.

Precomputed analyses, which a Space fetches from the same target, are :mod:`core.analysis.precomputed`.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from core.files import write_atomic
from core.redact import redact_text, redact_url
from core.review.eventfiles import READ_TRIES, Quarantine, event_files
from core.review.store import ReviewStore, ReviewStoreError
from core.review.trust import MAX_FILE_BYTES, EventRules, ImportReport, import_checked, read_jsonl

log = logging.getLogger(__name__)

EVENTS_DIR = "events"
BATCH = 5_000
FLAGGED_FILES = 20
PERSISTENT_ROOT = Path("/data")  # where a Space's persistent storage is mounted


class SyncTargetError(ReviewStoreError):
    """A sync URL that cannot be used at all (unknown protocol, missing library); the message says which."""


def open_target(url: str):
    """``(filesystem, root path)`` for an fsspec URL; raises :class:`SyncTargetError` with a clear message."""
    import fsspec

    if not url or "://" not in url:
        raise SyncTargetError(f"review sync target {redact_url(url or '')!r} is not a URL; use file:///path or "
                              "hf://datasets/owner/repo")
    try:
        fs, root = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise SyncTargetError(f"review sync target {redact_url(url)!r} cannot be opened "
                              f"({redact_text(str(exc), url)})") from None
    return fs, root.rstrip("/")


def _is_local(fs) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return bool({"file", "local"} & set(protocol))


@dataclass
class SyncCounts:
    """What the sync has done since it started."""

    pushed: int = 0
    restored: int = 0
    files_read: int = 0
    refused: int = 0
    set_aside: int = 0


class ReviewSync:
    """Append a store's decisions to ``url`` and restore them from it (see the module docstring).

    Parameters
    ----------
    store : the local review database.
    url : fsspec URL of the target folder; it may hold credentials, which are never shown or logged
        (:attr:`url` is the redacted form, also the target's name in the store's bookkeeping).
    every_s : seconds between sync cycles of the background thread.
    rules : what an event read from the target must satisfy (:mod:`core.review.trust`); refusals are
        counted in :attr:`counts`, their first reasons kept in :attr:`refusals` and shown by :meth:`status`;
        the whole report of each of the last files that had any is in :attr:`flagged`.
    max_file_bytes : an event file at the target longer than this is quarantined unread; the files this sync
        writes stay under it.

    A target file that cannot be imported (too long, a folder, or any error while it is read or checked)
    is quarantined (:mod:`core.review.eventfiles`): its name and reason are kept in :attr:`quarantine` and
    shown by :meth:`status`, it is not read again by this process, and the pull moves on to the next file.
    A file the filesystem fails to give is tried again on the next passes, and quarantined after
    :data:`core.review.eventfiles.READ_TRIES` failures.
    """

    def __init__(self, store: ReviewStore, url: str, every_s: float = 60.0, *, rules: EventRules,
                 max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self.store = store
        self._secret_url = url.rstrip("/")
        self.url = redact_url(self._secret_url)
        self.rules = rules
        self.refusals: list[str] = []
        self.flagged: dict[str, ImportReport] = {}  # the last files with refused or set-aside events
        self.quarantine = Quarantine()  # target files not imported, and why
        self.max_file_bytes = int(max_file_bytes)
        self.every_s = max(0.05, float(every_s))
        self.fs, self.root = open_target(url)
        self.replica = uuid.uuid4().hex[:12]
        self.counts = SyncCounts()
        self.last_ok: str | None = None
        self.last_error: str | None = None
        self._seq = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"ReviewSync({self.url!r}, every_s={self.every_s})"

    # ---- life cycle ----------------------------------------------------------------------------

    def start(self) -> ReviewSync:
        """Restore from the target (errors go to :meth:`status`), then sync every ``every_s`` seconds."""
        self.sync_now()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="review-sync", daemon=True)
            self._thread.start()
            atexit.register(self.close)
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.sync_now()

    def close(self) -> None:
        """Stop the thread and push what is left (safe to call twice)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, self.every_s))
            self._thread = None
            with contextlib.suppress(Exception):
                atexit.unregister(self.close)
        self.sync_now(pull=False)

    def exit_on_sigterm(self) -> None:
        """On SIGTERM (how a Space is stopped), push what is left and exit with status 0; call from the main
        thread.

        The push and the exit run in a thread of their own: a ``SystemExit`` raised by the handler is lost
        when the handler happens to run inside a weakref callback (Python ignores exceptions there), and
        the server then stayed up, its last decisions unpushed, until it was killed.
        """
        stopping = threading.Event()

        def stop() -> None:
            self.close()
            print(f"Stopped (SIGTERM). {self.status()}", file=sys.stderr, flush=True)
            logging.shutdown()
            sys.stdout.flush()
            os._exit(0)

        def on_sigterm(_signum, _frame) -> None:
            if not stopping.is_set():
                stopping.set()
                threading.Thread(target=stop, name="sigterm-stop").start()

        signal.signal(signal.SIGTERM, on_sigterm)

    # ---- one cycle -----------------------------------------------------------------------------

    def sync_now(self, *, pull: bool = True) -> bool:
        """Push unsynced decisions, then read new event files; ``True`` when both worked."""
        with self._lock:
            try:
                self._push()
                if pull:
                    self._pull()
            except Exception as exc:  # any failure: keep everything local, report it, retry next cycle
                detail = redact_text(str(exc), self._secret_url)[:200]
                self.last_error = f"{_utc_clock()} ({type(exc).__name__}: {detail})"
                log.warning("review sync to %s failed: %s", self.url, self.last_error)
                return False
            self.last_ok, self.last_error = _utc_clock(), None
            return True

    def _push(self) -> None:
        while True:
            events = self.store.unsynced(self.url, limit=BATCH)
            if not events:
                return
            for chunk, data in event_files(events, self.max_file_bytes):
                name = self._write_events(data)
                self._seen.add(name)
                self.store.mark_synced(self.url, [e["event_id"] for e in chunk])
                self.counts.pushed += len(chunk)

    def _write_events(self, data: bytes) -> str:
        """Write one new, never-overwritten event file of JSON Lines ``data``; returns its name."""
        self.fs.makedirs(f"{self.root}/{EVENTS_DIR}", exist_ok=True)
        while True:
            self._seq += 1
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            name = f"{stamp}-{self.replica}-{self._seq:06d}.jsonl"
            path = f"{self.root}/{EVENTS_DIR}/{name}"
            if _is_local(self.fs):
                with contextlib.suppress(FileExistsError):
                    write_atomic(path, lambda tmp: tmp.write_bytes(data), fsync=True, overwrite=False)
                    return name
            elif not self.fs.exists(path):
                self.fs.pipe_file(path, data)
                return name

    def _pull(self) -> None:
        folder = f"{self.root}/{EVENTS_DIR}"
        with contextlib.suppress(Exception):
            self.fs.invalidate_cache(folder)
        if not self.fs.exists(folder):
            return
        entries = sorted((e["name"].rsplit("/", 1)[-1], e) for e in self.fs.ls(folder, detail=True))
        unread: list[str] = []
        for name, entry in entries:
            if name in self._seen or name.startswith(".") or not name.endswith(".jsonl"):
                continue
            try:  # the file boundary: whatever one file holds, the pull goes on to the next
                why = self._import_file(f"{folder}/{name}", name, entry)
            except ReviewStoreError as exc:  # the local database failed, not the file: tried again next pass
                unread.append(f"{name} ({exc})")
                continue
            except OSError as exc:  # the target did not give the file: tried again, quarantined in the end
                tries = self.quarantine.read_failed(name)
                why = f"could not be read in {tries} passes ({type(exc).__name__}: {exc})"
                if tries < READ_TRIES:
                    unread.append(f"{name} ({type(exc).__name__}: {exc})")
                    continue
            except Exception as exc:
                why = f"{type(exc).__name__}: {exc}"
            if why:
                self.quarantine.add(name, redact_text(why, self._secret_url))
            self._seen.add(name)
        if unread:
            raise OSError(f"{len(unread)} event files not read, tried again next pass: {'; '.join(unread[:3])}")

    def _import_file(self, path: str, name: str, entry: dict) -> str:
        """Import one event file; why it is not one (a folder, or too long), else ``""``."""
        size = entry.get("size")
        if entry.get("type") == "directory":
            return "a folder, not an event file"
        data = b"" if isinstance(size, int) and size > self.max_file_bytes else self.fs.cat_file(path)
        n = max(len(data), size if isinstance(size, int) else 0)  # the listing's size may be missing or stale
        if n > self.max_file_bytes:
            return f"{n} bytes, longer than {self.max_file_bytes}: not read"
        items = read_jsonl(data, source=f"{name} line")
        self._count(name, import_checked(self.store, items, rules=self.rules, source=self.url, synced_to=self.url))
        self.counts.files_read += 1
        return ""

    def _count(self, name: str, report: ImportReport) -> None:
        self.counts.restored += report.added
        self.counts.refused += report.refused
        self.counts.set_aside += report.set_aside
        for reason in report.reasons(limit=1_000):
            log.warning("review sync: refused %s", reason)
        self.refusals = (self.refusals + report.reasons(limit=5))[:5]
        if report.refused or report.set_aside:
            self.flagged = {**self.flagged, name: report}
            self.flagged = dict(list(self.flagged.items())[-FLAGGED_FILES:])

    # ---- reporting -----------------------------------------------------------------------------

    def pending(self) -> int:
        """Decisions not yet on the target."""
        try:
            return self.store.unsynced_count(self.url)
        except ReviewStoreError:
            return -1

    def status(self) -> str:
        """One line for people: where decisions go, what is pending, and the last error if any."""
        pending = self.pending()
        waiting = f"{pending} decision{'s' * (pending != 1)} not yet synced" if pending else "everything synced"
        quarantine = self.quarantine.note()
        if self.last_error:
            return (f"Sync to {self.url} failed at {self.last_error}; {waiting}, kept in the local database and "
                    f"retried every {self.every_s:g} s." + (f" {quarantine}." if quarantine else ""))
        if self.last_ok is None:
            return f"Decisions sync to {self.url} every {self.every_s:g} s; not synced yet ({waiting})."
        bad = f", {self.counts.set_aside} set aside (not analysed here)" if self.counts.set_aside else ""
        if self.counts.refused:
            bad += f", {self.counts.refused} refused: {'; '.join(self.refusals[:3])}"
        if quarantine:
            bad += f", {quarantine}"
        return (f"Decisions sync to {self.url} every {self.every_s:g} s; last sync {self.last_ok}: {waiting} "
                f"({self.counts.pushed} pushed, {self.counts.restored} restored{bad}).")


def _utc_clock() -> str:
    return datetime.now(timezone.utc).strftime("%H:%M:%S UTC")


def on_persistent_storage(settings, root: Path = PERSISTENT_ROOT) -> bool:
    """Whether the review database lives on a Space's persistent storage (``/data``)."""
    db = Path(settings.review_db_path).expanduser().resolve()
    return root.is_dir() and db.is_relative_to(root.resolve())


def ephemeral_warning(settings, root: Path = PERSISTENT_ROOT) -> str:
    """The warning for a Space whose decisions would be lost on restart, or ``""`` (Markdown)."""
    if not settings.space_id or settings.review_sync or on_persistent_storage(settings, root):
        return ""
    return ("**Decisions will be lost when this Space restarts** (a rebuild, an upgrade, or waking from sleep "
            "wipes its disk): no sync target is set (EMOTION_REVIEW_SYNC, e.g. hf://datasets/owner/repo) and "
            "the review database is not on persistent storage (/data). Download your decisions below before "
            "leaving, and upload them again after a restart.")
