"""Smoke test of bench/scale/views.py on a tiny model: it loads, times every view and prints JSON (its ``main``
in this process: the script only calls the handlers' work in process too)."""

from __future__ import annotations

import json

from tests.conftest import LABELS, run_main


def test_bench_views_quick(tiny_model_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.txt").write_text("".join(f"tweet {i} feel {LABELS[i % 6]} today;{LABELS[i * 5 % 6]}\n"
                                            for i in range(150)))
    from bench.scale.views import main

    done = run_main(main, ["--quick", "--model", str(tiny_model_dir), "--data", str(data), "--split", "train",
                           "--cache-dir", str(tmp_path / "cache")])
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["rows"] == 150 and report["split"] == "train"
    for view in ("first_page", "filter", "page_change", "confusion_and_cell", "embedding_map", "review_next"):
        assert 0 < report[view]["median_s"] <= report[view]["max_s"], (view, report[view])
    assert report["embedding_map"]["points"] == report["rows"]  # the map draws every row once
    assert report["embedding_map"]["payload_mb"] > 0
