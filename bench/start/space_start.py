"""Space start-up from an empty cache: ``python app.py`` to the first page, and the process's peak memory.

A Space starts on an empty disk. Two starts are timed, each from an empty cache folder, configured as
on a Space (``SPACE_ID`` set, a ``file://`` review sync target holding a few decisions to restore):

1. ``compute``: nothing precomputed, so the app analyses the split itself (inference, UMAP, ...);
2. ``precomputed``: the first run's analysis was published to the sync target
   (:func:`core.analysis.precomputed.publish_precomputed`), so the app copies it instead of computing
   (checked: the entry's ``meta.json`` is the published one, byte for byte).

Each run times process start -> first ``GET /`` answered with 200 (polled every 50 ms) and reads the
kernel's peak RSS (``VmHWM``) of the app process then (the analysis runs in that process); the free
Space tier has 2 vCPU and 16 GB. Prints JSON.

    python bench/start/space_start.py                 # DistilBERT size (random weights), validation split
    python bench/start/space_start.py --quick         # smoke run: emotion-minilm, 64-row split
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RssSampler, dump, peak_rss_mb, resolve_model, write_data_subset  # noqa: E402
from bench.harness import EMOTION, start_app, stop_app, wait_for_http  # noqa: E402

FREE_TIER_MB = 16 * 1024
N_SEEDED_DECISIONS = 20


def _seed_target(target: Path, data: Path) -> None:
    """A sync target holding decisions from an earlier life of the Space on the same validation data
    (keyed as the app keys it, so the start restores them rather than setting them aside)."""
    from core.data.keys import content_key, text_hashes
    from core.data.splits import load_splits
    from core.review.store import ReviewStore
    from core.review.sync import ReviewSync
    from core.review.trust import EventRules

    split = load_splits(data, splits=("validation",))["validation"]
    key = content_key(text_hashes(list(split.texts)), "validation")
    names = list(load_splits(data, splits=("validation",)).label_names)
    with tempfile.TemporaryDirectory() as tmp:
        store = ReviewStore(Path(tmp) / "earlier.sqlite")
        for i in range(N_SEEDED_DECISIONS):
            store.record(key, i, action="keep", old_label=names[int(split.labels[i])], reviewer="bench")
        rules = EventRules(labels=frozenset(names), rows={key: len(split.texts)})
        ReviewSync(store, target.as_uri(), every_s=3600, rules=rules).close()


def one_start(model: Path, data: Path, cache: Path, target: Path, log: Path) -> dict:
    """Start the app on an empty ``cache`` as a Space would; time to first page and peak RSS."""
    env_before = dict(os.environ)
    os.environ.update({"SPACE_ID": "bench/emotion-lens", "EMOTION_REVIEW_ACCESS": "open",
                       "EMOTION_REVIEW_SYNC": target.as_uri(), "EMOTION_REVIEW_SYNC_EVERY": "60"})
    try:
        t0 = time.monotonic()
        proc, url = start_app(model, data, cache, log, review_db=cache / "reviews.sqlite")
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    try:
        with RssSampler(proc.pid) as sampler:
            ready = wait_for_http(url, proc, log=log, timeout=3600, poll=0.05) - t0
            hwm = peak_rss_mb(proc.pid)
        sampled = sampler.peak_mb
    finally:
        stop_app(proc)
    text = log.read_text() if log.exists() else ""
    m = re.search(r"Analysis ready in ([0-9.]+) s", text)
    restored = re.search(r"(\d+) restored", text)
    return {"ready_s": round(ready, 2), "service_load_s": float(m.group(1)) if m else None,
            "peak_rss_mb": round(hwm if hwm is not None else sampled, 1), "peak_rss_sampled_mb": round(sampled, 1),
            "decisions_restored": int(restored.group(1)) if restored else None}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one JSON object."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="distilbert", help="distilbert (random weights, real shape), minilm, or a path")
    p.add_argument("--data", type=Path, default=EMOTION, help="data folder (its validation split is analysed)")
    p.add_argument("--quick", action="store_true", help="smoke run: emotion-minilm on a 64-row split")
    args = p.parse_args(argv)
    from core.analysis.cache import AnalysisCache
    from core.analysis.precomputed import publish_precomputed

    with tempfile.TemporaryDirectory(prefix="bench-space-start-") as tmp:
        work = Path(tmp)
        model = resolve_model("minilm" if args.quick else args.model, work)
        data = write_data_subset(work / "data", 64) if args.quick else write_data_subset(work / "data", None)
        target = work / "target"
        _seed_target(target, data)
        report = {
            "bench": "space_start", "quick": args.quick, "model": str(model), "data": str(args.data),
            "rows": sum(1 for line in (data / "validation.txt").read_text().splitlines() if line.strip()),
            "cpu_count": os.cpu_count(), "free_tier_mb": FREE_TIER_MB,
            "method": ("each run: empty cache folder, SPACE_ID set, file:// sync target with "
                       f"{N_SEEDED_DECISIONS} decisions to restore; process start -> first GET / with 200 "
                       "(polled every 50 ms); peak RSS = kernel VmHWM of the app process at that moment "
                       "(sampled RSS every 50 ms beside it). Shared 2-core machine: noisy, one run each."),
        }
        print("[space-start] run 1: empty cache, computing the analysis...", file=sys.stderr, flush=True)
        report["compute"] = one_start(model, data, work / "cache-1", target, work / "app-1.log")
        entries = sorted((work / "cache-1" / "analysis").iterdir())
        if len(entries) != 1:
            raise RuntimeError(f"expected one analysis entry, found {[e.name for e in entries]}")
        key = entries[0].name
        publish_precomputed(key, cache_dir=work / "cache-1", url=target.as_uri())
        print("[space-start] run 2: empty cache, analysis precomputed at the sync target...", file=sys.stderr,
              flush=True)
        report["precomputed"] = one_start(model, data, work / "cache-2", target, work / "app-2.log")
        fetched = AnalysisCache(work / "cache-2").entry(key) / "meta.json"
        published = target / "analysis" / key / "meta.json"
        report["precomputed"]["used_published_entry"] = fetched.read_bytes() == published.read_bytes()
        report["precomputed"]["analysis_key"] = key
        report["fits_free_tier"] = max(report["compute"]["peak_rss_mb"],
                                       report["precomputed"]["peak_rss_mb"]) < FREE_TIER_MB
        report["analysis_seconds_in_meta"] = json.loads(fetched.read_text()).get("seconds")
    dump(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
