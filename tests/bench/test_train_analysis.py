"""bench/speed/train_analysis.py: the signals' share read from an analysis's own record of its stages."""

from __future__ import annotations

import json

import pytest

from bench.speed.train_analysis import main, summary

META = {"split": "train", "n_rows": 100, "model": "m", "seconds": 50.0, "created": "2026-12-07T00:00:00Z",
        "stage_seconds": {"inference": 10.0, "umap": 5.0, "signals": 30.0},
        "signal_seconds": {"knn": 20.0, "negation": 10.0}}


def test_summary_splits_the_total_into_signals_and_the_rest():
    out = summary(META)
    assert out["analysis_s"] == 50.0 and out["signals_s"] == 30.0 and out["without_signals_s"] == 20.0
    assert out["signals_share"] == 0.6 and out["signal_seconds"] == META["signal_seconds"]


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
