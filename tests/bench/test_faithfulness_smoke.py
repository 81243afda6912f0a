"""Smoke test of bench/faithfulness/faithfulness.py --quick: every method scored, the targets printed
(never asserted)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import needs_emotion, needs_minilm, run_main

pytestmark = [pytest.mark.slow, needs_minilm, needs_emotion]


def test_faithfulness_bench_quick(tmp_path):
    out = tmp_path / "faithfulness.json"
    from bench.faithfulness.faithfulness import main

    done = run_main(main, ["--quick", "--out", str(out)])  # in this process: torch, captum and lime imported once
    assert done.returncode == 0, done.stderr[-3000:]
    printed, written = json.loads(done.stdout), json.loads(out.read_text())
    assert printed["targets"] == written["targets"] and not written["partial"]
    assert written["texts_done"] == 3 and len(written["per_text"]) == 3
    table = written["all_texts"]
    assert set(table) == {"ours", "reference", "integrated_gradients", "gradient_x_input", "lime", "random"}
    assert table["reference"]["texts"] == 2 and table["ours"]["texts"] == 3
    for name, row in table.items():
        assert -1 <= row["comprehensiveness"] <= 1 and -1 <= row["sufficiency"] <= 1, name
        assert row["median_s"] >= 0, name
    assert written["reference_subset"]["reference"]["spearman_ref"] == 1.0
    assert "faithfulness line adds <= 25% to the live p50" in written["targets"]
    for check in written["targets"].values():
        assert check["pass"] in (True, False)
