"""Each stage's seconds and peak memory of an uncached analysis of the split the model trained on, with and
without the mislabel signals, in one run.

A fresh process (``--child``) loads the model and the train split, then runs
:func:`core.analysis.precompute.analyse_split` on an empty cache folder, so every stage and every signal
family is computed. A thread samples the process's resident memory every 50 ms; the analysis's progress
callback marks where each stage (and each signal family) starts, so each gets its peak. Seconds are the
analysis's own record (``meta.json``: ``stage_seconds``, ``signal_seconds``). "Without signals" is the
same run's analysis less its signals stage, so the ratio ``signals / without`` is measured in one run
(a busy host slows both).

``--root DIR`` runs another checkout's code (for a before/after table: ``git archive main | tar -x -C DIR``).
``--from-analysis DIR`` reads an analysis folder already built (seconds only; no memory).

    python bench/speed/train_analysis.py --out bench/speed/results/train_analysis_after.json
    python bench/speed/train_analysis.py --root /tmp/main-copy --out bench/speed/results/train_analysis_before.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if os.environ.get("BENCH_ROOT"):  # the child of --root runs that checkout's core
    sys.path.insert(0, os.environ["BENCH_ROOT"])
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import EMOTION, MINILM, app_env  # noqa: E402

OUT = ROOT / "bench" / "speed" / "results" / "train_analysis.json"
SAMPLE_S = 0.05


class MemorySampler:
    """Resident memory of this process every :data:`SAMPLE_S` seconds, and named marks in time."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.samples: list[tuple[float, int]] = []
        self.marks: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self._proc.memory_info().rss))
            time.sleep(SAMPLE_S)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self, name: str) -> None:
        self.marks.append((time.perf_counter(), name))

    def peaks(self, end: float) -> dict[str, float]:
        """GB: the peak resident memory between each mark and the next (the last one up to ``end``)."""
        out = {}
        for (start, name), (stop, _) in zip(self.marks, [*self.marks[1:], (end, "")], strict=True):
            inside = [rss for t, rss in self.samples if start <= t <= stop + SAMPLE_S]
            out[name] = round(max(inside, default=0) / 1e9, 3)
        return out


def _progress(sampler: MemorySampler):
    """The analysis's progress callback: a mark at each new stage, and at each signal family."""
    seen: set[str] = set()

    def update(stage: str, done: int, total: int) -> None:
        if stage == "signals" and done < total:
            sampler.mark(f"signals#{done}")
        elif stage not in seen and not stage.startswith("signals"):
            sampler.mark(stage.replace(" ", "_"))
        seen.add(stage)

    return update


def child(model: Path, data: Path, cache_dir: Path) -> dict:
    """In this process: one uncached analysis of the train split; stage seconds and peaks."""
    from core.analysis.precompute import analyse_split
    from core.classifier.model import load_classifier
    from core.data.splits import load_splits

    with MemorySampler() as sampler:
        sampler.mark("load")
        splits = load_splits(str(data), splits=("train",))
        clf = load_classifier(str(model), data_labels=splits.label_names, label_origin=splits.label_origin,
                              backend="auto", cache_dir=cache_dir)
        out = analyse_split(clf, splits, "train", cache_dir=cache_dir, show_progress=False,
                            progress=_progress(sampler))
        end = time.perf_counter()
    peaks = sampler.peaks(end)
    meta = out.analysis.meta
    families = list((meta.get("signal_seconds") or {}).keys())
    named = {(families[int(k.split("#")[1])] if k.startswith("signals#") else k): v for k, v in peaks.items()}
    peak = max(r for _, r in sampler.samples)
    return {"meta": meta, "peak_rss_gb": named, "process_peak_rss_gb": round(peak / 1e9, 3)}


def summary(meta: dict, peaks: dict | None = None) -> dict:
    """The stage table (seconds, peak GB), the signals' cost and the ratio to the analysis without them."""
    peaks = peaks or {}
    stages = dict(meta.get("stage_seconds") or {})
    if "signals" not in stages:
        raise ValueError("this analysis computed no signals (not a trained-on split, or an older cache)")
    signals = float(stages["signals"])
    families = meta.get("signal_seconds") or {}
    without = float(meta["seconds"]) - signals  # every stage but the signals, and what runs between stages
    alias = {"label_issues": "label_issues", "table": "umap"}  # the table is built right after the map
    rows = [{"stage": k, "seconds": round(float(v), 2), "peak_rss_gb": peaks.get(alias.get(k, k))}
            for k, v in stages.items() if k != "signals"]
    rows += [{"stage": f"signals: {k}", "seconds": round(float(v), 2), "peak_rss_gb": peaks.get(k)}
             for k, v in families.items()]
    return {"split": meta.get("split"), "rows": meta.get("n_rows"), "model": meta.get("model"),
            "backend": meta.get("backend"), "created": meta.get("created"),
            "analysis_s": round(float(meta["seconds"]), 1), "without_signals_s": round(without, 1),
            "signals_s": round(signals, 1), "signals_over_without": round(signals / without, 3),
            "stages": rows, "load_peak_rss_gb": peaks.get("load"),
            "stage_seconds": stages, "signal_seconds": families}


