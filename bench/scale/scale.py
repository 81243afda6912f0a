"""Scale: precompute on the local and Ray engines, and the app's server-side latencies, at N rows.

For each N the corpus is the train split repeated, every copy after the first with seeded
word-level edits (a word dropped, doubled, swapped with its neighbour or replaced by a word from
elsewhere in the split), so the rows differ; it is written as ``<work>/data-<N>/validation.txt``.

Precompute: ``python -m core.analysis.precompute --engine local|ray`` in a fresh process per engine (Ray: a
new local Ray with ``--ray-workers`` workers, default 2), timed end to end; the analysis's own
seconds (``meta.json``, after imports and the model load) give rows per second; the driver's RSS is
sampled every 50 ms (Ray's workers are separate processes and are not counted).

App: ``python app.py`` on the cached analysis; time from the process start to the first page
(``GET /`` answered), from the analysis loaded (the app's "Analysis ready" line) to the first page,
the page's size and the app's peak RSS (``VmHWM``) by then; then, in a second fresh process doing
what ``app.py`` does, where that time goes (:func:`start_phases`: imports and model load, which do not
depend on N; reading the data and the cached analysis; building the UI and serving the first page).
The query latencies are timed in this process on the cached table with the functions the views call
(server side only, not the browser's drawing; wall and CPU seconds, since the machine may be shared):
the first page (default order), a filter (true label + text), a page change (page 500), a sort change, the first page of
the largest confusion cell (the most common class predicted as itself), and the embedding map (the
figure the tab sends, serialised to JSON: 10,000 points sampled per class past 10,000, else every point) and the
map after a zoom into a window holding at most 5,000 samples (its points, with hover texts).

Where precompute at an N does not fit the time given (``--max-precompute-s``), that N's app figures
can still be measured on a *tiled* analysis (``--tile-app``): the largest measured analysis repeated
to N rows over the edited corpus (texts and data fingerprint of that corpus, table rows and hidden
states tiled, map coordinates jittered). The JSON says which N were tiled.

    python bench/scale/scale.py --sizes 16000,100000,400000 --engines local,ray --tile-app
    python bench/scale/scale.py --sizes 16000,100000,400000 --engines local --app-only --tile-app \
        --tile-from <work>/cache-local-2000   # app figures on analyses tiled from a small one
    python bench/scale/scale.py --quick   # smoke: 300 rows on both engines and the app; queries at 600 (tiled)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RssSampler, dump, peak_rss_mb, read_text_label_lines  # noqa: E402
from bench.harness import EMOTION, MINILM, app_env, free_port, start_app, stop_app, wait_for_http  # noqa: E402
from bench.scale.scale_data import SPLIT, synthetic_corpus, tile_analysis, write_corpus  # noqa: E402
from bench.scale.scale_queries import time_queries  # noqa: E402


def marginal_rates(seconds: dict[int, float]) -> dict[str, float | None]:
    """Rows per second of the rows each size adds to the one below it: ``(N2 - N1) / (T2 - T1)``.

    Fixed costs (numba compilation, starting Ray, a full UMAP fit below 50,000 rows) cancel out, so
    equal marginal rates mean the cost grows linearly. ``None`` where the larger run was not slower.

    >>> marginal_rates({16000: 40.0, 100000: 180.0, 400000: 600.0})
    {'16000-100000': 600.0, '100000-400000': 714.29}
    """
    sizes = sorted(seconds)
    return {f"{a}-{b}": (round((b - a) / (seconds[b] - seconds[a]), 2) if seconds[b] > seconds[a] else None)
            for a, b in zip(sizes, sizes[1:], strict=False)}


def run_precompute(model: Path, data: Path, cache: Path, engine: str, workers: int, timeout: float) -> dict:
    """One ``core.analysis.precompute`` run in a fresh process: wall seconds, analysis seconds, driver peak RSS."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "RAY_DATA_DISABLE_PROGRESS_BARS": "1"}
    code = ("import sys; from core.analysis import ray_engine, precompute; "
            "ray_engine.connect(None, num_cpus=int(sys.argv[1])) if sys.argv[2] == 'ray' else None; "
            "sys.exit(precompute.main(sys.argv[3:]))")
    args = [sys.executable, "-c", code, str(workers), engine, "--model", str(model), "--data", str(data),
            "--split", SPLIT, "--cache-dir", str(cache), "--engine", engine]
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with RssSampler(proc.pid, interval=0.05) as rss:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return {"engine": engine, "status": f"not finished within {timeout:.0f} s"}
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"engine": engine, "status": f"failed ({proc.returncode}): {err.strip()[-600:]}"}
    meta = json.loads(next((cache / "analysis").glob("*/meta.json")).read_text())
    return {"engine": engine, "status": "ok", "wall_s": round(wall, 2), "analysis_s": meta["seconds"],
            "rows_per_s": round(meta["n_rows"] / meta["seconds"], 2),
            "rows_per_s_wall": round(meta["n_rows"] / wall, 2), "driver_peak_rss_mb": round(rss.peak_mb, 1),
            "accuracy": meta["accuracy"], "stage_seconds": meta.get("stage_seconds"), "stdout": out.strip()}


