"""``bench/speed/backends.py --interleaved``: all backends in one process, timed text by text in turn.

For a busy machine: drift in its load hits every backend (and, with ``--reference``, the reference
explainer) alike, so the ratios within one run stay comparable.  See :func:`interleaved`.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import MINILM, SMALL_DISTILBERT, build_random_distilbert, write_data_subset
from bench.speed.backends_common import load_checked, p50, quiet, reference_explainer, token_explainer
from bench.speed.explain import spearman


def _log(msg: str) -> None:
    """A progress line on stderr."""
    print(msg, file=sys.stderr, flush=True)


def interleaved(names: Sequence[str], texts: list[str], rows: int, work: Path, out: Path | None,
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
    quiet()
    from core.data.splits import load_splits

    cache = work / "export-cache"
    report: dict[str, Any] = {"bench": "backends", "mode": "interleaved", "texts": len(texts), "rows": rows,
                              "distilbert_shape": SMALL_DISTILBERT if quick else "real (6 layers, 768 wide)",
                              "backends": {n: {"distilbert": {}, "minilm": {}} for n in names}}

    def save() -> None:
        """The report so far to ``out``, when given."""
        if out is not None:
            out.write_text(json.dumps(report, indent=1))

    d_dir = build_random_distilbert(work / "distilbert-small", **SMALL_DISTILBERT) if quick else \
        build_random_distilbert(work / "distilbert-random")
    clfs = _load_distilberts(d_dir, names, cache, report)
    _time_explanations(clfs, names, texts, d_dir if reference else None, report)
    save()
    _time_classify(clfs, names, texts, report)
    save()
    _log("classify done")

    data = load_splits(write_data_subset(work / f"data-{rows}", rows), splits=("validation",))
    mini = {}
    for n in names:
        mini[n], info = load_checked(MINILM, n, cache, data.label_names)
        report["backends"][n]["minilm"].update(info)
    _validation_figures(mini, names, data, report)
    save()
    _log("faithfulness done")
    if "torch" in mini:
        _explanation_agreement(mini, names, texts, report)
        save()
        _log("explanation agreement done")
    if analysis:
        _time_analysis(clfs, names, data, work, report, save)
    return report


def _load_distilberts(d_dir: Path, names: Sequence[str], cache: Path, report: dict[str, Any]) -> dict[str, Any]:
    """Every backend of the DistilBERT in ``d_dir``, its build and probe figures recorded in ``report``."""
    clfs = {}
    for n in names:
        clfs[n], info = load_checked(d_dir, n, cache)
        report["backends"][n]["distilbert"].update(info)
        _log(f"[{n}] distilbert loaded {info}")
    return clfs


def _time_explanations(clfs: dict[str, Any], names: Sequence[str], texts: list[str], reference_dir: Path | None,
                       report: dict[str, Any]) -> None:
    """Explain p50 of each backend (and, given ``reference_dir``, the reference explainer's after them, per text)."""
    explainers = {n: token_explainer(c) for n, c in clfs.items()}
    for e in explainers.values():
        e.explain(texts[0])  # warm-up
    ref = reference_explainer(reference_dir) if reference_dir is not None else None
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
        _log(f"explain {i + 1}/{len(texts)}: " + ", ".join(f"{n} {secs[n][-1]:.2f}" for n in names)
             + (f", reference {ref_secs[-1]:.2f}" if ref_secs else ""))
    _record_explain_p50s(report, names, secs, ref_secs)


def _record_explain_p50s(report: dict[str, Any], names: Sequence[str], secs: dict[str, list[float]],
                         ref_secs: list[float]) -> None:
    """Each backend's explain p50 and timings, and its speed-up over the reference when it was timed."""
    for n in names:
        d = report["backends"][n]["distilbert"]
        d.update(explain_p50_s=p50(secs[n]), explain_s=[round(x, 3) for x in secs[n]])
        if ref_secs:
            d["explain_speedup_vs_reference"] = round(p50(ref_secs) / p50(secs[n]), 2)
            d["explain_speedup_per_text_median"] = round(
                statistics.median(r / x for r, x in zip(ref_secs, secs[n], strict=True)), 2)
    if ref_secs:
        report["reference_explain_distilbert"] = {"p50_s": p50(ref_secs), "seconds": [round(s, 3) for s in ref_secs]}


def _time_classify(clfs: dict[str, Any], names: Sequence[str], texts: list[str], report: dict[str, Any]) -> None:
    """Classify p50 of each backend at batch 1 (each text) and batch 8 (two passes), backends in turn."""
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
        report["backends"][n]["distilbert"].update(classify_b1_p50_s=p50(one[n]), classify_b8_p50_s=p50(eight[n]))


def _validation_figures(mini: dict[str, Any], names: Sequence[str], data: Any, report: dict[str, Any]) -> None:
    """Accuracy and weighted F1 of each emotion-minilm backend on the validation rows, and agreement with torch."""
    from sklearn.metrics import f1_score

    from core.analysis.precompute import remap_label_ids

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


def _explanation_agreement(mini: dict[str, Any], names: Sequence[str], texts: list[str],
                           report: dict[str, Any]) -> None:
    """Each emotion-minilm backend's explanations against the ``torch`` backend's (predicted class, per text)."""
    ex = {n: token_explainer(c) for n, c in mini.items()}
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


def _time_analysis(clfs: dict[str, Any], names: Sequence[str], data: Any, work: Path, report: dict[str, Any],
                   save: Callable[[], None]) -> None:
    """The validation analysis (inference, UMAP, table; empty cache) on each DistilBERT backend, saved after each."""
    from core.analysis.precompute import analyse_split

    for n in names:
        t0 = time.perf_counter()
        analyse_split(clfs[n], data, "validation", cache_dir=work / f"analysis-{n}", show_progress=False)
        report["backends"][n]["distilbert"]["analysis_s"] = round(time.perf_counter() - t0, 2)
        save()
        _log(f"[{n}] analysis {report['backends'][n]['distilbert']['analysis_s']} s")
