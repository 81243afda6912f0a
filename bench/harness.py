"""What the benchmarks and the tests share: paths to ``../shared``, app processes and an API client.

Used by ``bench/*.py`` and by ``tests/conftest.py`` (and the tests under it). Nothing here imports
pytest, so the benchmarks run without it; nothing asserts a timing.

- :func:`start_app` / :func:`stop_app`: ``python app.py`` on a free port, its output in a log file;
- :func:`wait_for_http`: block until the app answers (or raise with its log);
- :func:`sse_call`: one call through Gradio's plain HTTP API (``POST /gradio_api/call/<api>`` and
  its server-sent event stream), for what ``gradio_client`` cannot send or to time the server alone.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()
EMOTION = SHARED / "emotion"
MINILM = SHARED / "models" / "emotion-minilm"
DISTILBERT = SHARED / "models" / "distilbert-base-uncased"
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url: str) -> bool:
    """Whether ``url`` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


#: What the app logs once every split is analysed (``core.services.progress.ALL_READY``; not imported here).
ALL_READY = "Every split is analysed."


def wait_for_http(url: str, proc: subprocess.Popen, *, log: Path | None = None, timeout: float = 900.0,
                  poll: float = 0.05, analysed: bool = True) -> float:
    """Block until ``url`` answers 200; returns the monotonic time it did. The app listens before its
    analyses are ready (it analyses behind the server): with a ``log`` and ``analysed``, then also wait until
    the log says every split is analysed (the time returned stays the first answer's).

    Raises ``RuntimeError`` with the end of ``log`` when the process exits first, ``TimeoutError``
    after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = log.read_text(errors="replace") if log is not None and log.exists() else ""
            raise RuntimeError(f"app exited with {proc.returncode}:\n{out[-4000:]}")
        if http_ok(url):
            answered = time.monotonic()
            if log is not None and analysed:
                wait_for_log(log, ALL_READY, proc, timeout=max(1.0, deadline - answered))
            return answered
        time.sleep(poll)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def wait_for_log(log: Path, text: str, proc: subprocess.Popen, *, timeout: float = 900.0, poll: float = 0.1) -> None:
    """Block until ``text`` appears in the app's ``log`` (e.g. "The train split is ready": the app serves its
    first split first and analyses the others behind). Raises like :func:`wait_for_http`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log.read_text(errors="replace") if log.exists() else ""
        if text in out:
            return
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}:\n{out[-4000:]}")
        time.sleep(poll)
    raise TimeoutError(f"{text!r} did not appear in {log} within {timeout} s")


def app_env() -> dict[str, str]:
    """This process's environment, offline (no Hub) and without Gradio analytics."""
    return {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def start_app(model: Path | str, data: Path | str, cache_dir: Path | str, log: Path, *, review_db: Path | str,
              port: int | None = None, extra: Sequence[str] = ()) -> tuple[subprocess.Popen, str]:
    """Start ``python app.py`` on a free port, output to ``log``; returns the process and its URL."""
    port = port or free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--model", str(model), "--data", str(data), "--cache-dir", str(cache_dir),
             "--port", str(port), "--review-db", str(review_db), *extra],
            cwd=ROOT, env=app_env(), stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    return proc, f"http://127.0.0.1:{port}/"


def stop_app(proc: subprocess.Popen) -> None:
    """Terminate an app started by :func:`start_app` (kill after 20 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sse_call(base_url: str, api: str, body: bytes | dict, *, timeout: float = 120, http=None) -> tuple[str, object]:
    """POST JSON to Gradio's ``/gradio_api/call/<api>``, read its event stream: ``(event, data)``.

    ``body`` is raw bytes (to send what a client library cannot encode, e.g. lone surrogates) or a
    dict such as ``{"data": [text]}`` (add ``"session_hash"`` to share one Gradio session between
    calls). ``event`` is ``"complete"`` (data: the outputs) or ``"error"`` (data: ``{"error": message,
    ...}``). ``http`` is an ``httpx.Client`` to reuse; without one, a client is made for this call.
    """
    import httpx

    root = base_url.rstrip("/") + "/gradio_api/call/" + api.strip("/")
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    own = http is None
    http = http or httpx.Client(timeout=timeout)
    try:
        posted = http.post(root, content=raw, headers={"content-type": "application/json"})
        if posted.status_code != 200:
            raise RuntimeError(f"POST {root} answered {posted.status_code}: {posted.text[:500]}")
        event = None
        with http.stream("GET", f"{root}/{posted.json()['event_id']}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    return event, json.loads(line.split(":", 1)[1])
    finally:
        if own:
            http.close()
    raise RuntimeError(f"no complete or error event from {api}")