def app_start(model: Path, data: Path, cache: Path, work: Path) -> dict:
    """Start ``app.py`` on the cached analysis: seconds from the process start to the first page, and
    from the analysis loaded (the app's "Analysis ready" line: imports, data, model and cached analysis
    done) to the first page (building the UI and serving); the page's size and the app's peak RSS."""
    import urllib.request

    log = work / "app.log"
    t0 = time.monotonic()
    proc, url = start_app(model, data, cache, log, review_db=work / "bench-reviews.sqlite",
                          extra=["--split", SPLIT, "--splits", SPLIT])
    loaded: list[float] = []

    def watch_log() -> None:  # note when the analysis is loaded (the app prints one line then)
        while not loaded and proc.poll() is None:
            if log.is_file() and "Analysis ready" in log.read_text(errors="replace"):
                loaded.append(time.monotonic())
            time.sleep(0.05)

    import threading

    watcher = threading.Thread(target=watch_log, daemon=True)
    watcher.start()
    try:
        with RssSampler(proc.pid) as rss:
            ready = wait_for_http(url, proc, log=log, timeout=1800)
            watcher.join(timeout=5)
            with urllib.request.urlopen(url, timeout=60) as r:
                page_mb = len(r.read()) / 2**20
        out = {"first_page_s": round(ready - t0, 2), "page_mb": round(page_mb, 2),
               "peak_rss_mb": round(max(rss.peak_mb, peak_rss_mb(proc.pid) or 0.0), 1)}
        if loaded:
            out["analysis_loaded_s"] = round(loaded[0] - t0, 2)
            out["analysis_loaded_to_first_page_s"] = round(ready - loaded[0], 2)
        return out
    finally:
        stop_app(proc)


PHASES_CODE = """
import json, sys, time
marks = {"python_started": time.time()}
import gradio  # noqa: F401
import core.services.analyses as ca
import core.services.emotion as cs
from core.settings import Settings
from dashboard import app as dash
marks["imported"] = time.time()
spent = {}
def timed(name, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
    return wrapper
for module, name in ((cs, "load_splits"), (cs, "load_classifier"), (ca, "analyse_split")):
    setattr(module, name, timed(name, getattr(module, name)))
settings = Settings.from_sources(sys.argv[1:])
service = cs.EmotionService.load(settings, show_progress=False)
service.reviews.open()
marks["service_loaded"] = time.time()
demo = dash.build_app(service)
marks["ui_built"] = time.time()
demo.launch(server_name="127.0.0.1", server_port=settings.port, prevent_thread_lock=True, quiet=True,
            **dash.launch_options(service))
import urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{settings.port}/", timeout=600).read()
marks["first_page"] = time.time()
print(json.dumps({"marks": marks, "spent": spent}))
demo.close()
"""


