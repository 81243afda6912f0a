"""Every inference backend side by side (core/classifier/backends.py): speed, memory, faithfulness, explanations.

Each backend runs in its own fresh Python process (so its peak memory and export time are its own),
one after the other, and measures

* on emotion-minilm (real weights): the probe check against PyTorch fp32, the export/quantisation
  time (an empty export cache per run), the 2,000 validation rows (accuracy, weighted F1, and the
  predicted label and probabilities compared with the ``torch`` backend's), and explanations of the
  explain bench's texts: Spearman of the predicted class's token values and same top token against
  shap's large-budget answer (computed once, on PyTorch fp32, as ``bench/bench_explain.py`` does);
* on the random-weight DistilBERT of the real shape (speed): export time, classify p50 at batch 1
  and batch 8 over the same texts, the analysis of the 2,000 validation rows
  (:func:`core.analysis.precompute.analyse_split`, empty cache: inference, UMAP, table), and the explanation
  p50 over the explain bench's texts (explainer cache cleared before each);
* the peak resident memory of the process (VmHWM).

With ``--reference`` the reference explanation approach (``shap.Explainer(pipeline)``, as in
``bench/bench_explain.py``) is timed on the same texts at DistilBERT size in the same run, and each
backend's explain p50 is given as a ratio of it.  With ``--interleaved --reference`` the reference
runs on each text right after the backends, in the same process, so drift in the machine's load
between phases cannot move the ratio.  Backends are measured as built, even when their
probe check fails (``check_ok`` says so; the app would fall back to ``torch``).  Shared machine:
compare ratios within one run.

    python bench/bench_backends.py --out bench/results/backends.json   # full run (long)
    python bench/bench_backends.py --quick                             # smoke run: minilm, 32 rows, 1 text
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_explain import EXAMPLES, bench_texts, large_budget_reference, spearman  # noqa: E402
from bench.common import (  # noqa: E402
    EMOTION,
    MINILM,
    SMALL_DISTILBERT,
    build_random_distilbert,
    peak_rss_mb,
    write_data_subset,
)

ALL = ("torch", "torch-bf16", "onnx", "onnx-int8", "onnx-int8-static")
QUICK = ("torch", "onnx")
CALIBRATION_TEXTS = 300


def _quiet() -> None:
    import torch
    import transformers

    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(2)


def _p50(xs: list[float]) -> float:
    return round(statistics.median(xs), 4) if xs else float("nan")


def calibration_texts(n: int) -> list[str]:
    """The first ``n`` texts of the training split (static int8 calibration; never the validation rows)."""
    lines = (EMOTION / "train.txt").read_text(encoding="utf-8").splitlines()
    return [line.rsplit(";", 1)[0].strip() for line in lines if line.strip()][:n]


def _load(model_dir: Path, backend: str, cache_dir: Path, labels: list[str] | None = None):
    """Load on torch, then build ``backend`` (timed) and check it against PyTorch fp32."""
    from core.classifier.backends import build_backend, check_backend
    from core.classifier.model import Classifier, load_classifier

    clf = load_classifier(model_dir, data_labels=labels)
    t0 = time.perf_counter()
    engine = build_backend(backend, clf.model, clf.tokenizer, cache_dir=cache_dir, fingerprint=clf.fingerprint,
                           calibration_texts=calibration_texts(CALIBRATION_TEXTS))
    build_s = time.perf_counter() - t0
    check = check_backend(engine, clf.backend, clf.tokenizer)
    served = Classifier(clf.model, clf.tokenizer, clf.labels, source=clf.source, model_dir=clf.model_dir,
                        max_length=clf.max_length, backend=engine)
    info = {"build_s": round(build_s, 2), "export_s": round(engine.export_seconds, 2),
            "probe_max_prob_diff": float(f"{check.max_prob_diff:.3g}"), "probe_same_class": check.same_class,
            "tolerance": check.tolerance, "check_ok": check.ok}
    return served, info


def worker(backend: str, work: Path, texts: list[str], rows: int, quick: bool, out: Path) -> None:
    """One backend in this process; writes its JSON to ``out``."""
    _quiet()
    from sklearn.metrics import f1_score

    from core.analysis.precompute import analyse_split, remap_label_ids
    from core.data.splits import load_splits
    from core.explanation.explain import TokenShapExplainer

    cache = work / "export-cache"
    data_dir = write_data_subset(work / f"data-{rows}", rows)
    data = load_splits(data_dir, splits=("validation",))
    result: dict[str, Any] = {"backend": backend}

    # -- emotion-minilm: faithfulness and explanation agreement
    clf, info = _load(MINILM, backend, cache, data.label_names)
    result["minilm"] = info
    vtexts = data["validation"].texts
    truth = remap_label_ids(data, "validation", clf.labels)
    t0 = time.perf_counter()
    pred = clf.predict(vtexts, batch_size=64, with_hidden=True)
    result["minilm"]["validation_predict_s"] = round(time.perf_counter() - t0, 2)
    labels_hat = pred.probs.argmax(1)
    result["minilm"]["accuracy"] = round(float(np.mean(labels_hat == truth)), 4)
    result["minilm"]["weighted_f1"] = round(float(f1_score(truth, labels_hat, average="weighted")), 4)
    np.save(work / f"{backend}-minilm-probs.npy", pred.probs)
    reference = json.loads((work / "shap-reference.json").read_text())
    explainer = TokenShapExplainer(clf.model, clf.tokenizer, clf.labels, cache_size=0, backend=clf.backend)
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
    result["minilm"].update(explain_p50_s=_p50(secs), spearman_mean=round(float(np.mean(rhos)), 4),
                            spearman_min=round(float(np.min(rhos)), 4),
                            top_token_agreement=round(float(np.mean(same_top)), 4))
    print(f"[{backend}] minilm {json.dumps(result['minilm'])}", file=sys.stderr, flush=True)
    del clf, explainer

    # -- DistilBERT size, random weights: speed
    if not quick:
        clf, info = _load(build_random_distilbert(work / "distilbert-random"), backend, cache)
        d = result["distilbert"] = info
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
        d.update(classify_b1_p50_s=_p50(one), classify_b8_p50_s=_p50(eight))
        t0 = time.perf_counter()
        outcome = analyse_split(clf, data, "validation", cache_dir=work / f"analysis-{backend}", show_progress=False)
        d["analysis_s"] = round(time.perf_counter() - t0, 2)
        d["analysis_rows"] = len(outcome.analysis.table)
        explainer = TokenShapExplainer(clf.model, clf.tokenizer, clf.labels, cache_size=0, backend=clf.backend)
        explainer.explain(texts[0])  # warm-up
        secs, evals = [], []
        for text in texts:
            att = explainer.explain(text)
            secs.append(att.seconds)
            evals.append(att.n_evals)
        d.update(explain_p50_s=_p50(secs), explain_s=[round(s, 3) for s in secs], n_evals=evals)
        print(f"[{backend}] distilbert {json.dumps({k: v for k, v in d.items() if k != 'explain_s'})}",
              file=sys.stderr, flush=True)
    import os

    result["peak_rss_mb"] = round(peak_rss_mb(os.getpid()) or float("nan"), 1)
    out.write_text(json.dumps(result))


def shap_reference(work: Path, texts: list[str], cap: int) -> None:
    """shap's large-budget answer for every text on PyTorch fp32 emotion-minilm (the agreement yardstick)."""
    _quiet()
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(MINILM)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(MINILM).eval()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    values = {t: large_budget_reference(model, tok, labels, t, cap).tolist() for t in texts}
    (work / "shap-reference.json").write_text(json.dumps(values))


