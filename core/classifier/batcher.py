"""Group concurrent single requests into model batches.

Callers on many threads call :meth:`MicroBatcher.submit` with one item and block for its result.
One worker thread takes everything waiting (up to ``max_batch``) and runs it as one batch, so
while the model works on a batch, new requests gather for the next. A lone request is not delayed
by a fixed wait. An exception in a batch (any ``BaseException``, ``SystemExit`` and
``KeyboardInterrupt`` included) is raised in every caller of that batch, and the worker goes on.
:attr:`MicroBatcher.batch_sizes` keeps the sizes of the last :data:`BATCH_HISTORY` batches only.

Why not Gradio's own event batching (``batch=True, max_batch_size=N`` on a listener)? It batches the
requests of one event listener only, so the live view's keystrokes, the ``classify`` API endpoint and
Python callers of :meth:`core.services.live.LiveService.classify_one` would each batch apart, and code
outside the UI (``core`` never imports Gradio) would get none. It also makes every output of the
listener a list per request, and a batched listener cannot keep the live view's ``always_last``
per-session cancel with its own concurrency limit. Batching where the model is called serves them all.

Example
-------
>>> b = MicroBatcher(lambda xs: [x * 2 for x in xs], max_batch=8)
>>> b.submit(21)
42
>>> b.close()
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

BATCH_HISTORY = 1_000
T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    """Run ``fn(list_of_items) -> list_of_results`` on batches gathered from concurrent callers."""

    def __init__(self, fn: Callable[[list[T]], Sequence[R]], *, max_batch: int = 32, timeout: float = 120.0) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be positive, got {max_batch}")
        self._fn = fn
        self._max_batch = max_batch
        self._timeout = timeout
        self._queue: queue.Queue[tuple[T, Future] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._sizes: deque[int] = deque(maxlen=BATCH_HISTORY)
        self.n_batches = 0  # every batch run, however many the history keeps

    @property
    def batch_sizes(self) -> list[int]:
        """Sizes of the last :data:`BATCH_HISTORY` batches, oldest first."""
        return list(self._sizes)

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="micro-batcher", daemon=True)
                self._worker.start()

    def submit(self, item: T) -> R:
        """Queue one item and wait for its result (raises what the batch raised)."""
        self._ensure_worker()
        fut: Future = Future()
        self._queue.put((item, fut))
        return fut.result(timeout=self._timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            self._sizes.append(len(batch))
            self.n_batches += 1
            try:
                results = self._fn([item for item, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"batch function returned {len(results)} results for {len(batch)} items")
                for (_, fut), res in zip(batch, results, strict=True):
                    fut.set_result(res)
            except BaseException as exc:  # noqa: BLE001 - hand any failure to every waiting caller; the worker lives on
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)

    def close(self) -> None:
        """Stop the worker after the queued items."""
        self._queue.put(None)
