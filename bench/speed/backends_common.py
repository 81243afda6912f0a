"""What both modes of ``bench/speed/backends.py`` share: building and checking a backend, quiet torch, p50.

The per-process mode (:func:`bench.speed.backends.worker`) and the interleaved one
(:func:`bench.speed.backends_interleaved.interleaved`) load every backend the same way, so their figures compare.
"""

from __future__ import annotations

import statistics
import time
import warnings
from pathlib import Path
from typing import Any

from bench.common import EMOTION

CALIBRATION_TEXTS = 300


def quiet() -> None:
    """No warnings, no transformers log below errors, and 2 torch threads (the shared 2-core machine)."""
    import torch
    import transformers

    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(2)


def p50(xs: list[float]) -> float:
    """The median of ``xs`` to 4 decimals; NaN when there are none."""
    return round(statistics.median(xs), 4) if xs else float("nan")


def calibration_texts(n: int) -> list[str]:
    """The first ``n`` texts of the training split (static int8 calibration; never the validation rows)."""
    lines = (EMOTION / "train.txt").read_text(encoding="utf-8").splitlines()
    return [line.rsplit(";", 1)[0].strip() for line in lines if line.strip()][:n]


def load_checked(model_dir: Path, backend: str, cache_dir: Path,
                 labels: list[str] | None = None) -> tuple[Any, dict[str, Any]]:
    """Load on torch, then build ``backend`` (timed) and check it against PyTorch fp32.

    Returns the classifier served on that backend and its build and probe-check figures.
    """
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


def token_explainer(clf: Any) -> Any:
    """The project explainer on ``clf``'s backend, with no cache (every call a real explanation)."""
    from core.explanation.explain import TokenShapExplainer

    return TokenShapExplainer(clf.model, clf.tokenizer, clf.labels, cache_size=0, backend=clf.backend)


def reference_explainer(model_dir: Path) -> Any:
    """The reference explanation approach: ``shap.Explainer`` over a fp32 text-classification pipeline, defaults."""
    import shap
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    return shap.Explainer(transformers.pipeline("text-classification", model=model, tokenizer=tok, top_k=None))