def _reference_explainer(model_dir: Path) -> Any:
    """The reference explanation approach: ``shap.Explainer`` over a fp32 text-classification pipeline, defaults."""
    import shap
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    return shap.Explainer(transformers.pipeline("text-classification", model=model, tokenizer=tok, top_k=None))


def reference_timing(work: Path, texts: list[str], out: Path) -> None:
    """The reference explanation approach (shap.Explainer(pipeline), defaults) at DistilBERT size."""
    _quiet()
    explainer = _reference_explainer(build_random_distilbert(work / "distilbert-random"))
    secs = []
    for text in texts:
        t0 = time.perf_counter()
        explainer([text], silent=True)
        secs.append(time.perf_counter() - t0)
        print(f"[reference] {secs[-1]:.2f} s", file=sys.stderr, flush=True)
    out.write_text(json.dumps({"p50_s": _p50(secs), "seconds": [round(s, 3) for s in secs]}))


def interleaved(names: list[str], texts: list[str], rows: int, work: Path, out: Path | None,
                analysis: bool, reference: bool = False, quick: bool = False) -> dict[str, Any]:
    """All backends in this one process, timed text by text in turn (for a busy machine: load hits all alike).

    DistilBERT size first (explain p50 over ``texts``, classify p50 at batch 1 and 8; with
    ``reference``, the reference explainer on each text right after the backends, so each ratio
    compares timings taken under the same load), then the
    emotion-minilm validation rows (accuracy, weighted F1, agreement with ``torch``) and each
    backend's explanations against the ``torch`` backend's (same algorithm, fp32), then optionally
    the 2,000-row analysis.  No per-backend memory figure and no shap large-budget reference here.
    ``quick``: the DistilBERT is of the small :data:`SMALL_DISTILBERT` shape (``distilbert_shape`` says so).
    """
    _quiet()
    from sklearn.metrics import f1_score

    from core.analysis.precompute import analyse_split, remap_label_ids
    from core.data.splits import load_splits
    from core.explanation.explain import TokenShapExplainer

    cache = work / "export-cache"
    report: dict[str, Any] = {"bench": "backends", "mode": "interleaved", "texts": len(texts), "rows": rows,
                              "distilbert_shape": SMALL_DISTILBERT if quick else "real (6 layers, 768 wide)",
                              "backends": {n: {"distilbert": {}, "minilm": {}} for n in names}}

    def save() -> None:
        if out is not None:
            out.write_text(json.dumps(report, indent=1))

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    d_dir = build_random_distilbert(work / "distilbert-small", **SMALL_DISTILBERT) if quick else \
        build_random_distilbert(work / "distilbert-random")
    clfs = {}
    for n in names:
        clfs[n], info = _load(d_dir, n, cache)
        report["backends"][n]["distilbert"].update(info)
        log(f"[{n}] distilbert loaded {info}")
    explainers = {n: TokenShapExplainer(c.model, c.tokenizer, c.labels, cache_size=0, backend=c.backend)
                  for n, c in clfs.items()}
    for e in explainers.values():
        e.explain(texts[0])  # warm-up
    ref = _reference_explainer(d_dir) if reference else None
    if ref is not None:
        ref([texts[0]], silent=True)  # warm-up
    secs: dict[str, list[float]] = {n: [] for n in names}
    ref_secs: list[float] = []
    for i, text in enumerate(texts):
        for n in names:
            secs[n].append(explainers[n].explain(text).seconds)
        if ref is not None:
            t0 = time.perf_counter()
            ref([text], silent=True)
            ref_secs.append(time.perf_counter() - t0)
        log(f"explain {i + 1}/{len(texts)}: " + ", ".join(f"{n} {secs[n][-1]:.2f}" for n in names)
            + (f", reference {ref_secs[-1]:.2f}" if ref_secs else ""))
    for n in names:
        d = report["backends"][n]["distilbert"]
        d.update(explain_p50_s=_p50(secs[n]), explain_s=[round(x, 3) for x in secs[n]])
        if ref_secs:
            d["explain_speedup_vs_reference"] = round(_p50(ref_secs) / _p50(secs[n]), 2)
            d["explain_speedup_per_text_median"] = round(
                statistics.median(r / x for r, x in zip(ref_secs, secs[n], strict=True)), 2)
    if ref_secs:
        report["reference_explain_distilbert"] = {"p50_s": _p50(ref_secs), "seconds": [round(s, 3) for s in ref_secs]}
    save()
    one: dict[str, list[float]] = {n: [] for n in names}
    eight: dict[str, list[float]] = {n: [] for n in names}
    for c in clfs.values():
        c.predict(texts[:8], batch_size=8)
    for text in texts:
        for n in names:
            t0 = time.perf_counter()
            clfs[n].predict([text], batch_size=1)
            one[n].append(time.perf_counter() - t0)
    for _ in range(2):
        for i in range(0, len(texts) - 7, 8):
            for n in names:
                t0 = time.perf_counter()
                clfs[n].predict(texts[i: i + 8], batch_size=8)
                eight[n].append(time.perf_counter() - t0)
    for n in names:
        report["backends"][n]["distilbert"].update(classify_b1_p50_s=_p50(one[n]), classify_b8_p50_s=_p50(eight[n]))
    save()
    log("classify done")

    data = load_splits(write_data_subset(work / f"data-{rows}", rows), splits=("validation",))
    mini = {}
    for n in names:
        mini[n], info = _load(MINILM, n, cache, data.label_names)
        report["backends"][n]["minilm"].update(info)
    vtexts = data["validation"].texts
    truth = remap_label_ids(data, "validation", mini[names[0]].labels)
    probs = {}
    for n in names:
        t0 = time.perf_counter()
        probs[n] = mini[n].predict(vtexts, batch_size=64, with_hidden=True).probs
        hat = probs[n].argmax(1)
        report["backends"][n]["minilm"].update(
            validation_predict_s=round(time.perf_counter() - t0, 2), accuracy=round(float(np.mean(hat == truth)), 4),
            weighted_f1=round(float(f1_score(truth, hat, average="weighted")), 4))
    if "torch" in probs:
        for n in names:
            m = report["backends"][n]["minilm"]
            m["same_label_as_torch"] = round(float(np.mean(probs[n].argmax(1) == probs["torch"].argmax(1))), 4)
            m["max_prob_diff_vs_torch"] = float(f"{np.abs(probs[n] - probs['torch']).max():.3g}")
    save()
    log("faithfulness done")
    if "torch" in mini:
        ex = {n: TokenShapExplainer(c.model, c.tokenizer, c.labels, cache_size=0, backend=c.backend)
              for n, c in mini.items()}
        rhos: dict[str, list[float]] = {n: [] for n in names}
        tops: dict[str, list[bool]] = {n: [] for n in names}
        for text in texts:
            base = ex["torch"].explain(text)
            k = int(np.argmax(base.probs))
            for n in names:
                att = ex[n].explain(text) if n != "torch" else base
                rhos[n].append(spearman(att.values[:, k], base.values[:, k]))
                tops[n].append(bool(np.argmax(att.values[:, k]) == np.argmax(base.values[:, k])))
        for n in names:
            report["backends"][n]["minilm"].update(
                explain_spearman_vs_torch_mean=round(float(np.mean(rhos[n])), 4),
                explain_spearman_vs_torch_min=round(float(np.min(rhos[n])), 4),
                explain_top_token_same_as_torch=round(float(np.mean(tops[n])), 4))
        save()
        log("explanation agreement done")
    if analysis:
        for n in names:
            t0 = time.perf_counter()
            analyse_split(clfs[n], data, "validation", cache_dir=work / f"analysis-{n}", show_progress=False)
            report["backends"][n]["distilbert"]["analysis_s"] = round(time.perf_counter() - t0, 2)
            save()
            log(f"[{n}] analysis {report['backends'][n]['distilbert']['analysis_s']} s")
    return report


