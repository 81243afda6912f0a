"""Start ``python app.py`` as a Space would run it (real server, tiny real model, small real data folder).

Every server on the same model and data starts from one analysis, built once per test run in this
process (:func:`shared_analysis`) and copied into its cache folder, instead of re-analysing per server.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import free_port, wait_for_http
from tests.conftest import EMOTION, REPO

N_ROWS = 60


def small_data(folder: Path, n: int = N_ROWS) -> Path:
    """A data folder with the first ``n`` validation rows of ../shared/emotion (every label present)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = (EMOTION / "validation.txt").read_text().splitlines()[:n]
    (folder / "validation.txt").write_text("\n".join(lines) + "\n")
    return folder


@dataclass
class Server:
    """A running app: its process, URL, log and the review database it writes."""

    proc: subprocess.Popen
    url: str
    log: Path
    db: Path

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


_ANALYSES: dict[tuple[str, str], Path] = {}


def shared_analysis(model: Path, data: Path) -> Path:
    """A cache folder holding the analysis of ``data``'s validation split by ``model``, built once per
    test run (per model and data content) on the app's default backend; the app finds it by content."""
    digest = hashlib.sha256((data / "validation.txt").read_bytes()).hexdigest()
    key = (str(model), digest)
    if key not in _ANALYSES:
        from core.analysis.precompute import analyse_split
        from core.classifier.model import load_classifier
        from core.data.splits import load_splits
        from core.settings import Settings

        root = Path(tempfile.mkdtemp(prefix="emotion-lens-shared-analysis-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        loaded = load_splits(data, splits=("validation",))
        clf = load_classifier(model, data_labels=loaded.label_names, backend=Settings().backend, cache_dir=root)
        analyse_split(clf, loaded, "validation", cache_dir=root, show_progress=False)
        _ANALYSES[key] = root
    return _ANALYSES[key]


def start_app(model: Path, data: Path, cache: Path, *, env: dict[str, str] | None = None, args: tuple = (),
              seed: bool = True) -> Server:
    """Serve the app on a free port with ``cache`` as its cache folder; waits until the page answers.

    ``seed``: start from the run's shared analysis of ``model`` on ``data`` (:func:`shared_analysis`),
    where ``cache`` holds none yet; ``False`` for a start on an empty disk.
    """
    port = free_port()
    if seed and not (cache / "analysis").exists() and (data / "validation.txt").is_file():
        shutil.copytree(shared_analysis(model, data) / "analysis", cache / "analysis")
    cache.mkdir(parents=True, exist_ok=True)
    log = cache.parent / f"{cache.name}-{port}.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith("EMOTION_") and k not in ("SPACE_ID", "SYSTEM")}
    full_env = {**base, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
                **(env or {})}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--model", str(model), "--data", str(data), "--cache-dir", str(cache),
             "--port", str(port), "--batch-size", "16", *args],
            cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    server = Server(proc, f"http://127.0.0.1:{port}/", log, cache / "reviews.sqlite")
    try:
        wait_for_http(server.url, proc, log=log)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` (a deadline for a hang, not a speed check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")