def start_phases(model: Path, data: Path, cache: Path, work: Path) -> dict:
    """Where the app's start-up goes, in a fresh process doing what ``app.py`` does, timed by phase:
    (a) the interpreter, imports and the model load (independent of N); (b) the data, the cached
    analysis and the review key (reading N rows); (c) building the UI and serving the first page."""
    args = ["--model", str(model), "--data", str(data), "--cache-dir", str(cache), "--split", SPLIT, "--splits", SPLIT,
            "--review-db", str(work / "bench-reviews.sqlite"), "--port", str(free_port())]
    t0 = time.time()
    done = subprocess.run([sys.executable, "-c", PHASES_CODE, *args], cwd=ROOT, env=app_env(), capture_output=True,
                          text=True, timeout=1800)
    if done.returncode != 0:
        return {"status": f"failed ({done.returncode}): {done.stderr.strip()[-600:]}"}
    out = json.loads(next(line for line in done.stdout.splitlines() if line.startswith('{"marks"')))
    m, spent = out["marks"], out["spent"]
    load = m["service_loaded"] - m["imported"]
    phases = {
        "interpreter_s": m["python_started"] - t0, "imports_s": m["imported"] - m["python_started"],
        "model_load_s": spent.get("load_classifier", 0.0), "data_load_s": spent.get("load_splits", 0.0),
        "cached_analysis_load_s": spent.get("analyse_split", 0.0),
        "review_key_and_rest_s": load - sum(spent.values()),
        "ui_build_s": m["ui_built"] - m["service_loaded"], "serve_first_page_s": m["first_page"] - m["ui_built"],
    }
    phases = {k: round(v, 2) for k, v in phases.items()}
    phases["a_independent_of_n_s"] = round(phases["interpreter_s"] + phases["imports_s"] + phases["model_load_s"], 2)
    phases["b_load_n_rows_s"] = round(phases["data_load_s"] + phases["cached_analysis_load_s"]
                                      + phases["review_key_and_rest_s"], 2)
    phases["c_ui_and_first_page_s"] = round(phases["ui_build_s"] + phases["serve_first_page_s"], 2)
    phases["total_s"] = round(m["first_page"] - t0, 2)
    return phases


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line's arguments; ``--quick`` sets the sizes to 300 and 600 and tiles the second."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=MINILM)
    p.add_argument("--sizes", default="16000,100000,400000", help="comma-separated N")
    p.add_argument("--engines", default="local,ray")
    p.add_argument("--ray-workers", type=int, default=2)
    p.add_argument("--work-dir", type=Path, default=None, help="kept between runs (default: a temporary folder)")
    p.add_argument("--max-precompute-s", type=float, default=3600.0, help="per precompute run")
    p.add_argument("--tile-app", action="store_true", help="app figures on a tiled analysis where precompute is absent")
    p.add_argument("--skip-app", action="store_true")
    p.add_argument("--app-only", action="store_true", help="no precompute: cached analyses, tiled elsewhere")
    p.add_argument("--tile-from", type=Path, default=None,
                   help="a cache folder holding one analysis (e.g. <work>/cache-local-2000) to tile from; the "
                        "corpus then repeats that analysis's rows (use another --work-dir than the source's)")
    p.add_argument("--quick", action="store_true", help="smoke run: N = 300, 600; both engines")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.tile_app = "300,600", True
    return args


def cached_meta(cache: Path) -> dict:
    """The ``meta.json`` of the analysis cached under ``cache``."""
    return json.loads(next((cache / "analysis").glob("*/meta.json")).read_text())


def source_pairs(tile_from: Path | None) -> list[tuple[str, str]]:
    """The (text, label) rows every corpus repeats: the train split, or the rows of the analysis tiled from (so
    that tiled rows match it)."""
    pairs = read_text_label_lines(EMOTION / "train.txt")
    if tile_from is not None:
        pairs = read_text_label_lines(Path(cached_meta(tile_from)["data"]) / f"{SPLIT}.txt")
    return pairs