def _child(args: list[str], log: Path) -> None:
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


def main(argv: list[str] | None = None) -> int:
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
    args = p.parse_args(argv)
    if args.quick:
        texts, rows, cap = EXAMPLES[:1], 32, 200
        names = [b for b in args.backends.split(",") if b in QUICK] if args.backends != ",".join(ALL) else QUICK
    else:
        texts, rows, cap = bench_texts(EMOTION / "validation.txt", args.texts), args.rows, args.ref_max_evals
        names = args.backends.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-backends-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.interleaved:
            print(json.dumps(interleaved(names, texts, rows, work, args.out, args.analysis, args.reference,
                                         args.quick), indent=1))
            return 0
        if args.worker == "shap-reference":
            shap_reference(work, texts, cap)
            return 0
        if args.worker == "reference-timing":
            reference_timing(work, texts, args.result)
            return 0
        if args.worker:
            worker(args.worker, work, texts, rows, args.quick, args.result)
            return 0
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
            print("[reference timing] ...", file=sys.stderr, flush=True)
            out = work / "reference-timing.json"
            _child(["--worker", "reference-timing", "--result", str(out), *common], work / "reference-timing.log")
            ref = report["reference_explain_distilbert"] = json.loads(out.read_text())
            for res in report["backends"].values():
                d = res.get("distilbert")
                if d and d.get("explain_p50_s"):
                    d["explain_speedup_vs_reference"] = round(ref["p50_s"] / d["explain_p50_s"], 2)
            if args.out:
                args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
