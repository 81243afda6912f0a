"""Smoke test of bench/start/space_start.py: its --quick run prints the figures it promises."""

from __future__ import annotations

import pytest

from tests.bench.test_bench_smoke import positive, run_quick
from tests.conftest import needs_emotion, needs_minilm

pytestmark = [pytest.mark.slow, pytest.mark.server, needs_minilm, needs_emotion]


def test_bench_space_start_quick():
    # two splits: the first page comes before either is analysed, then each split's ready time
    report = run_quick("start/space_start.py", "--splits", "validation,test", in_process=True)
    assert report["bench"] == "space_start" and report["rows"] == {"validation": 64, "test": 64}
    for run in ("compute", "precomputed"):
        got = report[run]
        assert positive(got["first_page_s"]) and positive(got["peak_rss_mb"])
        assert set(got["split_ready_s"]) == {"validation", "test"}
        assert all(t >= got["first_page_s"] for t in got["split_ready_s"].values())
        assert got["decisions_restored"] == 20  # the sync target's decisions came back on start
    assert report["precomputed"]["used_published_entries"] is True
    assert report["fits_free_tier"] is True
