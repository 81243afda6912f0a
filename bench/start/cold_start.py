"""Cold start with a warm cache, and the serving process's peak memory.

Builds the analysis cache once (``python -m core.analysis.precompute``), then starts ``python app.py`` on it
``--runs`` times. Each run times from the process start to the first ``GET /`` answered with 200,
samples the process's RSS (psutil, every 50 ms) until then, and reads the kernel's peak RSS
(``VmHWM`` in ``/proc/<pid>/status``) at that moment and again after a few ``/classify`` calls and
one ``/explain`` call. Prints JSON with p50 and max over the runs.

    python bench/start/cold_start.py --model both --runs 3
    python bench/start/cold_start.py --quick      # smoke run: emotion-minilm, 64-row split, 1 run
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    RssSampler,
    app_bench,
    dump,
    example_texts,
    peak_rss_mb,
    percentiles,
    precompute,
    resolve_model,
    rss_mb,
)
from bench.harness import EMOTION, LABELS, start_app, stop_app, wait_for_http  # noqa: E402

CLASSIFY_CALLS = 5


def _entries(cache_dir: Path) -> dict[str, float]:
    """Cached analysis entries and their modification times."""
    root = cache_dir / "analysis"
    return {p.name: p.stat().st_mtime for p in root.iterdir()} if root.is_dir() else {}


def one_start(model_dir: Path, data: Path, cache_dir: Path, log: Path, *, explain: bool) -> dict:
    """Start the app once, time it to the first page, then call it; returns this run's figures."""
    from gradio_client import Client

    entries = _entries(cache_dir)
    t0 = time.monotonic()
    proc, url = start_app(model_dir, data, cache_dir, log, review_db=cache_dir / "bench-reviews.sqlite")
    try:
        with RssSampler(proc.pid) as sampler:
            ready = wait_for_http(url, proc, log=log, timeout=900, poll=0.05, analysed=False) - t0
            sampled_ready = sampler.peak_mb
            hwm_ready = peak_rss_mb(proc.pid)
            client = Client(url, verbose=False, download_files=False)
            texts = example_texts(0)
            t1 = time.perf_counter()
            first = client.predict(texts[0], api_name="/classify")
            first_s = time.perf_counter() - t1
            for i in range(1, CLASSIFY_CALLS):
                first = client.predict(texts[i % len(texts)], api_name="/classify")
            if not isinstance(first, dict) or first.get("label") not in LABELS:
                raise RuntimeError(f"/classify answered {first!r}")
            explain_s = None
            if explain:
                t2 = time.perf_counter()
                out = client.predict(texts[0], "predicted class", api_name="/explain")
                explain_s = time.perf_counter() - t2
                if not isinstance(out, (list, tuple)) or len(out) != 4:  # words, bars, status, faithfulness
                    raise RuntimeError(f"/explain answered {out!r}")
            hwm_after = peak_rss_mb(proc.pid)
            rss_after = rss_mb(proc.pid)
        sampled_after = sampler.peak_mb
    finally:
        stop_app(proc)
    if _entries(cache_dir) != entries:
        raise RuntimeError(f"the app wrote a new analysis instead of reusing the cache in {cache_dir}")
    text = log.read_text() if log.exists() else ""
    m = re.search(r"(?:Loaded|Analysis ready) in ([0-9.]+) s", text)
    return {
        "ready_s": ready, "service_load_s": float(m.group(1)) if m else None, "first_classify_s": first_s,
        "explain_s": explain_s,
        "peak_rss_ready_mb": hwm_ready if hwm_ready is not None else sampled_ready,
        "peak_rss_ready_sampled_mb": sampled_ready,
        "peak_rss_after_calls_mb": hwm_after if hwm_after is not None else sampled_after,
        "peak_rss_after_calls_sampled_mb": sampled_after,
        "rss_after_calls_mb": rss_after,
    }


def bench_model(name: str, *, data: Path, cache_dir: Path, work: Path, runs: int, explain: bool) -> dict:
    """Pre-build the cache, then ``runs`` cold starts of the app on it."""
    model_dir = resolve_model(name, cache_dir / "models" if name == "distilbert" else work)
    print(f"[{name}] pre-building the analysis cache...", file=sys.stderr, flush=True)
    prebuild_s, line = precompute(model_dir, data, cache_dir)
    results = []
    for i in range(runs):
        print(f"[{name}] cold start {i + 1}/{runs}...", file=sys.stderr, flush=True)
        results.append(one_start(model_dir, data, cache_dir, work / f"app-{name}-{i}.log", explain=explain))
    keys = [k for k in results[0] if all(r[k] is not None for r in results)]
    summary = {}
    for k in keys:
        stats = percentiles([r[k] for r in results], digits=3 if k.endswith("_s") else 1)
        summary[k] = {"p50": stats["p50"], "max": stats["max"]}
    return {"model": str(model_dir), "runs": runs, "prebuild": {"wall_s": round(prebuild_s, 1), "output": line},
            **summary, "per_run": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
                                   for r in results]}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one JSON object."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="both", help="minilm, distilbert (random weights, real shape) or both")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--data", type=Path, default=EMOTION)
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="analysis cache (and the DistilBERT-size model) to reuse between runs (default: temp)")
    p.add_argument("--no-explain", action="store_true", help="skip the /explain call")
    p.add_argument("--quick", action="store_true", help="smoke run: emotion-minilm, 64-row split, 1 run")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    runs = 1 if args.quick else args.runs
    with app_bench(args, "bench-cold-start-") as (models, work, data, cache_dir):
        report = {
            "bench": "cold_start", "quick": args.quick, "data": str(data),
            "method": ("cache pre-built once by `python -m core.analysis.precompute`; each run starts "
                       "`python app.py` and "
                       "times process start -> first GET / with 200 (polled every 50 ms). Peak RSS is the kernel's "
                       "VmHWM of the app process (sampled RSS every 50 ms beside it), at first page and after "
                       f"{CLASSIFY_CALLS} /classify calls and one /explain call. Shared 2-core machine: noisy."),
            "models": {},
        }
        for name in models:
            report["models"][name] = bench_model(name, data=data, cache_dir=cache_dir, work=work, runs=runs,
                                                 explain=not args.no_explain)
    dump(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