#: How each signal family's work grows with the rows N, for the 400,000-row statement (:func:`at_scale`).
GROWTH = {"knn": "quadratic: exact cosine neighbours, every row against every row, in two spaces (the [CLS] "
                 "states and the sentence embeddings)",
          "negation": "linear: the word rules, and the spaCy parse of the rows with a cue word and a negator",
          "oof_embed": "linear: 5 logistic regressions on the embeddings", "aum": "linear: a linear head trained "
          "on the embeddings", "lexicon": "linear: word lists", "encoder": "linear: one sentence-encoder pass"}
SCALE_ROWS = 400_000


def at_scale(report: dict, rows: int = SCALE_ROWS) -> dict:
    """Each signal family's seconds at ``rows``, extrapolated from this run by its growth (:data:`GROWTH`; not
    measured: the signals run in the driver process, not on the Ray workers, which run the model pass only)."""
    factor = rows / float(report["rows"])
    out = {}
    for fam, seconds in report["signal_seconds"].items():
        growth = GROWTH.get(fam, "linear")
        out[fam] = {"growth": growth, "seconds_at_scale": round(float(seconds) * factor
                                                                 ** (2 if growth.startswith("quadratic") else 1))}
    return {"rows": rows, "extrapolated_from_rows": report["rows"], "families": out,
            "note": "extrapolated, not measured; the quadratic figure overstates knn's encoder pass (linear) and "
                    "understates nothing"}


def run_child(model: Path, data: Path, root: Path, keep: Path | None = None) -> tuple[dict, float]:
    """:func:`child` in a fresh process running ``root``'s code, on an empty cache; its report and wall seconds
    (with ``keep``, the analysis folder is copied there)."""
    with tempfile.TemporaryDirectory(prefix="train-analysis-") as tmp:
        out = Path(tmp) / "child.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--model", str(model), "--data", str(data),
               "--cache", str(Path(tmp) / "cache"), "--out", str(out)]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=root, env={**app_env(), "BENCH_ROOT": str(root)}, capture_output=True,
                              text=True)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            raise SystemExit(f"the analysis failed ({done.returncode}):\n{done.stderr[-3000:]}")
        if keep is not None:
            import shutil

            (folder,) = [m.parent for m in (Path(tmp) / "cache" / "analysis").glob("*/meta.json")]
            shutil.copytree(folder, keep, dirs_exist_ok=True)
        return json.loads(out.read_text()), wall


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=MINILM)
    p.add_argument("--data", type=Path, default=EMOTION)
    p.add_argument("--root", type=Path, default=ROOT, help="the checkout whose code runs (default: this one)")
    p.add_argument("--from-analysis", type=Path, help="an analysis folder already built (its meta.json)")
    p.add_argument("--keep", type=Path, help="copy the analysis folder built here (table.parquet, meta.json) there")
    p.add_argument("--out", type=Path, default=OUT, help=f"JSON file (default {OUT.relative_to(ROOT)})")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        args.out.write_text(json.dumps(child(args.model.resolve(), args.data.resolve(), args.cache), default=str))
        return 0
    load = os.getloadavg()
    if args.from_analysis:
        meta_file = args.from_analysis / "meta.json"
        if not meta_file.is_file():
            p.error(f"{args.from_analysis}: no meta.json (not an analysis folder)")
        got, wall = {"meta": json.loads(meta_file.read_text())}, None
    else:
        got, wall = run_child(args.model.resolve(), args.data.resolve(), args.root.resolve(), args.keep)
    try:
        report = summary(got["meta"], got.get("peak_rss_gb"))
    except ValueError as err:
        p.error(str(err))
    report = {"bench": "train_analysis", "code": str(args.root),
              "process_wall_s": None if wall is None else round(wall, 1),
              "process_peak_rss_gb": got.get("process_peak_rss_gb"), "cores": os.cpu_count(),
              "load_avg_1m": {"start": round(load[0], 2), "end": round(os.getloadavg()[0], 2)}, **report}
    report["at_400k"] = at_scale(report)
    print(json.dumps(report, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
