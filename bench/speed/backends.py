"""Every inference backend side by side (core/classifier/backends.py): speed, memory, faithfulness, explanations.

Each backend runs in its own fresh Python process (so its peak memory and export time are its own),
one after the other, and measures

* on emotion-minilm (real weights): the probe check against PyTorch fp32, the export/quantisation
  time (an empty export cache per run), the 2,000 validation rows (accuracy, weighted F1, and the
  predicted label and probabilities compared with the ``torch`` backend's), and explanations of the
  explain bench's texts: Spearman of the predicted class's token values and same top token against
  shap's large-budget answer (computed once, on PyTorch fp32, as ``bench/speed/explain.py`` does);
* on the random-weight DistilBERT of the real shape (speed): export time, classify p50 at batch 1
  and batch 8 over the same texts, the analysis of the 2,000 validation rows
  (:func:`core.analysis.precompute.analyse_split`, empty cache: inference, UMAP, table), and the explanation
  p50 over the explain bench's texts (explainer cache cleared before each);
* the peak resident memory of the process (VmHWM).

With ``--reference`` the reference explanation approach (``shap.Explainer(pipeline)``, as in
``bench/speed/explain.py``) is timed on the same texts at DistilBERT size in the same run, and each
backend's explain p50 is given as a ratio of it.  With ``--interleaved --reference`` the reference
runs on each text right after the backends, in the same process, so drift in the machine's load
between phases cannot move the ratio.  Backends are measured as built, even when their
probe check fails (``check_ok`` says so; the app would fall back to ``torch``).  Shared machine:
compare ratios within one run.  The interleaved mode is in ``bench/speed/backends_interleaved.py``, and what
both modes share (building and checking a backend) in ``bench/speed/backends_common.py``.

    python bench/speed/backends.py --out bench/speed/results/backends.json   # full run (long)
    python bench/speed/backends.py --quick                             # smoke run: minilm, 32 rows, 1 text
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    EMOTION,
    MINILM,
    build_random_distilbert,
    peak_rss_mb,
    write_data_subset,
)
from bench.speed.backends_common import (  # noqa: E402
    CALIBRATION_TEXTS,
    load_checked,
    p50,
    quiet,
    reference_explainer,
    token_explainer,
)
from bench.speed.backends_interleaved import interleaved  # noqa: E402
from bench.speed.explain import EXAMPLES, bench_texts, large_budget_reference, spearman  # noqa: E402

ALL = ("torch", "torch-bf16", "onnx", "onnx-int8", "onnx-int8-static")
QUICK = ("torch", "onnx")


def worker(backend: str, work: Path, texts: list[str], rows: int, quick: bool, out: Path) -> None:
    """One backend in this process; writes its JSON to ``out``."""
    quiet()
    from core.data.splits import load_splits

    cache = work / "export-cache"
    data_dir = write_data_subset(work / f"data-{rows}", rows)
    data = load_splits(data_dir, splits=("validation",))
    result: dict[str, Any] = {"backend": backend}
    result["minilm"] = _minilm_figures(backend, work, texts, data, cache)
    if not quick:
        result["distilbert"] = _distilbert_figures(backend, work, texts, data, cache)
    result["peak_rss_mb"] = round(peak_rss_mb(os.getpid()) or float("nan"), 1)
    out.write_text(json.dumps(result))


def _minilm_figures(backend: str, work: Path, texts: list[str], data: Any, cache: Path) -> dict[str, Any]:
    """emotion-minilm on ``backend``: faithfulness on the validation rows and explanation agreement.

    Saves the validation probabilities to ``work`` for :func:`compare`.
    """
    from sklearn.metrics import f1_score

    from core.analysis.precompute import remap_label_ids

    clf, m = load_checked(MINILM, backend, cache, data.label_names)
    vtexts = data["validation"].texts
    truth = remap_label_ids(data, "validation", clf.labels)
    t0 = time.perf_counter()
    pred = clf.predict(vtexts, batch_size=64, with_hidden=True)
    m["validation_predict_s"] = round(time.perf_counter() - t0, 2)
    labels_hat = pred.probs.argmax(1)
    m["accuracy"] = round(float(np.mean(labels_hat == truth)), 4)
    m["weighted_f1"] = round(float(f1_score(truth, labels_hat, average="weighted")), 4)
    np.save(work / f"{backend}-minilm-probs.npy", pred.probs)
    m.update(_agreement_with_shap(clf, texts, work / "shap-reference.json"))
    print(f"[{backend}] minilm {json.dumps(m)}", file=sys.stderr, flush=True)
    return m


def _agreement_with_shap(clf: Any, texts: list[str], reference_file: Path) -> dict[str, float]:
    """Explain p50 of ``clf``'s explanations, and their agreement with shap's large-budget answer (predicted class)."""
    reference = json.loads(reference_file.read_text())
    explainer = token_explainer(clf)
    explainer.explain(texts[0])  # warm-up
    rhos, same_top, secs = [], [], []
    for text in texts:
        att = explainer.explain(text)
        exact = np.asarray(reference[text])
        k = int(np.argmax(att.probs))
        mine, theirs = att.values[:, k], exact[: len(att.tokens), k]
        rhos.append(spearman(mine, theirs))
        same_top.append(bool(np.argmax(mine) == np.argmax(theirs)))
        secs.append(att.seconds)
    return {"explain_p50_s": p50(secs), "spearman_mean": round(float(np.mean(rhos)), 4),
            "spearman_min": round(float(np.min(rhos)), 4), "top_token_agreement": round(float(np.mean(same_top)), 4)}


def _distilbert_figures(backend: str, work: Path, texts: list[str], data: Any, cache: Path) -> dict[str, Any]:
    """The random-weight DistilBERT of the real shape on ``backend``: classify, analysis and explain timings."""
    from core.analysis.precompute import analyse_split

    clf, d = load_checked(build_random_distilbert(work / "distilbert-random"), backend, cache)
    d.update(_classify_p50s(clf, texts))
    t0 = time.perf_counter()
    outcome = analyse_split(clf, data, "validation", cache_dir=work / f"analysis-{backend}", show_progress=False)
    d["analysis_s"] = round(time.perf_counter() - t0, 2)
    d["analysis_rows"] = len(outcome.analysis.table)
    d.update(_explain_timings(clf, texts))
    print(f"[{backend}] distilbert {json.dumps({k: v for k, v in d.items() if k != 'explain_s'})}",
          file=sys.stderr, flush=True)
    return d


def _classify_p50s(clf: Any, texts: list[str]) -> dict[str, float]:
    """Classify p50 at batch 1 (each text) and batch 8 (three passes over the texts), after a warm-up."""
    clf.predict(texts[:8], batch_size=8)  # warm-up
    one = []
    for text in texts:
        t0 = time.perf_counter()
        clf.predict([text], batch_size=1)
        one.append(time.perf_counter() - t0)
    eight = []
    for _ in range(3):
        for i in range(0, len(texts) - 7, 8):
            t0 = time.perf_counter()
            clf.predict(texts[i: i + 8], batch_size=8)
            eight.append(time.perf_counter() - t0)
    return {"classify_b1_p50_s": p50(one), "classify_b8_p50_s": p50(eight)}


def _explain_timings(clf: Any, texts: list[str]) -> dict[str, Any]:
    """Explain p50 over ``texts`` (uncached, after a warm-up), each text's seconds and evaluations."""
    explainer = token_explainer(clf)
    explainer.explain(texts[0])  # warm-up
    secs, evals = [], []
    for text in texts:
        att = explainer.explain(text)
        secs.append(att.seconds)
        evals.append(att.n_evals)
    return {"explain_p50_s": p50(secs), "explain_s": [round(s, 3) for s in secs], "n_evals": evals}


