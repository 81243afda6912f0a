"""Fixtures for the hardening tests.

* :func:`write_split`: a small ``validation.txt`` made of real validation lines (plus extra lines).
* ``hostile_app``: a second dashboard, on the tiny model, whose analysed data holds HTML, script and
  markdown payloads (for the browser injection test) and whose ``--cache-dir`` lies under a regular
  file, so it cannot be written (the app must warn and serve without a cache).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.harness import app_env, start_app, stop_app, wait_for_http
from tests.conftest import EMOTION, LABELS, REPO

# Texts that try to become HTML, script or markdown in a view; each line is a valid ``text;label``.
PAYLOADS: list[tuple[str, str]] = [
    ('<img src=x onerror="window.__pwned=1"> i feel so happy today', "joy"),
    ("<script>window.__pwned=2</script> i am scared of the dark", "fear"),
    ("**md** [a](javascript:alert(1)) i love this song", "love"),
    ('<svg onload="window.__pwned=3"></svg> i am so angry at them', "anger"),
    ('<iframe src="javascript:window.__pwned=4"></iframe> i feel sad and alone', "sadness"),
    ("&lt;b&gt;not bold&lt;/b&gt; \"quoted\" & 'single' <b>bold</b> what a surprise", "surprise"),
]
TIMEOUT_S = 300


def real_lines(n: int) -> list[str]:
    """The first ``n`` lines of the real validation split (synthetic ones where ../shared is absent)."""
    if (EMOTION / "validation.txt").is_file():
        return (EMOTION / "validation.txt").read_text(encoding="utf-8").splitlines()[:n]
    return [f"tweet number {i} about how i feel;{LABELS[i % len(LABELS)]}" for i in range(n)]


def write_split(folder: Path, n: int, extra: list[str] = (), *, name: str = "validation.txt") -> Path:
    """``folder/name`` with ``n`` real lines then ``extra``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join([*real_lines(n), *extra]) + "\n", encoding="utf-8")
    return folder


def run_cli(args: list[str], *, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``python <args>`` in the repository root (for commands expected to finish by themselves)."""
    return subprocess.run([sys.executable, *args], cwd=REPO, env=app_env(), capture_output=True, text=True,
                          timeout=timeout)


@dataclass
class RunningApp:
    url: str
    log: Path
    data: Path
    proc: subprocess.Popen

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="session")
def hostile_app(tiny_model_dir, tmp_path_factory) -> RunningApp:
    """``python app.py`` on the tiny model with payload rows in the data and an unwritable cache folder."""
    root = tmp_path_factory.mktemp("hostile-app")
    data = write_split(root / "data", 60, [f"{text};{label}" for text, label in PAYLOADS])
    blocker = root / "a-file"
    blocker.write_text("not a folder\n")
    log = root / "app.log"
    proc, url = start_app(tiny_model_dir, data, blocker / "cache", log, review_db=root / "reviews.sqlite")
    app = RunningApp(url, log, data, proc)
    try:
        wait_for_http(app.url, proc, log=log, timeout=TIMEOUT_S)
        yield app
    finally:
        stop_app(proc)
