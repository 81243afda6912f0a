"""bench/noise/loop_value_seeds.py: loop_value runs summarised over training seeds and flip seeds."""

from __future__ import annotations

import json
import statistics

import pytest

from bench.noise.loop_value_seeds import main, summarise

RECIPE = {"lr": 1e-4, "batch_size": 32, "epochs": 2.0}


def run(flip: int, train: int, noisy: float, clean: float, cells: dict[str, float | None]) -> dict:
    return {"bench": "loop_value", "quick": False, "flip_seed": flip, "train_seed": train,
            "recipe": {**RECIPE, "seed": train}, "noisy_model": {"accuracy": noisy}, "clean_model": {"accuracy": clean},
            "cells": {name: {"5%": {"accuracy": acc, "flipped_in_top": 100 + train}} for name, acc in cells.items()}}


RUNS = [run(20, 42, 0.70, 0.80, {"shipped": 0.75, "random": 0.71}),
        run(20, 43, 0.72, 0.80, {"shipped": 0.77, "random": None}),  # random's cell not trained in this run
        run(21, 42, 0.76, 0.79, {"shipped": 0.77, "random": 0.765})]


def test_means_sds_and_the_recovered_share_of_the_means():
    groups = summarise(RUNS)
    assert set(groups) == {"20", "21", "pooled"}
    g20 = groups["20"]
    assert g20["noisy"] == {"mean": 0.71, "sd": round(statistics.stdev([0.70, 0.72]), 4), "n": 2}
    assert g20["lost_to_noise"] == pytest.approx(0.09)
    ship = g20["cells"]["shipped"]["5%"]
    assert ship["mean"] == 0.76 and ship["n"] == 2 and ship["flips_fixed_mean"] == 142.5
    assert ship["recovered"] == pytest.approx((0.76 - 0.71) / (0.80 - 0.71), abs=1e-4)
    assert g20["cells"]["random"]["5%"]["n"] == 1 and g20["cells"]["random"]["5%"]["sd"] is None
    assert groups["pooled"]["cells"]["shipped"]["5%"]["n"] == 3
    assert groups["pooled"]["noisy"]["mean"] == pytest.approx(statistics.mean([0.70, 0.72, 0.76]), abs=1e-4)
    paired = groups["pooled"]["paired_with_random"]["shipped"]["5%"]  # runs 1 and 3 trained both
    assert paired["n"] == 2 and paired["above_zero"] == 2
    assert paired["mean"] == pytest.approx(statistics.mean([0.75 - 0.71, 0.77 - 0.765]), abs=1e-4)
    from scipy import stats

    diffs = [0.75 - 0.71, 0.77 - 0.765]  # an independent t-interval and sign test of the same two differences
    low, high = stats.t.interval(0.95, 1, loc=statistics.mean(diffs), scale=stats.sem(diffs))
    assert paired["ci95"] == pytest.approx([low, high], abs=1e-4) and paired["sign_test_p"] == 0.5
    assert "random" not in groups["pooled"]["paired_with_random"]


def test_no_share_where_noise_cost_nothing():
    groups = summarise([run(20, 42, 0.8, 0.8, {"shipped": 0.81})])
    assert set(groups) == {"20"} and groups["20"]["cells"]["shipped"]["5%"]["recovered"] is None


def test_the_cli_writes_json_and_refuses_other_files_and_mixed_recipes(tmp_path, capsys):
    paths = []
    for i, r in enumerate(RUNS):
        paths.append(tmp_path / f"run{i}.json")
        paths[-1].write_text(json.dumps(r))
    out = tmp_path / "seeds.json"
    assert main([*map(str, paths), "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["groups"] == json.loads(json.dumps(summarise(RUNS)))
    assert "flip seed 20: noisy 0.71" in capsys.readouterr().out
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"bench": "faithfulness"}))
    with pytest.raises(SystemExit):
        main([str(paths[0]), str(other), "--out", str(out)])
    assert "not a loop_value JSON" in capsys.readouterr().err
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({**RUNS[0], "recipe": {**RECIPE, "lr": 2e-5, "seed": 42}}))
    with pytest.raises(SystemExit):
        main([str(paths[0]), str(mixed), "--out", str(out)])
    assert "different recipes" in capsys.readouterr().err


def test_a_cell_trained_in_fewer_runs_is_measured_against_those_runs_models():
    """A cell run on some training seeds only: its gain and share use those runs' noisy and clean models."""
    groups = summarise([run(20, 42, 0.70, 0.80, {"oracle": 0.75, "random": 0.71}),
                        run(20, 43, 0.60, 0.90, {"random": 0.61})])
    oracle = groups["20"]["cells"]["oracle"]["5%"]
    assert oracle["n"] == 1 and oracle["gain"] == pytest.approx(0.05)
    assert oracle["recovered"] == pytest.approx(0.5)  # (0.75 - 0.70) / (0.80 - 0.70), not against the 2-run means


def test_flip_seeds_that_chose_the_weights_are_kept_out_of_the_headline(tmp_path, capsys):
    from bench.noise.loop_value_seeds import groups_of, headline

    runs = [*RUNS, run(22, 42, 0.74, 0.80, {"shipped": 0.76, "random": 0.75})]
    groups = groups_of(runs, frozenset({20}))
    assert set(groups) == {"20", "21", "22", "pooled", "held_out"}
    assert {r["flip_seed"] for r in groups["held_out"]} == {21, 22} and len(groups["pooled"]) == 4
    assert headline(groups, frozenset({20})) == "held_out"
    assert headline(groups_of(RUNS, frozenset({20})), frozenset({20})) == "21"  # one seed left: that seed
    assert headline(groups_of(RUNS), frozenset()) == "pooled"  # nothing chose: every seed
    paths = []
    for i, r in enumerate(RUNS):
        paths.append(tmp_path / f"run{i}.json")
        paths[-1].write_text(json.dumps(r))
    out = tmp_path / "seeds.json"
    assert main([*map(str, paths), "--out", str(out)]) == 0  # the default: flip seed 20 chose
    written = json.loads(out.read_text())
    assert written["chose_flip_seeds"] == [20] and written["headline"] == "21"
    assert main([*map(str, paths), "--out", str(out), "--chose", ""]) == 0
    assert json.loads(out.read_text())["headline"] == "pooled"
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main([*map(str, paths), "--out", str(out), "--chose", "twenty"])
    assert "comma-separated flip seeds" in capsys.readouterr().err
