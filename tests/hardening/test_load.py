"""Load on the MiniLM dashboard: 32 concurrent clients x 10 ``/classify`` requests and 8 concurrent
``/explain`` requests at the same time, each thread with its own HTTP client (``httpx``, Gradio's
``/gradio_api/call`` API; the light client keeps the test's own CPU use low on a 2-core machine).

No request may fail, every classification must equal a sequential call (probabilities within 1e-4 in fp32; bf16, the
default where the CPU has it, rounds differently with the batch's padding: within 1e-2)
and every explanation must agree with the classification of its text. Latencies are reported (printed
and written to ``artifacts/load_report.json``), never asserted: timing belongs in the benchmarks.
"""

from __future__ import annotations

import json
import os
import platform
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from bench.harness import sse_call
from tests.conftest import LABELS, REPO, app_tolerance, needs_emotion, needs_minilm
from tests.hardening.conftest import real_lines

pytestmark = [pytest.mark.slow, needs_minilm, needs_emotion]

N_CLIENTS, N_REQUESTS, N_EXPLAIN = 32, 10, 8
DEADLINE_S = 420  # bound on the whole load phase
REPORT = REPO / "artifacts" / "load_report.json"
PREDICTED = "predicted class"


def confidences(result: dict) -> dict[str, float]:
    return {c["label"]: float(c["confidence"]) for c in result["confidences"]}


def percentiles(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    return {"n": int(arr.size), "p50_s": round(float(np.percentile(arr, 50)), 4),
            "p95_s": round(float(np.percentile(arr, 95)), 4), "max_s": round(float(arr.max()), 4),
            "mean_s": round(float(arr.mean()), 4)}


def test_concurrent_classify_and_explain_are_all_right(app_url):
    from gradio_client import Client

    texts = [ln.rpartition(";")[0] for ln in real_lines(200)]
    classify_texts = texts[:40]
    explain_texts = [t for t in texts[40:] if len(t.split()) <= 12][:N_EXPLAIN]  # tweets of usual length
    assert len(explain_texts) == N_EXPLAIN

    # sequential answers first (gradio_client, as a user of the API would), and one explanation so the
    # explainer is built before the clock starts
    reference_client = Client(app_url, verbose=False)
    reference = {t: confidences(reference_client.predict(t, api_name="/classify"))
                 for t in classify_texts + explain_texts}
    reference_client.predict(texts[-1], PREDICTED, api_name="/explain")

    start_gate = threading.Barrier(N_CLIENTS + N_EXPLAIN)
    errors: list[str] = []

    def classify_worker(i: int) -> list[tuple[str, dict, float]]:
        out = []
        with httpx.Client(timeout=300) as http:  # one client (connection) per simulated user
            start_gate.wait(timeout=60)
            for j in range(N_REQUESTS):
                text = classify_texts[(i * N_REQUESTS + j) % len(classify_texts)]
                t0 = time.perf_counter()
                event, data = sse_call(app_url, "classify", {"data": [text]}, http=http)
                if event != "complete":
                    errors.append(f"classify {text!r}: {data}")
                    continue
                out.append((text, data[0], time.perf_counter() - t0))
        return out

    def explain_worker(i: int) -> tuple[str, list, float] | None:
        text = explain_texts[i]
        with httpx.Client(timeout=300) as http:
            start_gate.wait(timeout=60)
            t0 = time.perf_counter()
            event, data = sse_call(app_url, "explain", {"data": [text, PREDICTED, False]}, http=http)
        if event != "complete":
            errors.append(f"explain {text!r}: {data}")
            return None
        return text, data, time.perf_counter() - t0

    wall = time.perf_counter()
    with ThreadPoolExecutor(N_CLIENTS + N_EXPLAIN) as pool:
        classify_futures = [pool.submit(classify_worker, i) for i in range(N_CLIENTS)]
        explain_futures = [pool.submit(explain_worker, i) for i in range(N_EXPLAIN)]
        deadline = time.monotonic() + DEADLINE_S
        classified = [r for f in classify_futures for r in f.result(timeout=max(1, deadline - time.monotonic()))]
        explained = [f.result(timeout=max(1, deadline - time.monotonic())) for f in explain_futures]
    wall = time.perf_counter() - wall

    assert errors == []
    assert len(classified) == N_CLIENTS * N_REQUESTS and all(explained)
    for text, result, _ in classified:
        got, want = confidences(result), reference[text]
        np.testing.assert_allclose([got[x] for x in LABELS], [want[x] for x in LABELS],
                                   atol=app_tolerance(batching=True), err_msg=text)
        assert result["label"] == max(want, key=want.get)
    for text, (highlighted, _plot, status, _faithfulness), _ in explained:
        want = reference[text]
        predicted = max(want, key=want.get)
        m = re.match(r"^(\w+) \(predicted: (\w+), p=(\d\.\d{3})\); (\d+) tokens in ([\d.]+) s", status)
        assert m and m[1] == m[2] == predicted, (text, status)
        assert abs(float(m[3]) - want[predicted]) <= 1.5e-3, (text, status, want[predicted])
        words = [h["token"] for h in highlighted if h["token"].strip()]
        n_words = re.search(r"\((\d+) words\)", status)
        assert n_words and len(words) == int(n_words[1]) >= 1 and int(m[4]) >= len(words), (text, status)
        assert "".join(words) == re.sub(r"\s+", "", text)  # the words, as typed, rebuild the text
        scores = [h["class_or_confidence"] for h in highlighted if h["class_or_confidence"] is not None]
        assert all(-1.0 <= v <= 1.0 for v in scores) and max(abs(v) for v in scores) == pytest.approx(1.0)

    report = {
        "what": f"{N_CLIENTS} concurrent clients (one httpx connection each, Gradio's /gradio_api/call API) x "
                f"{N_REQUESTS} /classify requests, with {N_EXPLAIN} concurrent /explain requests at the same time, "
                "on emotion-minilm; latency = POST until the complete event",
        "classify": percentiles([lat for *_, lat in classified]),
        "explain": percentiles([lat for *_, lat in explained]),
        "explain_compute": percentiles([float(re.search(r"tokens in ([\d.]+) s", out[2])[1])
                                        for _, out, _ in explained]),  # the explainer's own time, from its status
        "wall_s": round(wall, 2),
        "classify_per_s": round(len(classified) / wall, 2),
        "errors": len(errors),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "note": "client and server share a 2-core machine (with other work); reported, not asserted",
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nload report ({REPORT}):\n{json.dumps(report, indent=2)}")
