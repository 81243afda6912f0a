"""Known flipped labels must surface first; the label-noise benchmark must keep running."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bench.label_noise import flip_labels, ranking_scores
from core.suspicion import neighbour_indices, suspicion_signals
from tests.conftest import EMOTION, MINILM, REPO, needs_emotion, needs_minilm


def clustered(n_per: int = 60, k: int = 4, seed: int = 0):
    """Well-separated clusters, one per class, and a model that is right but not certain."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, 16)) * 10
    labels = np.repeat(np.arange(k), n_per)
    hidden = centres[labels] + rng.normal(size=(len(labels), 16))
    probs = np.full((len(labels), k), 0.1 / (k - 1))
    probs[np.arange(len(labels)), labels] = 0.9
    return probs, labels, hidden


def test_known_flips_rank_first():
    probs, labels, hidden = clustered()
    noisy, flipped = flip_labels(labels, 4, fraction=0.05, seed=3)
    # Also add hard-but-correct samples: the model is unsure, the label is right.
    hard = np.flatnonzero(~flipped)[:20]
    probs[hard] = 0.25
    signals = suspicion_signals(probs, noisy, hidden)
    top = np.argsort(-signals["suspicion"].to_numpy())[: flipped.sum()]
    assert set(top) == set(np.flatnonzero(flipped))
    assert ranking_scores(signals["suspicion"].to_numpy(), flipped)["roc_auc"] == 1.0


def test_neighbour_signal_breaks_ties_that_loss_cannot():
    probs, labels, hidden = clustered(seed=1)
    noisy, flipped = flip_labels(labels, 4, fraction=0.1, seed=0)
    # The model agrees with every flip on half of them: loss cannot see those.
    fooled = np.flatnonzero(flipped)[::2]
    probs[fooled] = np.eye(4)[noisy[fooled]] * 0.96 + 0.01
    signals = suspicion_signals(probs, noisy, hidden)
    loss_auc = ranking_scores(signals["loss"].to_numpy(), flipped)["roc_auc"]
    sus_auc = ranking_scores(signals["suspicion"].to_numpy(), flipped)["roc_auc"]
    assert sus_auc > loss_auc


def test_neighbours_exclude_the_sample_itself_and_validate_shapes():
    hidden = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    nbrs = neighbour_indices(hidden, k=1)
    assert nbrs[0, 0] == 1 and nbrs[1, 0] == 0
    with pytest.raises(ValueError, match="probs must be"):
        suspicion_signals(np.ones((3, 2)) / 2, np.array([0, 1]), hidden)


@pytest.mark.slow
@needs_minilm
@needs_emotion
def test_label_noise_benchmark_runs_and_finds_flips():
    cmd = [sys.executable, "bench/label_noise.py", "--model", str(MINILM), "--data", str(EMOTION), "--fraction",
           "0.1", "--seed", "0", "--max-rows", "300"]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, check=True)
    report = json.loads(out.stdout)
    assert report["rows"] == 300 and report["flipped"] == 30
    for key in ("loss", "suspicion"):
        assert set(report[key]) >= {"roc_auc", "precision_at_k", "recall_at_k"}
        assert report[key]["roc_auc"] > 0.9  # a real model finds most flips
    assert set(report["knn_weight_sweep_auc"]) >= {"0.00", "4.00"}
