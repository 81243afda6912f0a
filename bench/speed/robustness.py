"""Benchmark the split robustness report (:func:`core.analysis.robustness.build_report`): before and after, one run.

Loads the model once as the app does (``core.classifier.model.load_classifier`` on the app's default
backend, ``Settings().backend``), classifies the split once (the analysis' probabilities, untimed), then
times, on the same rows and model, in this order:

* ``reference``: :mod:`core.analysis.robustness` as it is at git ``--ref`` (default ``main``), read with
  ``git show`` and imported as a module of its own, called as the app called it there
  (``classifier.predict(texts, batch_size=256)`` per chunk);
* ``project``: this checkout's module, called as the app calls it now (``core.services.analyses``).

Both reports must agree: the same (edit, row) pairs, and probabilities after the edit within
``--tolerance`` (batches differ, so bf16 sums may differ in the last digits). Prints one JSON object;
``--out`` also writes it. The host may be shared: compare the two timings of one run, not across runs.

Usage::

    python bench/speed/robustness.py --split validation --out bench/speed/results/robustness_validation.json
    python bench/speed/robustness.py --split train --rows 16000 --skip-reference   # the project side only
    python bench/speed/robustness.py --quick                                        # smoke: 60 rows
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

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import EMOTION, MINILM  # noqa: E402
from core.classifier.model import load_classifier  # noqa: E402


def reference_module(ref: str):
    """:mod:`core.analysis.robustness` as committed at ``ref``, imported under another name."""
    source = subprocess.run(["git", "show", f"{ref}:core/analysis/robustness.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="robustness-ref-")) / "robustness_reference.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("robustness_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def timed(build, *args, **kw) -> tuple[object, float, list[tuple[int, int]]]:
    """(report, seconds, every ``progress(done, total)`` call) of one build."""
    seen: list[tuple[int, int]] = []
    start = time.perf_counter()
    report = build(*args, progress=lambda done, total: seen.append((done, total)), **kw)
    return report, round(time.perf_counter() - start, 2), seen


def agreement(ref, new, tolerance: float) -> dict:
    """Whether two reports hold the same rows and probabilities after each edit (within ``tolerance``)."""
    a = ref.rows.sort_values(["edit", "sample_id"]).reset_index(drop=True)
    b = new.rows.sort_values(["edit", "sample_id"]).reset_index(drop=True)
    same_rows = a[["edit", "sample_id", "edited"]].equals(b[["edit", "sample_id", "edited"]])
    diff = float(np.abs(a["p_after"].to_numpy() - b["p_after"].to_numpy()).max()) if same_rows and len(a) else None
    return {"same_rows": bool(same_rows), "max_abs_p_after_diff": diff,
            "changed_differs": int((a["changed"] != b["changed"]).sum()) if same_rows else None,
            "within_tolerance": bool(same_rows and (diff is None or diff <= tolerance))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(MINILM))
    p.add_argument("--split", default="validation")
    p.add_argument("--rows", type=int, default=None, help="first N rows of the split (default: all)")
    p.add_argument("--ref", default="main", help="git ref of the reference implementation")
    p.add_argument("--skip-reference", action="store_true", help="time the project side only")
    p.add_argument("--tolerance", type=float, default=0.02)
    p.add_argument("--quick", action="store_true", help="60 rows (a smoke test)")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    from core.analysis import robustness
    from core.classifier.model import BULK_OVERHEAD_TOKENS
    from core.settings import Settings

    lines = (EMOTION / f"{args.split}.txt").read_text().splitlines()[: 60 if args.quick else args.rows]
    texts = [line.rsplit(";", 1)[0] for line in lines]
    clf = load_classifier(args.model, backend=Settings().backend)  # the app's default backend
    probs = clf.predict(texts, overhead_tokens=BULK_OVERHEAD_TOKENS).probs
    encode = lambda t: clf.tokenize([t])[0][0]  # noqa: E731
    out: dict = {"bench": "robustness", "model": Path(args.model).name, "split": args.split, "rows": len(texts),
                 "backend_note": clf.backend_note, "cpus": os.cpu_count(), "torch_threads": _threads(),
                 "host_note": "shared host (other jobs running): compare the two timings of this run, not across runs"}
    project = (robustness.build_report,
               lambda xs: clf.predict(xs, batch_size=256, overhead_tokens=BULK_OVERHEAD_TOKENS).probs)
    ref = None
    if not args.skip_reference:
        ref_mod = reference_module(args.ref)
        ref, out["reference_s"], _ = timed(ref_mod.build_report, lambda xs: clf.predict(xs, batch_size=256).probs,
                                           texts, probs, clf.labels, encode=encode)
        out["reference"] = f"core/analysis/robustness.py at {args.ref}"
    new, out["project_s"], calls = timed(*project, texts, probs, clf.labels, encode=encode)
    out.update(edited_rows=len(new.rows), distinct_texts_classified=calls[-1][1] if calls else 0,
               progress_updates=len(calls), edits=new.edits, notes=new.notes)
    if ref is not None:
        out["speedup"] = round(out["reference_s"] / max(out["project_s"], 1e-9), 2)
        out["agreement"] = agreement(ref, new, args.tolerance)
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


def _threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    sys.exit(main())
