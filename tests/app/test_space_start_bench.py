"""Smoke test of bench/start/space_start.py: its --quick run prints the figures it promises."""

from __future__ import annotations

import pytest

from tests.bench.test_bench_smoke import positive, run_quick
from tests.conftest import needs_emotion, needs_minilm

pytestmark = [pytest.mark.slow, pytest.mark.server, needs_minilm, needs_emotion]


def test_bench_space_start_quick():
    report = run_quick("start/space_start.py", in_process=True)  # each start in a fresh process
    assert report["bench"] == "space_start" and report["rows"] == 64
    for run in ("compute", "precomputed"):
        assert positive(report[run]["ready_s"]) and positive(report[run]["peak_rss_mb"])
        assert report[run]["decisions_restored"] == 20  # the sync target's decisions came back on start
    assert report["precomputed"]["used_published_entry"] is True
    assert report["fits_free_tier"] is True
