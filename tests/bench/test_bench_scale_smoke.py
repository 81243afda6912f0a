"""Smoke test of ``bench/scale/scale.py --quick`` on the tiny model: every promised figure is there.

Timings are never asserted (the machine is shared); only that they exist and are positive. The run is
local only: the Ray engine's precompute CLI, and its equality with the local engine, are tested in
``tests/core/test_ray_engine.py`` (a local Ray costs this smoke run half its time).
"""

from __future__ import annotations

import json

import pytest

from tests.bench.test_bench_smoke import positive
from tests.conftest import needs_emotion, run_main

pytestmark = [pytest.mark.slow, needs_emotion]


def test_bench_scale_quick(tiny_model_dir, tmp_path):
    # the driver in this process: the precompute, the app and its phases run in fresh processes of their own, and
    # the query timings are of functions, valid in a warm process
    from bench.scale.scale import main

    done = run_main(main, ["--quick", "--engines", "local", "--model", str(tiny_model_dir), "--work-dir",
                           str(tmp_path)], name="scale/scale.py")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["bench"] == "scale" and set(report["sizes"]) == {"300", "600"}
    first, second = report["sizes"]["300"], report["sizes"]["600"]
    local = first["precompute"]["local"]
    assert local["status"] == "ok" and positive(local["rows_per_s"]) and positive(local["driver_peak_rss_mb"])
    assert set(first["precompute"]) == {"local"} and not second["precompute"]  # the second size is tiled
    for entry in (first, second):
        q = entry["queries"]
        for key in ("first_page_s", "filter_s", "page_change_s", "cell_first_page_s", "map_s", "map_json_mb"):
            assert positive(q[key]), key
        assert set(q["cpu_s"]) >= {"first_page_s", "filter_s", "page_change_s", "map_s"}
        assert q["rows"] == entry["rows"]
    assert positive(first["app"]["first_page_s"]) and positive(first["app"]["peak_rss_mb"])
    assert first["app_on"] == "precomputed analysis" and second["app_on"].startswith("tiled from cache-local-300")


def test_marginal_rates_are_the_rows_each_size_adds_per_added_second():
    from bench.scale.scale import marginal_rates

    seconds = {16000: 40.0, 100000: 180.0, 400000: 600.0, 800000: 590.0}
    rates = marginal_rates(seconds)
    assert list(rates) == ["16000-100000", "100000-400000", "400000-800000"]
    assert rates["16000-100000"] == pytest.approx((100000 - 16000) / (180.0 - 40.0), abs=0.01)
    assert rates["100000-400000"] == pytest.approx(300000 / 420.0, abs=0.01)
    assert rates["400000-800000"] is None  # the larger run was not slower: no rate
