"""Reports built once per key, shared by the callers that ask for the same one (:class:`Memo`)."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Memo"]


class Memo:
    """Reports built once per key: concurrent callers of one key wait for its one build (a robustness
    report is minutes of model work), callers of other keys never wait; the memo's own lock is held
    only to read or store, never while a report is built. A build that raises stores nothing."""

    def __init__(self) -> None:
        self._values: dict = {}
        self._building: dict = {}  # key -> the lock its one build holds
        self._lock = threading.Lock()

    def get(self, key, build: Callable[[], object]):
        with self._lock:
            if key in self._values:
                return self._values[key]
            once = self._building.setdefault(key, threading.Lock())
        with once:
            with self._lock:
                if key in self._values:  # built while this caller waited
                    return self._values[key]
            value = build()
            with self._lock:
                self._values[key] = value
                self._building.pop(key, None)
            return value

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._values

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
