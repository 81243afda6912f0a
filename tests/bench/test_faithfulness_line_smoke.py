"""Smoke test of bench/faithfulness/faithfulness_line.py --quick: each number of orders gets a fitted margin
and a line cost."""

from __future__ import annotations

import json

import pytest

from tests.conftest import needs_emotion, needs_minilm, run_main

pytestmark = [pytest.mark.slow, needs_minilm, needs_emotion]


def test_faithfulness_line_bench_quick(tmp_path):
    from bench.faithfulness.faithfulness_line import main

    out = tmp_path / "line.json"
    done = run_main(main, ["--quick", "--orders", "3,1", "--out", str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    printed, written = json.loads(done.stdout), json.loads(out.read_text())
    assert printed == written and written["texts"] == 3
    assert set(written["orders"]) == {"3", "1"} and set(written["target"]) == {"3", "1"}
    for k, row in written["orders"].items():
        assert row["margin"] == written["margins_fitted_on"][k]["margin_q95"]
        assert written["margins_fitted_on"][k]["random_orders"] == int(k)
        assert row["live_with_line_p50_s"] > 0 and 0 <= row["weak_share"] <= 1
        ratio = row["live_with_line_p50_s"] / written["live_p50_s"] - 1  # both rounded to 0.1 ms
        assert row["added"] == pytest.approx(ratio, abs=0.01)


def test_faithfulness_line_bench_refuses_bad_orders():
    from bench.faithfulness.faithfulness_line import main

    done = run_main(main, ["--quick", "--orders", "two"])
    assert done.returncode == 2 and "--orders" in done.stderr