def engine_precompute(args: argparse.Namespace, engine: str, data: Path, cache: Path) -> dict | None:
    """One engine's precompute figures at one size: run now, read from an earlier run's cache, or skipped
    (``None``: ``--app-only`` with nothing cached)."""
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        return {"engine": engine, "status": "skipped: Ray is not installed"}
    if args.app_only and not (cache / "analysis").is_dir():
        return None
    if not (cache / "analysis").is_dir():
        return run_precompute(args.model, data, cache, engine, args.ray_workers, args.max_precompute_s)
    meta = cached_meta(cache)
    return {"engine": engine, "status": "ok (cached by an earlier run)", "analysis_s": meta["seconds"],
            "rows_per_s": round(meta["n_rows"] / meta["seconds"], 2)}


def precompute_size(args: argparse.Namespace, engines: list[str], n: int, data: Path, work: Path,
                    entry: dict) -> Path | None:
    """Fill ``entry["precompute"]`` for size ``n`` on each engine; the first engine's own (untiled) analysis,
    if any (the engines' analyses are equal, so tiles copy it)."""
    local_cache = None
    for engine in engines:
        cache = work / f"cache-{engine}-{n}"
        figures = engine_precompute(args, engine, data, cache)
        if figures is None:
            continue
        entry["precompute"][engine] = figures
        if figures["status"].startswith("ok") and "tiled_from" not in cached_meta(cache):
            local_cache = local_cache or cache
    return local_cache


def app_figures(args: argparse.Namespace, n: int, first_size: bool, data: Path, work: Path, entry: dict,
                app_cache: Path | None) -> None:
    """Add the query latencies and (once in a smoke run) the app's start-up figures at size ``n`` to ``entry``."""
    if app_cache is not None and not args.skip_app:
        entry["queries"] = time_queries(app_cache)
        if not (args.quick and not first_size):  # the smoke run starts the app once
            entry["app"] = app_start(args.model, data, app_cache, work)
            entry["app"]["phases"] = start_phases(args.model, data, app_cache, work)


def rate_summary(report: dict, engines: list[str]) -> None:
    """Per engine with two or more measured sizes: the largest-to-smallest rows-per-second ratio and the
    marginal rates (:func:`marginal_rates`), added to ``report``."""
    for engine in engines:
        rates = {n: e["precompute"].get(engine, {}).get("rows_per_s") for n, e in report["sizes"].items()}
        rates = {n: r for n, r in rates.items() if r}
        if len(rates) >= 2:
            first, last = rates[min(rates, key=int)], rates[max(rates, key=int)]
            report[f"{engine}_rows_per_s_ratio_largest_to_smallest"] = round(last / first, 3)
            report[f"{engine}_marginal_rows_per_s"] = marginal_rates(
                {int(n): report["sizes"][n]["precompute"][engine]["analysis_s"] for n in rates})


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: measure every size, print each size's figures to stderr, dump the report."""
    args = parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    engines = [x for x in args.engines.split(",") if x]
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    pairs = source_pairs(args.tile_from)
    report = {"bench": "scale", "model": str(args.model), "ray_workers": args.ray_workers, "cpus": os.cpu_count(),
              "sizes": {}}
    largest: Path | None = args.tile_from
    for n in sizes:
        data = write_corpus(synthetic_corpus(pairs, n), work / f"data-{n}")
        entry: dict = {"rows": n, "precompute": {}}
        # the smoke run tiles its second size (exercising --tile-app)
        local_cache = None if args.quick and n != sizes[0] else precompute_size(args, engines, n, data, work, entry)
        largest = local_cache or largest
        app_cache, entry["app_on"] = local_cache, "precomputed analysis"
        if app_cache is None and args.tile_app and largest is not None:
            app_cache = work / f"cache-tiled-{n}"
            if not (app_cache / "analysis").is_dir():
                tile_analysis(largest, args.model, data, app_cache)
            entry["app_on"] = f"tiled from {largest.name}"
        app_figures(args, n, n == sizes[0], data, work, entry, app_cache)
        report["sizes"][str(n)] = entry
        print(json.dumps({"n": n, **entry}), file=sys.stderr, flush=True)
    rate_summary(report, engines)
    dump(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
