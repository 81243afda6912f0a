"""Smoke test of bench/faithfulness/faithfulness_budget.py --quick: every budget scored against the reference,
targets printed."""

from __future__ import annotations

import json

import pytest

from tests.conftest import needs_emotion, needs_minilm, run_main

pytestmark = [pytest.mark.slow, needs_minilm, needs_emotion]


def test_faithfulness_budget_bench_quick(tmp_path):
    out = tmp_path / "budget.json"
    from bench.faithfulness.faithfulness_budget import main

    done = run_main(main, ["--quick", "--out", str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    printed, written = json.loads(done.stdout), json.loads(out.read_text())
    assert printed["table"] == written["table"] and written["texts"] == len(written["per_text"]) == 2
    assert set(written["table"]) == {"reference", "x0.25", "default"}
    assert written["budgets"]["x0.25"]["per_token"] < written["budgets"]["default"]["per_token"]
    assert written["table"]["reference"]["fraction_of_reference"] == 1.0
    for name, row in written["table"].items():
        assert -1 <= row["comprehensiveness"] <= 1 and -1 <= row["sufficiency"] <= 1, name
        assert row["median_s"] > 0, name
    assert set(written["targets"]) == {"x0.25", "default"}
    assert all(isinstance(v, bool) for checks in written["targets"].values() for v in checks.values())


def test_an_unknown_budget_is_named(tmp_path):
    from bench.faithfulness.faithfulness_budget import main

    done = run_main(main, ["--quick", "--budgets", "x9", "--out", str(tmp_path / "b.json")])
    assert done.returncode == 2 and "x9" in (done.stderr + done.stdout)


def test_every_budget_name_survives_the_comma_separated_flag():
    from bench.faithfulness.faithfulness_budget import BUDGETS, parse

    assert parse([]).budgets.split(",") == list(BUDGETS)  # no name may hold a comma
