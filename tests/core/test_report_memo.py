"""Reports are built once per key, and one slow build holds up no other key
(:class:`core.services.analyses._Memo`, behind calibration, robustness and compare)."""

from __future__ import annotations

import threading

import pytest

from core.services.analyses import _Memo


def test_one_build_per_key_while_other_keys_go_on():
    memo = _Memo()
    started, release = threading.Event(), threading.Event()
    builds: list[str] = []

    def slow_build():
        builds.append("slow")
        started.set()
        assert release.wait(30)
        return "slow report"

    results: dict[str, object] = {}
    first = threading.Thread(target=lambda: results.setdefault("first", memo.get("a", slow_build)))
    first.start()
    assert started.wait(30)
    second = threading.Thread(target=lambda: results.setdefault("second", memo.get("a", slow_build)))
    second.start()
    assert memo.get("b", lambda: "other report") == "other report"  # not held up by the slow build of "a"
    assert "a" not in memo
    release.set()
    first.join(30)
    second.join(30)
    assert results == {"first": "slow report", "second": "slow report"}
    assert builds == ["slow"]  # the waiting caller got the one build's report


def test_a_failed_build_stores_nothing():
    memo = _Memo()

    def broken():
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        memo.get("a", broken)
    assert "a" not in memo
    assert memo.get("a", lambda: 1) == 1
