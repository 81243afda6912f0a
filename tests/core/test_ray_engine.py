"""The Ray engine (a real local Ray, 2 workers) gives the local engine's artifacts; UMAP at scale is stable.

Ray is optional (requirements-ray.txt): the Ray tests skip with a reason where it is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core.analysis.cache import AnalysisCache
from core.analysis.precompute import analyse_split
from core.analysis.table import umap_2d
from core.classifier.model import load_classifier
from core.data.splits import load_splits
from tests.conftest import REPO, run_main, write_split_lines

N_ROWS = 300


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with 2 CPUs for this module, shut down afterwards."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-ray.txt)")
    from core.analysis.ray_engine import connect

    connect(None, num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory):
    """300 validation rows of the real data (or seeded synthetic ones if ../shared is absent)."""
    return write_split_lines(tmp_path_factory.mktemp("data"), "validation", N_ROWS)


@pytest.mark.ray
def test_precompute_cli_says_when_it_cannot_reach_ray(tiny_model_dir, split_dir, tmp_path):
    """An address where nothing answers: exit code 2 and one clear line, no stack trace. First in the module,
    before ``local_ray`` connects this process (a connected process would use its own Ray)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-ray.txt)")
    from core.analysis.precompute import main

    assert not ray.is_initialized()
    args = ["--model", str(tiny_model_dir), "--data", str(split_dir), "--cache-dir", str(tmp_path), "--engine", "ray",
            "--ray-address", "127.0.0.1:1"]
    done = run_main(main, args, name="core.analysis.precompute")
    assert done.returncode == 2 and "could not reach Ray" in done.stderr and "Traceback" not in done.stderr


def test_ray_engine_artifacts_equal_the_local_engine(local_ray, tiny_model_dir, split_dir, tmp_path):
    import torch

    data = load_splits(split_dir, splits=("validation",))
    clf = load_classifier(tiny_model_dir, data_labels=data.label_names)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each Ray worker runs (one CPU each), so the float rounding matches too
    try:
        local = analyse_split(clf, data, "validation", cache_dir=tmp_path / "local", batch_size=16,
                              show_progress=False)
    finally:
        torch.set_num_threads(threads)
    ray_out = analyse_split(clf, data, "validation", cache_dir=tmp_path / "ray", batch_size=16, show_progress=False,
                            engine="ray")
    a, b = local.analysis, ray_out.analysis
    assert not ray_out.reused and b.path is not None and b.path.name == a.path.name  # same cache key
    assert a.table.columns.tolist() == b.table.columns.tolist() and len(b.table) == N_ROWS
    for col in a.table.columns:
        if a.table[col].dtype.kind == "f":
            assert np.allclose(a.table[col], b.table[col], atol=1e-5, rtol=0), col
        else:
            assert a.table[col].tolist() == b.table[col].tolist(), col
    assert b.hidden.shape == a.hidden.shape and np.abs(a.hidden - b.hidden).max() <= 1e-5
    skip = {"created", "seconds", "stage_seconds"}  # timings
    assert {k: v for k, v in a.meta.items() if k not in skip} == {k: v for k, v in b.meta.items() if k not in skip}
    # what was written reads back the same, and the Ray work folder is cleaned up
    cached, why = AnalysisCache(tmp_path / "ray").load(b.path.name, expect={"split": "validation"})
    assert why == "" and np.array_equal(cached.hidden, b.hidden)
    assert list((tmp_path / "ray" / "ray-work").iterdir()) == []


def test_ray_predictions_keep_row_order_across_shards(local_ray, tiny_model_dir, tmp_path):
    from core.analysis import ray_engine

    clf = load_classifier(tiny_model_dir)
    texts = [f"tweet {i} " + "word " * (i % 37) for i in range(700)]  # several input files, varied lengths
    want = clf.predict(texts, batch_size=32, with_hidden=True)
    old = ray_engine.ROWS_PER_INPUT_FILE
    ray_engine.ROWS_PER_INPUT_FILE = 128
    try:
        got = ray_engine.RayClassifier(clf, work_dir=tmp_path, keep=True).predict(texts, batch_size=32,
                                                                                   with_hidden=True)
    finally:
        ray_engine.ROWS_PER_INPUT_FILE = old
    assert np.allclose(got.probs, want.probs, atol=1e-5) and np.allclose(got.hidden, want.hidden, atol=1e-5)
    assert np.array_equal(got.n_tokens, want.n_tokens) and np.array_equal(got.truncated, want.truncated)
    shards = list(tmp_path.glob("ray-analysis-*/output/*.parquet"))
    assert len(shards) >= 2  # really written as several parquet shards, then gathered


