"""A running app for the annotation-loop tests: two tiny models, a train split with known flipped labels.

tests/conftest.py registers the fixtures once for the whole session.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.harness import start_app, stop_app, wait_for_http, wait_for_log
from tests.conftest import EMOTION, LABELS

N_TRAIN, N_VALIDATION, N_FLIPS = 120, 60, 8


@dataclass
class LoopApp:
    """The served app and what the tests know about its data."""

    url: str
    data: Path
    clean_labels: list[str]
    flipped: list[int]
    model_a: Path
    model_b: Path


@pytest.fixture(scope="session")
def loop_models(tiny_model_dir, tmp_path_factory) -> tuple[Path, Path]:
    """The tiny model (A) and the same architecture with other weights (B)."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(7)
    model = BertForSequenceClassification.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    out = tmp_path_factory.mktemp("loop-model-b")
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(out)
    return tiny_model_dir, out


def _split_lines(split: str, n: int) -> list[str]:
    if EMOTION.is_dir():
        return (EMOTION / f"{split}.txt").read_text().splitlines()[:n]
    return [f"{split} tweet {i} about feeling {LABELS[i % 6]};{LABELS[(i * 5) % 6]}" for i in range(n)]


@pytest.fixture(scope="session")
def loop_app(loop_models, tmp_path_factory):
    """The dashboard on model A with --compare-model B over train (with flips) and validation."""
    folder = tmp_path_factory.mktemp("loop-app")
    data = folder / "data"
    data.mkdir()
    train = _split_lines("train", N_TRAIN)
    clean = [line.rsplit(";", 1)[1] for line in train]
    flipped = list(range(3, 3 + 4 * N_FLIPS, 4))
    noisy = list(train)
    for i in flipped:
        text, label = train[i].rsplit(";", 1)
        noisy[i] = f"{text};{LABELS[(LABELS.index(label) + 1) % len(LABELS)]}"
    (data / "train.txt").write_text("\n".join(noisy) + "\n")
    (data / "validation.txt").write_text("\n".join(_split_lines("validation", N_VALIDATION)) + "\n")
    log = folder / "app.log"
    a, b = loop_models
    proc, url = start_app(a, data, folder / "cache", log, review_db=folder / "reviews.sqlite",
                          extra=["--compare-model", str(b), "--splits", "train,validation", "--split", "validation"])
    try:
        wait_for_http(url, proc, log=log, timeout=600)
        wait_for_log(log, "The train split is ready", proc, timeout=600)  # served first, analysed behind
        yield LoopApp(url, data, clean, flipped, a, b)
    finally:
        stop_app(proc)
