"""Classify through the running app's API: overhead over the raw forward pass, and concurrent throughput.

Starts ``python app.py --model M --data D --cache-dir C --port <free>`` (the first start with an
empty cache builds the analysis; pass ``--cache-dir`` to reuse one between runs), then measures,
in one run, side by side:

* the raw forward pass in this process: ``core.classifier.model.load_classifier`` + ``predict([text])``, and
  the sequential API call ``gradio_client.Client.predict(text, api_name="/classify")`` (with
  ``ssl_verify=False`` for the plain-http URL, and with a default ``Client`` too),
  interleaved request by request over the same texts (4 Classify-tab examples + 20 validation
  texts spread over the length range), so load changes hit both alike; overhead = API p50 - raw p50;
  the same calls over Gradio's plain HTTP API (``POST /gradio_api/call/classify`` and its SSE
  stream) are interleaved too, since gradio_client's result loop sleeps 50 ms between polls: with a
  new Gradio session per call, and with one session for all calls (as gradio_client keeps);
* throughput: the same requests sent one after another by one client, then by 8 clients at once
  (a thread and a ``Client`` each); ratio = concurrent / sequential requests per second.

    python bench/speed/classify_api.py --model both --requests 120
    python bench/speed/classify_api.py --quick      # smoke run: emotion-minilm, 64-row split, 16 requests
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import app_bench, dump, example_texts, percentiles, resolve_model  # noqa: E402
from bench.harness import EMOTION, LABELS, sse_call, start_app, stop_app, wait_for_http  # noqa: E402

API = "/classify"
WARMUP = 3


def make_client(url: str, *, default_tls: bool = False):
    """A quiet gradio_client for ``url``.

    For a plain ``http://`` URL there is no TLS, so certificate checking is off
    (``ssl_verify=False``): with it on, gradio_client builds a verifying SSL context, loading the CA
    bundle, for every call (about 100 ms of CPU per call here). ``default_tls=True`` keeps the
    default, to report what an unconfigured client pays.
    """
    from gradio_client import Client

    plain_http = url.startswith("http://") and not default_tls
    return Client(url, verbose=False, download_files=False, ssl_verify=not plain_http)


def check_answer(answer) -> None:
    """The /classify answer is a Label value naming one of the labels."""
    label = answer.get("label") if isinstance(answer, dict) else None
    if label not in LABELS:
        raise RuntimeError(f"/classify answered {answer!r}")


def http_classify(http, url: str, text: str, session_hash: str | None = None) -> dict:
    """One call through Gradio's plain HTTP API (``POST /gradio_api/call/classify``, then its SSE stream).

    Without ``session_hash`` every call opens a new Gradio session (as a one-off ``curl`` does);
    with one, the calls share a session, as gradio_client's calls do.
    """
    body = {"data": [text]} if session_hash is None else {"data": [text], "session_hash": session_hash}
    event, data = sse_call(url, API, body, http=http)
    if event == "error":
        raise RuntimeError(f"/classify failed: {data}")
    return data[0]


def sequential(clf, client, http, url: str, texts: list[str], n: int) -> dict[str, list[float]]:
    """Raw forward, gradio_client call and plain HTTP call, interleaved per request; returns their latencies."""
    out: dict[str, list[float]] = {"raw": [], "client": [], "client_default": [], "http": [], "http_session": []}
    default_client = make_client(url, default_tls=True)
    for i in range(n):
        text = texts[i % len(texts)]
        t0 = time.perf_counter()
        clf.predict([text], batch_size=1)
        t1 = time.perf_counter()
        check_answer(client.predict(text, api_name=API))
        t2 = time.perf_counter()
        check_answer(default_client.predict(text, api_name=API))
        t3 = time.perf_counter()
        check_answer(http_classify(http, url, text))
        t4 = time.perf_counter()
        check_answer(http_classify(http, url, text, session_hash="bench-plain-http"))
        t5 = time.perf_counter()
        out["http_session"].append(t5 - t4)
        out["raw"].append(t1 - t0)
        out["client"].append(t2 - t1)
        out["client_default"].append(t3 - t2)
        out["http"].append(t4 - t3)
    return out


def concurrent(clients: list, texts: list[str], n: int) -> tuple[list[float], float]:
    """``n`` requests shared by ``len(clients)`` threads; returns latencies and the wall time."""
    work: queue.Queue[str] = queue.Queue()
    for i in range(n):
        work.put(texts[i % len(texts)])
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients) + 1)

    def run(client) -> None:
        barrier.wait()
        while True:
            try:
                text = work.get_nowait()
            except queue.Empty:
                return
            t0 = time.perf_counter()
            try:
                check_answer(client.predict(text, api_name=API))
            except BaseException as exc:  # reported after the threads finish
                errors.append(exc)
                return
            with lock:
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} concurrent requests failed; first: {errors[0]!r}")
    return latencies, wall


def bench_model(name: str, *, data: Path, cache_dir: Path, work: Path, requests: int, clients: int) -> dict:
    """Start the app on ``name`` and measure; the app is stopped afterwards."""
    import httpx

    from core.classifier.model import load_classifier

    model_dir = resolve_model(name, cache_dir / "models" if name == "distilbert" else work)
    log = work / f"app-{name}.log"
    print(f"[{name}] starting the app (builds the analysis if {cache_dir} has none)...", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    proc, url = start_app(model_dir, data, cache_dir, log, review_db=cache_dir / "bench-reviews.sqlite")
    try:
        ready = wait_for_http(url, proc, log=log, timeout=1800) - t0
        clf = load_classifier(model_dir, data_labels=LABELS)
        texts = example_texts(20)
        client = make_client(url)
        http = httpx.Client(timeout=120)
        for text in texts[:WARMUP]:
            clf.predict([text], batch_size=1)
            check_answer(client.predict(text, api_name=API))
            check_answer(http_classify(http, url, text))
        print(f"[{name}] sequential: {requests} requests...", file=sys.stderr, flush=True)
        seq = sequential(clf, client, http, url, texts, requests)
        raw, api, seq_wall = seq["raw"], seq["client"], sum(seq["client"])
        pool = [make_client(url) for _ in range(clients)]
        for c in pool:
            check_answer(c.predict(texts[0], api_name=API))
        print(f"[{name}] {clients} concurrent clients: {requests} requests...", file=sys.stderr, flush=True)
        conc, conc_wall = concurrent(pool, texts, requests)
    finally:
        stop_app(proc)
    raw_ms = percentiles([x * 1000 for x in raw], digits=2)
    api_ms = percentiles([x * 1000 for x in api], digits=2)
    http_ms = percentiles([x * 1000 for x in seq["http"]], digits=2)
    http_session_ms = percentiles([x * 1000 for x in seq["http_session"]], digits=2)
    default_ms = percentiles([x * 1000 for x in seq["client_default"]], digits=2)
    seq_rps, conc_rps = requests / seq_wall, requests / conc_wall
    return {
        "model": str(model_dir), "app_ready_s": round(ready, 1), "requests": requests, "texts": len(texts),
        "raw_forward_ms": raw_ms,
        "api_sequential_ms": api_ms,
        "api_overhead_p50_ms": round(api_ms["p50"] - raw_ms["p50"], 2),
        "api_default_client_sequential_ms": default_ms,
        "api_default_client_overhead_p50_ms": round(default_ms["p50"] - raw_ms["p50"], 2),
        "api_plain_http_sequential_ms": http_ms,
        "api_plain_http_overhead_p50_ms": round(http_ms["p50"] - raw_ms["p50"], 2),
        "api_plain_http_one_session_ms": http_session_ms,
        "api_plain_http_one_session_overhead_p50_ms": round(http_session_ms["p50"] - raw_ms["p50"], 2),
        "throughput_rps": {"sequential": round(seq_rps, 2), f"concurrent_{clients}_clients": round(conc_rps, 2)},
        "throughput_ratio": round(conc_rps / seq_rps, 2),
        "api_concurrent_ms": percentiles([x * 1000 for x in conc], digits=2),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one JSON object."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="both", help="minilm, distilbert (random weights, real shape) or both")
    p.add_argument("--requests", type=int, default=120, help="requests per measurement (default: %(default)s)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default: %(default)s)")
    p.add_argument("--data", type=Path, default=EMOTION)
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="analysis cache (and the DistilBERT-size model) to reuse between runs (default: temp)")
    p.add_argument("--quick", action="store_true", help="smoke run: emotion-minilm, 64-row split, 16 requests")
    args = p.parse_args(argv)
    requests = 16 if args.quick else args.requests
    with app_bench(args, "bench-classify-api-") as (models, work, data, cache_dir):
        report = {
            "bench": "classify_api", "quick": args.quick, "data": str(data), "api": API,
            "method": ("raw forward (load_classifier + predict on one text, in the bench process) and sequential "
                       "API calls (gradio_client, one Client; ssl_verify=False as the URL is plain http, since the "
                       "default builds a CA-loading SSL context on every call) interleaved request by request over "
                       "the same texts; a default Client (ssl_verify=True) is interleaved too; "
                       "overhead = API p50 - raw p50. The same calls over Gradio's plain HTTP API "
                       "(POST /gradio_api/call/classify + its SSE stream, httpx) are interleaved too, to separate "
                       "gradio_client's own polling (50 ms sleeps) from the server's overhead: once with a new "
                       "Gradio session per call (as a one-off curl) and once with all calls in one session "
                       "(as gradio_client keeps one). "
                       "Throughput: the same number of requests from one client in "
                       f"sequence, then from {args.clients} clients (one thread and Client each) at once; ratio = "
                       "concurrent / sequential requests per second. Shared 2-core machine: noisy."),
            "models": {},
        }
        for name in models:
            report["models"][name] = bench_model(name, data=data, cache_dir=cache_dir, work=work,
                                                 requests=requests, clients=args.clients)
    dump(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