def shap_reference(work: Path, texts: list[str], cap: int) -> None:
    """shap's large-budget answer for every text on PyTorch fp32 emotion-minilm (the agreement yardstick)."""
    quiet()
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(MINILM)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(MINILM).eval()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    values = {t: large_budget_reference(model, tok, labels, t, cap).tolist() for t in texts}
    (work / "shap-reference.json").write_text(json.dumps(values))


def reference_timing(work: Path, texts: list[str], out: Path) -> None:
    """The reference explanation approach (shap.Explainer(pipeline), defaults) at DistilBERT size."""
    quiet()
    explainer = reference_explainer(build_random_distilbert(work / "distilbert-random"))
    secs = []
    for text in texts:
        t0 = time.perf_counter()
        explainer([text], silent=True)
        secs.append(time.perf_counter() - t0)
        print(f"[reference] {secs[-1]:.2f} s", file=sys.stderr, flush=True)
    out.write_text(json.dumps({"p50_s": p50(secs), "seconds": [round(s, 3) for s in secs]}))


def _child(args: list[str], log: Path) -> None:
    """This script with ``args`` in a fresh Python process, its output to ``log``; raises if it fails."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    with log.open("w") as f:
        done = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{args[:2]} failed ({done.returncode}):\n{log.read_text()[-3000:]}")


def compare(work: Path, results: dict[str, Any]) -> None:
    """Agreement of each backend's validation predictions with the torch backend's."""
    base_file = work / "torch-minilm-probs.npy"
    if not base_file.is_file():
        return
    base = np.load(base_file)
    for name, res in results.items():
        f = work / f"{name}-minilm-probs.npy"
        if "minilm" in res and f.is_file():
            probs = np.load(f)
            res["minilm"]["same_label_as_torch"] = round(float(np.mean(probs.argmax(1) == base.argmax(1))), 4)
            res["minilm"]["max_prob_diff_vs_torch"] = float(f"{np.abs(probs - base).max():.3g}")


def _parser() -> argparse.ArgumentParser:
    """The command line (``--worker`` and ``--result`` are the driver's, for its child processes)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backends", default=",".join(ALL), help="comma-separated backend names")
    p.add_argument("--texts", type=int, default=20, help="validation texts added to the 4 examples")
    p.add_argument("--rows", type=int, default=2000, help="validation rows (faithfulness, analysis)")
    p.add_argument("--ref-max-evals", type=int, default=3000, help="cap on shap's large-budget reference")
    p.add_argument("--reference", action="store_true",
                   help="also time the reference explainer at DistilBERT size "
                        "(with --interleaved: text by text, right after the backends)")
    p.add_argument("--quick", action="store_true", help="smoke run: minilm only, 32 rows, 1 text, torch and onnx "
                        "(with --interleaved: a small random DistilBERT)")
    p.add_argument("--work-dir", type=Path, default=None, help="keep models, caches and logs here")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here (after every backend)")
    p.add_argument("--interleaved", action="store_true",
                   help="all backends in one process, timed text by text in turn (busy machines); see interleaved()")
    p.add_argument("--analysis", action="store_true", help="with --interleaved: also the 2,000-row analysis")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return p


def _plan(args: argparse.Namespace) -> tuple[list[str], int, int, Sequence[str]]:
    """The texts, validation rows, reference cap and backend names of this run (``--quick``: a smoke run's)."""
    if args.quick:
        texts, rows, cap = EXAMPLES[:1], 32, 200
        names = [b for b in args.backends.split(",") if b in QUICK] if args.backends != ",".join(ALL) else QUICK
    else:
        texts, rows, cap = bench_texts(EMOTION / "validation.txt", args.texts), args.rows, args.ref_max_evals
        names = args.backends.split(",")
    return texts, rows, cap, names


def _run_worker(args: argparse.Namespace, work: Path, texts: list[str], rows: int, cap: int) -> None:
    """The child process's part: the shap reference, the reference timing, or one backend (``--worker``)."""
    if args.worker == "shap-reference":
        shap_reference(work, texts, cap)
    elif args.worker == "reference-timing":
        reference_timing(work, texts, args.result)
    else:
        worker(args.worker, work, texts, rows, args.quick, args.result)


def _drive(args: argparse.Namespace, work: Path, texts: list[str], rows: int, cap: int,
           names: Sequence[str]) -> dict[str, Any]:
    """The driver: the shap reference, then each backend in a child process of its own, then the reference timing."""
    common = ["--work-dir", str(work), "--texts", str(args.texts), "--rows", str(args.rows),
              "--ref-max-evals", str(args.ref_max_evals), *(["--quick"] if args.quick else [])]
    report: dict[str, Any] = {"bench": "backends", "quick": args.quick, "texts": len(texts), "rows": rows,
                              "calibration_texts": CALIBRATION_TEXTS, "backends": {}}
    t0 = time.perf_counter()
    print("[shap reference] ...", file=sys.stderr, flush=True)
    if args.quick:  # the yardstick, not a figure: a smoke run computes it here, without a third interpreter
        shap_reference(work, texts, cap)
    else:
        _child(["--worker", "shap-reference", *common], work / "shap-reference.log")
    report["shap_reference_s"] = round(time.perf_counter() - t0, 1)
    for name in names:
        print(f"[{name}] ...", file=sys.stderr, flush=True)
        out = work / f"{name}.json"
        try:
            _child(["--worker", name, "--result", str(out), *common], work / f"{name}.log")
            report["backends"][name] = json.loads(out.read_text())
        except RuntimeError as exc:
            report["backends"][name] = {"error": str(exc)[-1500:]}
        compare(work, report["backends"])
        if args.out:
            args.out.write_text(json.dumps(report, indent=1))
    if args.reference and not args.quick:
        _add_reference_timing(report, work, common)
        if args.out:
            args.out.write_text(json.dumps(report, indent=1))
    return report


def _add_reference_timing(report: dict[str, Any], work: Path, common: list[str]) -> None:
    """The reference explainer timed in a child process; each backend's DistilBERT explain speed-up over it."""
    print("[reference timing] ...", file=sys.stderr, flush=True)
    out = work / "reference-timing.json"
    _child(["--worker", "reference-timing", "--result", str(out), *common], work / "reference-timing.log")
    ref = report["reference_explain_distilbert"] = json.loads(out.read_text())
    for res in report["backends"].values():
        d = res.get("distilbert")
        if d and d.get("explain_p50_s"):
            d["explain_speedup_vs_reference"] = round(ref["p50_s"] / d["explain_p50_s"], 2)


def main(argv: list[str] | None = None) -> int:
    """Run the bench as the command line asks; prints the report as JSON."""
    args = _parser().parse_args(argv)
    texts, rows, cap, names = _plan(args)
    with tempfile.TemporaryDirectory(prefix="bench-backends-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.interleaved:
            print(json.dumps(interleaved(names, texts, rows, work, args.out, args.analysis, args.reference,
                                         args.quick), indent=1))
            return 0
        if args.worker:
            _run_worker(args, work, texts, rows, cap)
            return 0
        report = _drive(args, work, texts, rows, cap, names)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
