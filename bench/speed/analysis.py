"""Validation analysis: the project path against the reference approach, side by side, plus cache reuse.

Reference approach (written here): pad every text to the split's longest (``padding="max_length"``),
batch 16, one forward pass for logits -> per-sample loss and a second with ``output_hidden_states``
for the [CLS] states, then ``umap.UMAP(n_components=2, metric="cosine", random_state=42)`` with
umap's defaults.  Project path: :func:`core.analysis.precompute.analyse_split` with a fresh cache folder
(length-grouped batches of up to 256 rows and 32,768 tokens, dynamic padding, the default backend,
one pass, precomputed cosine distances, 100 layout epochs, plus the cleanlab mislabel columns and the
parquet cache write).

Fairness: each side runs in its own fresh Python process, one after the other.  Each first runs
its own pipeline once on 32 rows (``--warmup-rows``; the warm-up: numba JIT compilation of UMAP,
torch's first-call costs), then times the full split; model loading is outside every timing.
The speed-up compares the timed runs; ``speedup_cold`` adds each side's warm-up.  Cache reuse is timed twice: a second
``analyse_split`` call in the project process, and a fresh ``python -m core.analysis.precompute`` process
(its own ``reused ... in X s`` figure, and the process's wall time including imports).

    python bench/speed/analysis.py --model both            # full: 2,000 rows per model (minutes)
    python bench/speed/analysis.py --quick --model minilm  # smoke run on 64 rows, both sides in this process
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import dump, expand_models, precompute, resolve_model, write_data_subset  # noqa: E402

WARMUP_ROWS = 32
REF_BATCH = 16
SPLIT = "validation"


# ---- reference ---------------------------------------------------------------------------------

def reference_analysis(model, tokenizer, texts: list[str], label_ids: np.ndarray) -> dict:
    """The reference approach; returns stage seconds, losses, predictions and the 2-D map."""
    import torch
    import umap

    t0 = time.perf_counter()
    limit = int(getattr(model.config, "max_position_embeddings", 512))
    longest = min(limit, max(len(x) for x in tokenizer(texts)["input_ids"]))
    enc = tokenizer(texts, padding="max_length", max_length=longest, truncation=True, return_tensors="pt")
    labels = torch.as_tensor(label_ids, dtype=torch.long)
    losses, logits_all, hidden = [], [], []
    with torch.no_grad():
        for start in range(0, len(texts), REF_BATCH):
            sl = slice(start, start + REF_BATCH)
            logits = model(input_ids=enc["input_ids"][sl], attention_mask=enc["attention_mask"][sl]).logits
            losses.append(torch.nn.functional.cross_entropy(logits, labels[sl], reduction="none"))
            logits_all.append(logits)
        t1 = time.perf_counter()
        for start in range(0, len(texts), REF_BATCH):
            sl = slice(start, start + REF_BATCH)
            out = model(input_ids=enc["input_ids"][sl], attention_mask=enc["attention_mask"][sl],
                        output_hidden_states=True)
            hidden.append(out.hidden_states[-1][:, 0])
    t2 = time.perf_counter()
    hidden_np = torch.cat(hidden).float().numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coords = umap.UMAP(n_components=2, metric="cosine", random_state=42).fit_transform(hidden_np)
    t3 = time.perf_counter()
    return {
        "seconds": {"pass1_loss": t1 - t0, "pass2_hidden": t2 - t1, "inference": t2 - t0, "umap": t3 - t2,
                    "total": t3 - t0},
        "padded_to": longest,
        "loss": torch.cat(losses).numpy(),
        "pred": torch.cat(logits_all).argmax(dim=1).numpy(),
        "coords": coords,
    }


def worker_reference(model_dir: Path, data_dir: Path, out: Path, warmup_rows: int) -> None:
    """Fresh-process reference timing; writes JSON and the losses/predictions next to ``out``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from core.analysis.precompute import remap_label_ids
    from core.data.splits import load_splits

    data = load_splits(data_dir, splits=(SPLIT,))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    texts = data[SPLIT].texts
    label_ids = remap_label_ids(data, SPLIT, labels)
    t0 = time.perf_counter()
    if warmup_rows:
        reference_analysis(model, tokenizer, texts[:warmup_rows], label_ids[:warmup_rows])
    warmup = time.perf_counter() - t0
    res = reference_analysis(model, tokenizer, texts, label_ids)
    np.save(out.with_suffix(".loss.npy"), res["loss"])
    np.save(out.with_suffix(".pred.npy"), res["pred"])
    out.write_text(json.dumps({
        "warmup_s": warmup, "seconds": res["seconds"], "padded_to": res["padded_to"], "rows": len(texts),
        "accuracy": float(np.mean(res["pred"] == label_ids)),
    }))


