"""Helpers shared by the benchmark scripts: models, texts, data subsets, statistics, memory.

Paths to ``../shared`` and app processes are in :mod:`bench.harness`, which the tests use too.

Benchmarks on a shared 2-core machine are noisy, so every script compares the two sides of a
target in the same run and prints JSON; nothing here asserts a timing.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from bench.harness import DISTILBERT, EMOTION, LABELS, MINILM, ROOT, app_env

MODEL_CHOICES = ("minilm", "distilbert")


def read_text_label_lines(path: Path) -> list[tuple[str, str]]:
    """``(text, label)`` pairs of a ``text;label`` file (blank lines skipped)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            text, _, label = line.rpartition(";")
            out.append((text.strip(), label.strip()))
    return out


def validation_texts(n: int, path: Path | None = None) -> list[str]:
    """``n`` validation texts spread over the length range by quantiles of length (characters)."""
    rows = [t for t, _ in read_text_label_lines(path or EMOTION / "validation.txt") if t]
    if n <= 0 or not rows:
        return []
    order = sorted(range(len(rows)), key=lambda i: (len(rows[i]), i))
    picks = [order[round(q * (len(order) - 1) / max(n - 1, 1))] for q in range(n)]
    return [rows[i] for i in picks]


def example_texts(n_validation: int = 20) -> list[str]:
    """The 4 example tweets (``assets/examples.txt``), then ``n_validation`` validation texts of spread lengths."""
    from dashboard.assets import example_tweets

    return example_tweets() + validation_texts(n_validation)


@contextlib.contextmanager
def app_bench(args, prefix: str) -> Iterator[tuple[list[str], Path, Path, Path]]:
    """For an app benchmark's parsed ``--model``, ``--data``, ``--cache-dir`` and ``--quick``: the models to
    run, a temporary work folder, the data folder (a 64-row validation subset with ``--quick``) and the
    cache folder. Gradio analytics are off in this process too."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(tmp)
        data = write_data_subset(work / "data", 64) if args.quick else args.data
        cache_dir = args.cache_dir or work / "cache"
        cache_dir.mkdir(parents=True, exist_ok=True)
        yield expand_models(args.model, quick=args.quick), work, data, cache_dir


def write_data_subset(out_dir: Path, rows: int | None, *, split: str = "validation") -> Path:
    """A data folder holding the first ``rows`` lines of ``../shared/emotion/<split>.txt`` (all if None)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{t};{lab}" for t, lab in read_text_label_lines(EMOTION / f"{split}.txt")]
    if rows is not None:
        lines = lines[:rows]
    (out_dir / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out_dir


# A small DistilBERT shape for smoke runs (``--quick``), which check that figures are there and add up, not how
# fast a model of the real shape is
SMALL_DISTILBERT = {"n_layers": 2, "dim": 64, "hidden_dim": 128, "n_heads": 2}


def build_random_distilbert(out_dir: Path, **shape: int) -> Path:
    """A random-weight (seed 0) DistilBERT classifier of the real shape, saved with its tokenizer; ``shape``
    overrides config fields (e.g. :data:`SMALL_DISTILBERT`) for a smaller one, in smoke runs.

    Reuses ``out_dir`` when it already holds a complete build (same seed, so the same weights).
    """
    out_dir = Path(out_dir)
    marker = out_dir / ".bench-complete"
    if marker.is_file() and (out_dir / "model.safetensors").is_file():
        return out_dir
    import torch
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification

    torch.manual_seed(0)
    config = DistilBertConfig.from_pretrained(
        DISTILBERT, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
        label2id={name: i for i, name in enumerate(LABELS)}, **shape,
    )
    model = DistilBertForSequenceClassification(config).eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(DISTILBERT).save_pretrained(out_dir)
    marker.write_text("seed 0\n")
    return out_dir


def resolve_model(name: str, work_dir: Path) -> Path:
    """The model folder for a ``--model`` choice (``minilm`` or ``distilbert``; else a path as is)."""
    if name == "minilm":
        return MINILM
    if name == "distilbert":
        return build_random_distilbert(work_dir / "distilbert-random")
    return Path(name)


def expand_models(choice: str, *, quick: bool = False) -> list[str]:
    """``both`` -> both model names; anything else as is; only ``minilm`` for a ``--quick`` smoke run."""
    if quick:
        return ["minilm"]
    return list(MODEL_CHOICES) if choice == "both" else [choice]


def percentiles(samples: Sequence[float], *, digits: int = 4) -> dict[str, float]:
    """p50, min, max and p95 of ``samples`` (nearest-rank p95)."""
    xs = sorted(float(x) for x in samples)
    if not xs:
        return {"p50": float("nan"), "min": float("nan"), "max": float("nan"), "p95": float("nan"), "n": 0}
    p95 = xs[min(len(xs) - 1, max(0, math.ceil(0.95 * len(xs)) - 1))]
    return {"p50": round(statistics.median(xs), digits), "min": round(xs[0], digits),
            "max": round(xs[-1], digits), "p95": round(p95, digits), "n": len(xs)}


def rss_mb(pid: int) -> float:
    """Current resident set size of ``pid`` in MiB (0 when it is gone)."""
    import psutil

    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.Error:
        return 0.0


def peak_rss_mb(pid: int) -> float | None:
    """The kernel's peak resident set size (VmHWM) of ``pid`` in MiB; ``None`` where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler:
    """Samples a process's RSS every ``interval`` seconds on a thread; ``peak_mb`` is the largest seen."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, rss_mb(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, rss_mb(self.pid))


def precompute(model: Path, data: Path, cache_dir: Path, backend: str | None = None) -> tuple[float, str]:
    """Run ``python -m core.analysis.precompute`` in a fresh process (on ``backend``, default the app's); returns
    (wall seconds, its stdout line)."""
    start = time.perf_counter()
    extra = ["--backend", backend] if backend else []
    done = subprocess.run([sys.executable, "-m", "core.analysis.precompute", "--model", str(model), "--data", str(data),
                           "--cache-dir", str(cache_dir), *extra], cwd=ROOT, env=app_env(), capture_output=True,
                          text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"core.analysis.precompute failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall, done.stdout.strip()


def dump(report: dict) -> None:
    """Print the report as JSON on stdout."""
    print(json.dumps(report, indent=2))
