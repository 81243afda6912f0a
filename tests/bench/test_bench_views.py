"""Smoke test of bench/bench_views.py on a tiny model: it loads, times every view and prints JSON."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.harness import app_env
from tests.conftest import LABELS, REPO


def test_bench_views_quick(tiny_model_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.txt").write_text("".join(f"tweet {i} feel {LABELS[i % 6]} today;{LABELS[i * 5 % 6]}\n"
                                            for i in range(150)))
    done = subprocess.run([sys.executable, "bench/bench_views.py", "--quick", "--model", str(tiny_model_dir),
                           "--data", str(data), "--split", "train", "--cache-dir", str(tmp_path / "cache")],
                          cwd=REPO, env=app_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["rows"] == 150 and report["split"] == "train"
    for view in ("first_page", "filter", "page_change", "confusion_and_cell", "embedding_map", "review_next"):
        assert 0 < report[view]["median_s"] <= report[view]["max_s"], (view, report[view])
    assert report["embedding_map"]["points"] == report["rows"]  # the map draws every row once
    assert report["embedding_map"]["payload_mb"] > 0
