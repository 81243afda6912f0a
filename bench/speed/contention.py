"""Live classification under contention: classify p50 and p99 alone, and while an explanation, a
calibration fit and a compare run beside it in threads.

Loads ``EmotionService`` on a real model and data (default: emotion-minilm on ../shared/emotion's
validation split, with itself as the compare model, so the compare report has two analyses to
diff; the analysis cache goes to ``--cache-dir``, default under /tmp). Then, in blocks that
alternate so load changes on a shared machine hit both sides alike:

* ``alone``: ``classify_one(text)`` one call after another from one thread;
* ``contended``: the same calls while three threads loop beside them, each starting cold every time:
  an explanation (the explainer rebuilt: its memo is cleared), a calibration fit over every row of
  the split and a compare report (their memos cleared).

Prints JSON and writes it to ``--out`` (default ``bench/speed/results/contention.json``); ``--before FILE``
embeds an earlier run (the code before a change) and the p50 and p99 ratios against it. The side
work also competes for the CPU, so the contended figures are never expected to equal ``alone``;
what a lock adds is the difference beyond that.

    python bench/speed/contention.py                       # 3 blocks of 100 calls per side
    python bench/speed/contention.py --quick               # smoke run: 2 blocks of 10 calls
    python bench/speed/contention.py --out bench/speed/results/contention_before.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import dump, validation_texts  # noqa: E402
from bench.harness import EMOTION, MINILM  # noqa: E402


def stats(samples: Sequence[float], *, digits: int = 4) -> dict[str, float]:
    """p50, p99 (nearest rank), max and count of ``samples`` in seconds."""
    xs = sorted(float(x) for x in samples)
    if not xs:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "n": 0}
    p99 = xs[min(len(xs) - 1, max(0, math.ceil(0.99 * len(xs)) - 1))]
    return {"p50": round(statistics.median(xs), digits), "p99": round(p99, digits), "max": round(xs[-1], digits),
            "n": len(xs)}


def forget(holder: object, *names: str) -> None:
    """Clear the memos ``names`` of ``holder`` and of the services it composes (a dict or anything with
    ``clear()``), so the next call computes again."""
    for obj in (holder, *vars(holder).values()):
        for name in names:
            memo = getattr(obj, "__dict__", {}).get(name)
            if memo is not None and callable(getattr(memo, "clear", None)):
                memo.clear()


def side_jobs(service, split: str, texts: list[str]) -> dict[str, Callable[[int], object]]:
    """One cold call of each side job, by name; the argument varies the explained text."""

    def explain(i: int):
        forget(service, "_explainers")
        return service.explain(texts[i % len(texts)])

    def calibration(_: int):
        forget(service, "_calibration")
        return service.calibration(split)

    def compare(_: int):
        forget(service, "_compare_reports", "_compare")
        return service.compare_report(split)

    return {"explain": explain, "calibration": calibration, "compare": compare}


class Beside:
    """The side jobs looping in threads until the block ends; counts and times each job's runs."""

    def __init__(self, jobs: dict[str, Callable[[int], object]]) -> None:
        self.jobs = jobs
        self.runs: dict[str, list[float]] = {name: [] for name in jobs}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _loop(self, name: str) -> None:
        i = 0
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                self.jobs[name](i)
            except Exception as exc:  # noqa: BLE001 - reported in the JSON, the bench goes on
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                return
            self.runs[name].append(time.perf_counter() - t0)
            i += 1

    def __enter__(self) -> Beside:
        self._stop.clear()
        self._threads = [threading.Thread(target=self._loop, args=(n,), daemon=True) for n in self.jobs]
        for t in self._threads:
            t.start()
        time.sleep(0.2)  # let every job start before the first timed call
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()


def classify_block(service, texts: list[str], n: int, start: int) -> list[float]:
    """Latencies of ``n`` sequential ``classify_one`` calls."""
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        service.classify_one(texts[(start + i) % len(texts)])
        out.append(time.perf_counter() - t0)
    return out


def load_service(model: Path, data: Path, split: str, cache_dir: Path):
    """The service on ``model`` (also the compare model) and ``split`` of ``data``, reviews under ``cache_dir``."""
    from core.services.emotion import EmotionService
    from core.settings import Settings

    settings = Settings(model=str(model), compare_model=str(model), data=str(data), split=split,
                        cache_dir=cache_dir, review_db=str(cache_dir / "reviews.sqlite"))
    return EmotionService.load(settings, show_progress=False)


def commit() -> str:
    """The checked-out commit (with ``+dirty`` when the work tree differs), or ``unknown``."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "core", "dashboard"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def run(args) -> dict:
    """Alternate alone and contended blocks; returns the report."""
    texts = validation_texts(args.texts)
    service = load_service(args.model, args.data, args.split, args.cache_dir)
    classify_block(service, texts, 5, 0)  # warm up the batcher and the model
    for job in side_jobs(service, args.split, texts).values():
        job(0)  # warm up: import shap and the compare and calibration code once, outside the timing
    alone: list[float] = []
    contended: list[float] = []
    beside = Beside(side_jobs(service, args.split, texts))
    for b in range(args.blocks):
        alone += classify_block(service, texts, args.n, b * args.n)
        with beside:
            contended += classify_block(service, texts, args.n, b * args.n)
    report = {
        "bench": "contention", "commit": commit(), "model": str(args.model), "data": str(args.data),
        "split": args.split, "rows": len(service.analysis(args.split).table), "blocks": args.blocks,
        "calls_per_block": args.n, "classify_alone_s": stats(alone), "classify_contended_s": stats(contended),
        "side_runs": {name: {"runs": len(t), "p50_s": stats(t)["p50"]} for name, t in beside.runs.items()},
        "side_errors": beside.errors,
    }
    a, c = report["classify_alone_s"], report["classify_contended_s"]
    report["contended_over_alone"] = {k: round(c[k] / a[k], 2) if a[k] else None for k in ("p50", "p99")}
    return report


def with_before(report: dict, before_path: Path) -> dict:
    """``{"before": earlier run, "after": this run}`` with the contended p50 and p99 ratios after/before."""
    before = json.loads(before_path.read_text())
    before = before.get("after", before)
    b, a = before["classify_contended_s"], report["classify_contended_s"]
    return {"bench": "contention", "before": before, "after": report,
            "contended_after_over_before": {k: round(a[k] / b[k], 3) if b[k] else None for k in ("p50", "p99")}}


def main(argv: Sequence[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=MINILM)
    p.add_argument("--data", type=Path, default=EMOTION)
    p.add_argument("--split", default="validation")
    p.add_argument("--cache-dir", type=Path, default=None, help="analysis cache (default: a new folder under /tmp)")
    p.add_argument("--blocks", type=int, default=3, help="alone/contended block pairs")
    p.add_argument("-n", type=int, default=100, help="classify calls per block")
    p.add_argument("--texts", type=int, default=40, help="validation texts cycled through (spread lengths)")
    p.add_argument("--before", type=Path, default=None, help="an earlier run's JSON to compare with")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "speed" / "results" / "contention.json")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 blocks of 10 calls")
    args = p.parse_args(argv)
    if args.quick:
        args.blocks, args.n = 2, 10
    with tempfile.TemporaryDirectory(prefix="bench-contention-") as tmp:
        if args.cache_dir is None:
            args.cache_dir = Path(tmp)
        args.cache_dir.mkdir(parents=True, exist_ok=True)
        report = run(args)
    if args.before is not None:
        report = with_before(report, args.before)
    dump(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
