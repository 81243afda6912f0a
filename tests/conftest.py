"""Shared fixtures: paths to ../shared, tiny real models, and one running app per test session.

Tests that need ../shared skip with a clear reason where it is absent.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
EMOTION = SHARED / "emotion"
MINILM = SHARED / "models" / "emotion-minilm"
DISTILBERT = SHARED / "models" / "distilbert-base-uncased"
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]

needs_emotion = pytest.mark.skipif(not EMOTION.is_dir(), reason="../shared/emotion is absent")
needs_minilm = pytest.mark.skipif(not (MINILM / "model.safetensors").is_file(),
                                  reason="../shared/models/emotion-minilm is absent")
needs_distilbert_tokenizer = pytest.mark.skipif(not (DISTILBERT / "vocab.txt").is_file(),
                                                reason="../shared/models/distilbert-base-uncased is absent")


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, *, log: Path | None = None, timeout: float = 300.0) -> None:
    """Block until ``url`` answers 200, or fail with the process's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = log.read_text() if log is not None and log.exists() else ""
            raise RuntimeError(f"app exited with {proc.returncode}:\n{out[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny randomly initialised BERT classifier with the real DistilBERT tokenizer, saved to disk."""
    if not (DISTILBERT / "vocab.txt").is_file():
        pytest.skip("../shared/models/distilbert-base-uncased is absent (tokenizer for the tiny model)")
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(DISTILBERT)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=128, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)})
    model = BertForSequenceClassification(config).eval()
    out = tmp_path_factory.mktemp("tiny-model")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def minilm_cache_dir(tmp_path_factory) -> Path:
    """A cache folder holding the full validation analysis of emotion-minilm (built once per session)."""
    if not (MINILM / "model.safetensors").is_file() or not EMOTION.is_dir():
        pytest.skip("../shared/models/emotion-minilm or ../shared/emotion is absent")
    cache = tmp_path_factory.mktemp("minilm-cache")
    subprocess.run([sys.executable, "-m", "core.precompute", "--model", str(MINILM), "--data", str(EMOTION),
                    "--cache-dir", str(cache)], cwd=REPO, check=True, capture_output=True, text=True)
    return cache


@pytest.fixture(scope="session")
def app_url(minilm_cache_dir, tmp_path_factory) -> str:
    """The dashboard on emotion-minilm, served on localhost for the whole session."""
    port = free_port()
    folder = tmp_path_factory.mktemp("app")
    log = folder / "app.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--model", str(MINILM), "--data", str(EMOTION), "--cache-dir",
             str(minilm_cache_dir), "--port", str(port), "--review-db", str(folder / "reviews.sqlite")],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, proc, log=log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser():
    """One headless Debian chromium for the whole session, shared by every browser test.

    Playwright's sync API allows one instance per process, so this lives here rather than in
    each folder. Skips with a clear reason where playwright or /usr/bin/chromium is missing.
    """
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, browser_missing

    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
