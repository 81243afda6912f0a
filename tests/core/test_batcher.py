"""MicroBatcher: bounded history, and a BaseException in the batch function fails its callers only."""

from __future__ import annotations

import pytest

from core.classifier.batcher import BATCH_HISTORY, MicroBatcher


class Halt(BaseException):
    """Not an Exception: what a batch function may raise through a signal handler or sys.exit."""


def test_the_batch_size_history_is_bounded() -> None:
    b = MicroBatcher(lambda xs: [x + 1 for x in xs], max_batch=4)
    for i in range(BATCH_HISTORY + 50):
        assert b.submit(i) == i + 1
    assert len(b.batch_sizes) == BATCH_HISTORY and b.n_batches == BATCH_HISTORY + 50
    b.close()


@pytest.mark.parametrize("error", [Halt("stop"), SystemExit(3), ValueError("bad")])
def test_a_failing_batch_raises_in_its_caller_and_the_worker_lives_on(error: BaseException) -> None:
    def fn(items):
        if "boom" in items:
            raise error
        return [x.upper() for x in items]

    b = MicroBatcher(fn, max_batch=4, timeout=20)
    assert b.submit("a") == "A"
    worker = b._worker
    with pytest.raises(type(error)):
        b.submit("boom")
    assert b.submit("b") == "B"
    assert b._worker is worker and worker.is_alive()  # the same worker, not a restarted one
    b.close()