def test_precompute_cli_with_the_ray_engine(local_ray, tiny_model_dir, split_dir, tmp_path):
    """``python -m core.analysis.precompute --engine ray``, in this process on the module's local Ray
    (``bench/scale/scale.py --quick`` runs it in a fresh process with a Ray of its own)."""
    from core.analysis.precompute import main

    args = ["--model", str(tiny_model_dir), "--data", str(split_dir), "--cache-dir", str(tmp_path), "--engine", "ray"]
    done = run_main(main, args, name="core.analysis.precompute")
    assert done.returncode == 0, done.stderr[-3000:]
    wrote = [line for line in done.stdout.splitlines() if line.startswith("wrote ")]  # Ray may warn first
    assert len(wrote) == 1 and f"{N_ROWS} rows" in wrote[0], done.stdout[-2000:]
    meta = json.loads(next((tmp_path / "analysis").glob("*/meta.json")).read_text())
    assert meta["n_rows"] == N_ROWS


@pytest.mark.slow  # UMAP's cosine fit and transform compile numba code no other fast test runs: ~30 s on 2 cores
def test_umap_at_scale_fits_a_subsample_and_is_stable():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, size=(4, 16))
    hidden = (centres[rng.integers(0, 4, 900)] + rng.normal(0, 0.1, size=(900, 16))).astype(np.float32)
    first = umap_2d(hidden, fit_max=300, chunk=250)
    second = umap_2d(hidden, fit_max=300, chunk=250)
    assert first.shape == (900, 2) and np.isfinite(first).all()
    assert np.array_equal(first, second)  # same seed, same map
    # transformed points land beside the fitted points of their own cluster
    fit_rows = np.sort(np.random.default_rng(42).choice(900, size=300, replace=False))
    rest = np.setdiff1d(np.arange(900), fit_rows)
    cluster = np.argmin(((hidden[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    means = np.array([first[fit_rows][cluster[fit_rows] == c].mean(axis=0) for c in range(4)])
    nearest = np.argmin(((first[rest][:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest == cluster[rest]).mean() > 0.95


@pytest.mark.slow  # a fresh interpreter that imports torch, transformers and gradio: 20 s on 2 cores
def test_the_local_engine_and_the_app_never_import_ray(tiny_model_dir, split_dir, tmp_path):
    code = ("import sys; from core.analysis.precompute import main; import dashboard.app, dashboard.queries, "
            "dashboard.figures; rc = main(['--model', sys.argv[1], '--data', sys.argv[2], '--cache-dir', sys.argv[3]]);"
            " assert rc == 0; print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tiny_model_dir), str(split_dir), str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
    assert pd.read_parquet(next((tmp_path / "analysis").glob("*/table.parquet"))).shape[0] == N_ROWS


@pytest.mark.train
def test_crossval_folds_as_ray_tasks_equal_local_and_resume(local_ray, tiny_model_dir, split_dir, tmp_path):
    import torch

    from core.analysis.crossval import run_crossval

    data = load_splits(split_dir, splits=("validation",))
    recipe = {"epochs": 1.0, "batch_size": 16, "max_length": 32, "lr": 1e-3}
    kwargs = {"base": str(tiny_model_dir), "method": "finetune", "folds": 3, "recipe": recipe,
              "max_train_samples": 90, "progress": False}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the Ray task runs (one CPU of the 3 shared out between 3 folds)
    try:
        local, _ = run_crossval(data, "validation", cache_dir=tmp_path / "local", **kwargs)
    finally:
        torch.set_num_threads(threads)
    # a Ray run that was interrupted after fold 1: that fold is kept, the others run as Ray tasks
    local_folds = next((tmp_path / "local" / "oof").glob("*/folds"))
    ray_folder = tmp_path / "ray" / "oof" / local_folds.parent.name  # the key does not depend on the engine
    (ray_folder / "folds").mkdir(parents=True)
    for name in ("fold_1.parquet", "fold_1.json"):
        (ray_folder / "folds" / name).write_bytes((local_folds / name).read_bytes())
    kept = (ray_folder / "folds" / "fold_1.parquet").stat().st_mtime_ns
    finished = []
    on_ray, meta = run_crossval(data, "validation", cache_dir=tmp_path / "ray", engine="ray",
                                on_fold_done=finished.append, **kwargs)
    assert sorted(finished) == [0, 2]  # only the missing folds ran
    assert (ray_folder / "folds" / "fold_1.parquet").stat().st_mtime_ns == kept
    assert meta["n_rows"] == 90 and on_ray["row_id"].tolist() == local["row_id"].tolist()
    assert on_ray["fold"].tolist() == local["fold"].tolist()
    probs = [c for c in local.columns if c.startswith("prob_")]
    assert np.abs(on_ray[probs].to_numpy() - local[probs].to_numpy()).max() <= 1e-5


def test_connecting_leaves_print_a_builtin_so_numba_still_compiles(local_ray):
    import builtins

    from pynndescent import NNDescent

    assert type(builtins.print).__name__ == "builtin_function_or_method"
    x = np.random.default_rng(0).normal(size=(120, 8)).astype(np.float32)
    graph = NNDescent(x, metric="cosine", n_neighbors=5, random_state=0, low_memory=True).neighbor_graph[0]
    assert graph.shape == (120, 5) and (graph[:, 0] == np.arange(120)).all()  # each row its own nearest