# ---- project -----------------------------------------------------------------------------------

class StageClock:
    """Stands in for the tqdm progress of ``analyse_split`` and records when each stage ended."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if stage == "umap":
            self.marks["umap_start" if done == 0 else "umap_end"] = now
        elif done >= total:
            self.marks["inference_end"] = now


def worker_project(model_dir: Path, data_dir: Path, cache_dir: Path, out: Path, warmup_rows: int,
                   backend: str = "torch") -> None:
    """Fresh-process project timing (analyse_split with an empty cache, then a cached reuse) on ``backend``."""
    import core.analysis.precompute as pre
    from core.analysis.table import compute_analysis
    from core.classifier.model import load_classifier
    from core.data.splits import load_splits

    data = load_splits(data_dir, splits=(SPLIT,))
    clf = load_classifier(model_dir, data_labels=data.label_names, backend=backend,
                          cache_dir=cache_dir.parent / "backend-cache")  # export cost outside the timing
    label_ids = pre.remap_label_ids(data, SPLIT, clf.labels)
    t0 = time.perf_counter()
    if warmup_rows:
        compute_analysis(clf, data[SPLIT].texts[:warmup_rows], label_ids[:warmup_rows])
    warmup = time.perf_counter() - t0
    clock = StageClock()
    bars, pre._tqdm_progress = pre._tqdm_progress, lambda: clock  # record stage ends instead of drawing bars
    try:
        t_start = time.perf_counter()
        first = pre.analyse_split(clf, data, SPLIT, cache_dir=cache_dir, show_progress=True)
        total = time.perf_counter() - t_start
    finally:
        pre._tqdm_progress = bars  # as it was (a --quick run calls this in its caller's process)
    if first.reused:
        raise RuntimeError(f"{cache_dir} was not empty: the project path reused a cached analysis")
    m = clock.marks
    t_reuse = time.perf_counter()
    again = pre.analyse_split(clf, data, SPLIT, cache_dir=cache_dir, show_progress=False)
    reuse = time.perf_counter() - t_reuse
    if not again.reused:
        raise RuntimeError(f"the second analyse_split did not reuse the cache: {again.warnings}")
    table = first.analysis.table
    np.save(out.with_suffix(".loss.npy"), table["loss"].to_numpy())
    np.save(out.with_suffix(".pred.npy"), np.array([clf.labels.index(p) for p in table["pred"]]))
    inference = m["umap_start"] - t_start
    umap_s = m["umap_end"] - m["umap_start"]
    out.write_text(json.dumps({
        "warmup_s": warmup,
        "seconds": {"inference": inference, "umap": umap_s, "table_mislabels_cache_write": total - inference - umap_s,
                    "total": total},
        "rows": len(table), "accuracy": float(first.analysis.meta["accuracy"]), "reuse_in_process_s": reuse,
        "backend": clf.backend.name, "backend_note": clf.backend_note,
    }))


# ---- driver ------------------------------------------------------------------------------------

def run_worker(kind: str, args: list[str], out: Path, log: Path, *, in_process: bool = False) -> dict:
    """Run one side in a fresh Python process (``in_process``: in this one) and read back its JSON."""
    if in_process:
        main(["--worker", kind, "--out", str(out), *args])
        return json.loads(out.read_text())
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--out", str(out), *args]
    with log.open("w") as f:
        done = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} worker failed ({done.returncode}):\n{log.read_text()[-3000:]}")
    return json.loads(out.read_text())


def _r(x: float, digits: int = 2) -> float:
    return round(float(x), digits)


def bench_model(name: str, rows: int, work: Path, warmup_rows: int, backend: str = "torch",
                quick: bool = False) -> dict:
    """Reference and project side by side for one model, then the fresh-process cache reuse.

    ``quick``: both sides run in this process (a smoke run checks the figures, not how fair they are)."""
    model_dir = resolve_model(name, work)
    data_dir = write_data_subset(work / f"data-{rows}", rows)
    tag = f"{name}-{rows}"
    cache_dir = work / f"cache-{tag}"
    common = ["--model-dir", str(model_dir), "--data", str(data_dir), "--warmup-rows", str(warmup_rows)]
    print(f"[{name}] reference ({rows} rows)...", file=sys.stderr, flush=True)
    ref = run_worker("reference", common, work / f"{tag}-ref.json", work / f"{tag}-ref.log", in_process=quick)
    print(f"[{name}] project ({rows} rows)...", file=sys.stderr, flush=True)
    proj = run_worker("project", [*common, "--cache-dir", str(cache_dir), "--backend", backend],
                      work / f"{tag}-proj.json", work / f"{tag}-proj.log", in_process=quick)
    print(f"[{name}] fresh-process cache reuse...", file=sys.stderr, flush=True)
    wall, line = precompute(model_dir, data_dir, cache_dir, backend)
    match = re.search(r"reused .* in ([0-9.]+) s", line)
    if match is None:
        raise RuntimeError(f"core.analysis.precompute did not reuse the cache: {line!r}")
    ref_loss, proj_loss = np.load(work / f"{tag}-ref.loss.npy"), np.load(work / f"{tag}-proj.loss.npy")
    ref_pred, proj_pred = np.load(work / f"{tag}-ref.pred.npy"), np.load(work / f"{tag}-proj.pred.npy")
    rs, ps = ref["seconds"], proj["seconds"]
    return {
        "model": str(model_dir), "rows": rows, "warmup_rows": warmup_rows,
        "reference_s": {k: _r(v) for k, v in rs.items()} | {"warmup": _r(ref["warmup_s"])},
        "reference_padded_to_tokens": ref["padded_to"],
        "project_s": {k: _r(v) for k, v in ps.items()} | {"warmup": _r(proj["warmup_s"])},
        "backend": proj["backend"], "backend_note": proj["backend_note"],
        "speedup": _r(rs["total"] / ps["total"]),
        "speedup_inference": _r(rs["inference"] / ps["inference"]),
        "speedup_umap": _r(rs["umap"] / ps["umap"]),
        "speedup_cold": _r((rs["total"] + ref["warmup_s"]) / (ps["total"] + proj["warmup_s"])),
        "cache_reuse_s": {"in_process": _r(proj["reuse_in_process_s"], 3),
                          "fresh_process_reported": float(match.group(1)),
                          "fresh_process_wall_incl_imports": _r(wall)},
        "agreement": {"accuracy_reference": _r(ref["accuracy"], 4), "accuracy_project": _r(proj["accuracy"], 4),
                      "same_prediction": _r(np.mean(ref_pred == proj_pred), 4),
                      "max_abs_loss_diff": float(f"{np.max(np.abs(ref_loss - proj_loss)):.3g}")},
    }


METHOD = ("Each side runs in its own fresh Python process, reference first then project, on the same rows and "
          "model. Each process loads the model (untimed), runs its own pipeline once on warmup_rows rows as a "
          "warm-up (numba JIT for UMAP, torch first-call costs; reported as warmup; none with --quick), then times "
          "the full split. "
          "speedup = reference total / project total; speedup_cold adds each side's warm-up. The project total is "
          "analyse_split with an empty cache (fingerprints, inference, UMAP, mislabel columns, parquet write). "
          "Cache reuse: a second analyse_split in the project process, and a fresh "
          "`python -m core.analysis.precompute` "
          "process (its reported seconds, and its wall time including Python/torch imports and model load). "
          "Shared 2-core machine: timings are noisy, compare ratios within one run. --quick (a smoke run) runs "
          "both sides in the calling process instead, warm: its figures are not comparisons.")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one JSON object."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="both", help="minilm, distilbert (random weights, real shape) or both")
    p.add_argument("--rows", type=int, default=2000, help="validation rows to analyse (default: all 2,000)")
    p.add_argument("--quick", action="store_true", help="smoke run on 64 rows, both sides in this process")
    p.add_argument("--warmup-rows", type=int, default=WARMUP_ROWS,
                   help="rows each side runs once before timing (JIT, first calls); 0 with --quick")
    p.add_argument("--work-dir", type=Path, default=None, help="keep models, caches and logs here (default: temp)")
    p.add_argument("--backend", default="auto", help="the project side's inference backend (default: the app's)")
    p.add_argument("--worker", choices=("reference", "project"), help=argparse.SUPPRESS)
    p.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--cache-dir", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker == "reference":
        worker_reference(args.model_dir, args.data, args.out, args.warmup_rows)
        return 0
    if args.worker == "project":
        worker_project(args.model_dir, args.data, args.cache_dir, args.out, args.warmup_rows, args.backend)
        return 0
    rows = 64 if args.quick else args.rows
    warmup_rows = 0 if args.quick else min(args.warmup_rows, rows)
    if rows < 4:
        p.error("--rows must be at least 4")
    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        report = {"bench": "analysis", "method": METHOD, "quick": args.quick, "models": {}}
        for name in expand_models(args.model):
            report["models"][name] = bench_model(name, rows, work, warmup_rows, args.backend, args.quick)
    dump(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
