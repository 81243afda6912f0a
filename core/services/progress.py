"""Which splits are still being analysed while the app already serves, and how far along they are.

:class:`AnalysisProgress` is fed by the analysis's progress callback (``stage, done, total``) and says, in
one line, the split, the stage and the time left in that stage (from the stage's own rate so far). A view
or an API call asking for a split that is not ready gets :class:`SplitNotReady`, whose message names the
split and that line: nothing pretends the split is there.

Example
-------
>>> p = AnalysisProgress(["validation"])
>>> p.line()
'Analysing the validation split: waiting to start.'
>>> p.finished("validation"); p.line()
''
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence

from core.data.text_input import InputError

__all__ = ["ALL_READY", "AnalysisProgress", "SplitNotReady"]

#: The log line once no split is left to analyse (printed at start when every analysis was cached).
ALL_READY = "Every split is analysed."
#: At most one log line per this many seconds within a stage (a new stage is always logged).
LOG_EVERY_S = 10.0
#: The time left in a stage is said once its rate has been measured over at least this many seconds.
MIN_RATE_S = 1.0


class SplitNotReady(InputError):
    """A split asked for before its analysis is ready (the message names it and says how far along it is)."""


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class AnalysisProgress:
    """The splits still to analyse, in order, and the stage of the one being analysed (thread-safe)."""

    def __init__(self, pending: Sequence[str], *, log: Callable[[str], None] | None = _stderr) -> None:
        self._pending = list(pending)
        self._failed: dict[str, str] = {}
        self._split: str | None = None
        self._stage: tuple[str, int, int, float] | None = None  # stage, done, total, started (monotonic)
        self._logged = (None, 0.0)  # (stage, when)
        self._log = log
        self._lock = threading.Lock()

    @property
    def pending(self) -> list[str]:
        """The splits not analysed yet (the one being analysed first)."""
        with self._lock:
            return list(self._pending)

    def is_ready(self, split: str) -> bool:
        with self._lock:
            return split not in self._pending and split not in self._failed

    def started(self, split: str) -> None:
        with self._lock:
            self._split, self._stage = split, None
        self._say(f"Analysing the {split} split...")

    def update(self, stage: str, done: int, total: int) -> None:
        """The analysis's progress callback (:func:`core.analysis.precompute.analyse_split`)."""
        now = time.monotonic()
        with self._lock:
            if self._stage is None or self._stage[0] != stage:
                self._stage = (stage, done, total, now)
            else:
                self._stage = (stage, done, total, self._stage[3])
            last_stage, last_when = self._logged
            due = stage != last_stage or now - last_when >= LOG_EVERY_S
            if due:
                self._logged = (stage, now)
        if due:
            self._say(self.line())

    def finished(self, split: str, seconds: float | None = None) -> None:
        with self._lock:
            self._pending = [s for s in self._pending if s != split]
            self._split, self._stage = None, None
        if seconds is not None:
            self._say(f"The {split} split is ready ({seconds:.1f} s); its views and API answer now.")
        self._say_if_done()

    def failed(self, split: str, reason: str) -> None:
        with self._lock:
            self._pending = [s for s in self._pending if s != split]
            self._failed[split] = reason
            self._split, self._stage = None, None
        self._say(f"The analysis of the {split} split failed: {reason}")
        self._say_if_done()

    def _say_if_done(self) -> None:
        if not self.pending:
            self._say(ALL_READY)

    def line(self) -> str:
        """One line for the page and the log: the split, the stage and the time left in it; "" when done."""
        with self._lock:
            pending, split, stage = list(self._pending), self._split, self._stage
        if not pending:
            return ""
        then = [s for s in pending if s != split]
        after = f" Then: {', '.join(then)}." if then and split else ""
        if split is None:
            return f"Analysing the {', '.join(pending)} split{'s' if len(pending) > 1 else ''}: waiting to start."
        if stage is None:
            return f"Analysing the {split} split: starting.{after}"
        name, done, total, began = stage
        elapsed = time.monotonic() - began
        share = f" {done / total:.0%} ({done:,} of {total:,})" if total > 1 else ""
        left = ""
        if 0 < done < total and elapsed >= MIN_RATE_S:  # a rate measured over less is noise
            left = f", about {max(1, round((total - done) * elapsed / done))} s left in this stage"
        return f"Analysing the {split} split: {name}{share}{left}.{after}"

    def not_ready(self, split: str) -> SplitNotReady:
        """The error for a request on ``split`` before it is ready."""
        with self._lock:
            reason = self._failed.get(split)
        if reason is not None:
            return SplitNotReady(f"The {split} split could not be analysed: {reason}")
        return SplitNotReady(f"The {split} split is still being analysed; its views and API answer when it is "
                             f"ready. {self.line()}")

    def _say(self, line: str) -> None:
        if self._log is not None and line:
            self._log(line)
