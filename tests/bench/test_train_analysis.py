"""bench/speed/train_analysis.py: the stage table, the signals' cost over the analysis without them, and the
400,000-row extrapolation, from an analysis's own record of its stages."""

from __future__ import annotations

import json

import pytest

from bench.speed.train_analysis import at_scale, main, summary

META = {"split": "train", "n_rows": 100, "model": "m", "seconds": 50.0, "created": "2026-12-07T00:00:00Z",
        "stage_seconds": {"inference": 10.0, "umap": 5.0, "signals": 30.0},
        "signal_seconds": {"knn": 20.0, "negation": 10.0}}


def test_summary_splits_the_total_into_signals_and_the_rest():
    out = summary(META, {"inference": 1.5, "knn": 2.0, "load": 1.0})
    assert out["analysis_s"] == 50.0 and out["signals_s"] == 30.0 and out["without_signals_s"] == 20.0
    assert out["signals_over_without"] == 1.5 and out["signal_seconds"] == META["signal_seconds"]
    stages = {row["stage"]: row for row in out["stages"]}
    assert stages["inference"] == {"stage": "inference", "seconds": 10.0, "peak_rss_gb": 1.5}
    assert stages["signals: knn"]["peak_rss_gb"] == 2.0 and stages["signals: negation"]["peak_rss_gb"] is None


def test_the_neighbour_search_is_extrapolated_quadratically_the_rest_linearly():
    scaled = at_scale(summary(META), rows=1000)["families"]
    assert scaled["knn"]["seconds_at_scale"] == 2000 and scaled["negation"]["seconds_at_scale"] == 100


def test_summary_refuses_an_analysis_without_signals():
    with pytest.raises(ValueError, match="no signals"):
        summary({**META, "stage_seconds": {"inference": 10.0}})


def test_main_reads_an_analysis_folder(tmp_path, capsys):
    folder = tmp_path / "analysis" / "k"
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps(META))
    out = tmp_path / "r.json"
    assert main(["--from-analysis", str(folder), "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["bench"] == "train_analysis" and report["process_wall_s"] is None and report["signals_s"] == 30.0
    with pytest.raises(SystemExit):
        main(["--from-analysis", str(tmp_path), "--out", str(out)])  # no meta.json there
    assert "no meta.json" in capsys.readouterr().err
