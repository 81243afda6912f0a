"""Benchmark :mod:`core.explanation.explain` against the reference SHAP approach, side by side.

For each model (the fine-tuned emotion-minilm, and a random-weight DistilBERT built from its
config, for DistilBERT-size speed) and the same texts, it measures

* the reference: ``shap.Explainer(transformers.pipeline("text-classification", top_k=None))``
  with shap's defaults (Partition explainer, ``[MASK]`` Text masker, 500 evaluations);
* the project explainer (:class:`core.explanation.explain.TokenShapExplainer`) with its cache cleared before
  every call, so each timing is a real explanation, on a copy of the model prepared as the app
  prepares it (:func:`core.classifier.cls_only.restrict_last_layer_to_cls`: same logits, less last-layer work)
  and run on the inference backend ``--backend`` (default: the app's default,
  ``core.settings.Settings.backend``; the export, if any, happens before the timings);
* faithfulness of the project explainer against shap's own Partition explainer with a large
  budget (``max(2000, M * M)`` evaluations for ``M`` tokens, capped by ``--ref-max-evals``, and
  by ``--distilbert-ref-max-evals`` for the slower DistilBERT-size model; the exact answer needs
  about ``M * (M - 1)``): per-text Spearman rank correlation of the token
  attributions for the predicted class, and whether the top token is the same.

The large-budget reference runs shap's PartitionExplainer over shap's Text masker in
``output_type="token_ids"`` mode with a batched model call: the same algorithm and masks as
the pipeline path, only faster.  Prints one JSON object to stdout.

Usage::

    python bench/speed/explain.py            # full run (minutes)
    python bench/speed/explain.py --quick    # smoke test: 3 texts, emotion-minilm only
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.classifier.cls_only import restrict_last_layer_to_cls  # noqa: E402
from core.explanation.explain import TokenShapExplainer  # noqa: E402

SHARED = ROOT / ".." / "shared"
EXAMPLES = [
    "I saw a movie today and it was really good",
    "I always get so anxious and nervous before I have to speak in front of a big crowd",
    "I worked really hard on this project for weeks and my boss just rudely dismissed it",
    "I absolutely love my new phone, it is the best thing I have bought all year",
]


def validation_texts(path: Path, n: int) -> list[str]:
    """``n`` texts from a ``text;label`` file, spread over its length range by quantiles."""
    rows = [line.rsplit(";", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r]
    if n <= 0 or not rows:
        return []
    order = sorted(range(len(rows)), key=lambda i: (len(rows[i].split()), i))
    picks = np.round(np.linspace(0, len(order) - 1, n)).astype(int)
    return [rows[order[p]] for p in picks]


def bench_texts(data: Path, n_validation: int) -> list[str]:
    """The 4 example tweets followed by ``n_validation`` validation texts."""
    return EXAMPLES + validation_texts(data, n_validation)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation; 1.0 for fewer than 2 tokens or two constant vectors."""
    from scipy.stats import spearmanr

    if len(a) < 2:
        return 1.0
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 1.0 if np.ptp(a) == np.ptp(b) else 0.0
    return float(spearmanr(a, b)[0])


def large_budget_reference(model: Any, tokenizer: Any, labels: list[str], text: str, cap: int) -> np.ndarray:
    """shap's PartitionExplainer with a large budget: ``(T, K)`` values without special tokens."""
    import shap

    probe = TokenShapExplainer(model, tokenizer, labels, cache_size=0, max_tokens=10**6)
    masker = shap.maskers.Text(tokenizer, output_type="token_ids")
    explainer = shap.PartitionExplainer(probe._predict, masker, output_names=labels)
    n = len(tokenizer(text)["input_ids"])
    exp = explainer([text], max_evals=min(max(2000, n * n), cap), batch_size=10_000, silent=True)
    return np.asarray(exp.values[0], dtype=np.float64)[1:-1]


def summary(seconds: list[float]) -> dict[str, float]:
    """p50, min and max of ``seconds``, to 4 decimals."""
    return {
        "p50": round(statistics.median(seconds), 4),
        "min": round(min(seconds), 4),
        "max": round(max(seconds), 4),
    }


def _pipeline_reference(model: Any, tokenizer: Any) -> Any:
    """The reference approach: ``shap.Explainer`` over a text-classification pipeline of ``model``, defaults."""
    import shap
    import transformers

    pipe = transformers.pipeline("text-classification", model=model, tokenizer=tokenizer, top_k=None)
    return shap.Explainer(pipe)


def _measure_text(text: str, reference: Any, ours: TokenShapExplainer, exact: Callable[[str], np.ndarray],
                 reference_evals: int | None) -> dict[str, Any]:
    """One text: the reference's and the project explainer's seconds, and agreement with ``exact(text)``.

    Unrounded figures, keyed as a ``per_text`` row of :func:`bench_model`.
    """
    kwargs = {} if reference_evals is None else {"max_evals": reference_evals}
    t0 = time.perf_counter()
    reference([text], silent=True, **kwargs)
    ref_s = time.perf_counter() - t0

    ours.clear_cache()
    att = ours.explain(text)

    values = exact(text)
    k = int(np.argmax(att.probs))
    mine, theirs = att.values[:, k], values[: len(att.tokens), k]
    return {
        "tokens": len(att.tokens),
        "ref_s": ref_s,
        "ours_s": att.seconds,
        "n_evals": att.n_evals,
        "spearman": spearman(mine, theirs),
        "same_top": bool(np.argmax(mine) == np.argmax(theirs)),
    }


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    """A ``per_text`` row as printed: seconds to 3 decimals, Spearman to 4."""
    return {**row, "ref_s": round(row["ref_s"], 3), "ours_s": round(row["ours_s"], 3),
            "spearman": round(row["spearman"], 4)}


def bench_model(
    name: str,
    model: Any,
    tokenizer: Any,
    texts: list[str],
    *,
    ref_max_evals: int,
    reference_evals: int | None,
    backend: str = "torch",
    export_dir: Path | None = None,
) -> dict[str, Any]:
    """Time the reference and the project explainer on ``texts`` and compare their answers."""
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    reference = _pipeline_reference(model, tokenizer)
    served = copy.deepcopy(model)  # the reference keeps the model exactly as transformers built it
    cls_only = restrict_last_layer_to_cls(served)
    from core.classifier.backends import load_backend

    engine, note = load_backend(backend, served, tokenizer, cache_dir=export_dir, fingerprint=f"bench-{name}")
    ours = TokenShapExplainer(served, tokenizer, labels, cache_size=0, backend=engine)

    def exact(text: str) -> np.ndarray:
        """shap's large-budget answer for ``text`` on the model as transformers built it."""
        return large_budget_reference(model, tokenizer, labels, text, ref_max_evals)

    rows = []
    for text in texts:
        rows.append(_measure_text(text, reference, ours, exact, reference_evals))
        print(f"[{name}] {json.dumps(_rounded(rows[-1]))}", file=sys.stderr, flush=True)
    ref_sum, our_sum = summary([r["ref_s"] for r in rows]), summary([r["ours_s"] for r in rows])
    rhos = [r["spearman"] for r in rows]
    return {
        "texts": len(texts),
        "reference_s": ref_sum,
        "explainer_s": our_sum,
        "speedup_p50": round(ref_sum["p50"] / our_sum["p50"], 2),
        "spearman_mean": round(float(np.mean(rhos)), 4),
        "spearman_min": round(float(np.min(rhos)), 4),
        "top_token_agreement": round(float(np.mean([r["same_top"] for r in rows])), 4),
        "n_evals_p50": float(np.median([r["n_evals"] for r in rows])),
        "budget": repr(ours.budget),
        "last_layer_cls_only": cls_only,
        "backend": engine.name,
        "backend_note": note,
        "per_text": [_rounded(r) for r in rows],
    }


def _parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "emotion-minilm")
    parser.add_argument(
        "--distilbert-config",
        type=Path,
        default=SHARED / "models" / "distilbert-base-uncased",
        help="folder with a DistilBERT config + tokenizer; weights are random (seed 0)",
    )
    parser.add_argument("--data", type=Path, default=SHARED / "emotion" / "validation.txt")
    parser.add_argument("--texts", type=int, default=20, help="validation texts added to the 4 examples")
    parser.add_argument("--ref-max-evals", type=int, default=6000, help="cap on the large-budget reference")
    parser.add_argument(
        "--distilbert-ref-max-evals",
        type=int,
        default=1000,
        help="cap on the large-budget reference for the DistilBERT-size model (exact up to ~30 tokens)",
    )
    parser.add_argument("--no-distilbert", action="store_true", help="skip the DistilBERT-size model")
    parser.add_argument("--quick", action="store_true", help="3 texts, emotion-minilm only, small budgets")
    parser.add_argument("--backend", default=None, help="inference backend of the project explainer "
                        "(default: the app's default backend)")
    return parser


def _random_distilbert(config_dir: Path, like: Any) -> tuple[Any, Any]:
    """A random-weight (seed 0) DistilBERT classifier from ``config_dir``, with ``like``'s labels, and its tokenizer."""
    import torch
    import transformers

    with contextlib.redirect_stdout(io.StringIO()):
        tokenizer = transformers.AutoTokenizer.from_pretrained(config_dir)
        config = transformers.DistilBertConfig.from_pretrained(config_dir, num_labels=6)
    config.id2label = dict(like.config.id2label)
    config.label2id = dict(like.config.label2id)
    torch.manual_seed(0)
    return transformers.DistilBertForSequenceClassification(config).eval(), tokenizer


def main(argv: list[str] | None = None) -> int:
    """Run the bench as the command line asks; prints one JSON object to stdout."""
    args = _parser().parse_args(argv)

    import tempfile

    import torch
    import transformers

    from core.settings import Settings

    backend = args.backend or Settings.backend
    export_dir = Path(tempfile.mkdtemp(prefix="bench-explain-export-"))
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(2)
    torch.manual_seed(0)

    if args.quick:
        texts = EXAMPLES[:2] + validation_texts(args.data, 1)
    else:
        texts = bench_texts(args.data, args.texts)

    with contextlib.redirect_stdout(io.StringIO()):
        tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
        model = transformers.AutoModelForSequenceClassification.from_pretrained(args.model).eval()
    result: dict[str, Any] = {"torch_threads": torch.get_num_threads(), "texts": texts, "models": {}}
    result["models"]["emotion-minilm"] = bench_model(
        "emotion-minilm", model, tokenizer, texts, ref_max_evals=300 if args.quick else args.ref_max_evals,
        reference_evals=50 if args.quick else None, backend=backend, export_dir=export_dir,
    )
    if not args.quick and not args.no_distilbert:
        d_model, d_tok = _random_distilbert(args.distilbert_config, model)
        result["models"]["distilbert-random"] = bench_model(
            "distilbert-random", d_model, d_tok, texts, ref_max_evals=args.distilbert_ref_max_evals,
            reference_evals=None, backend=backend, export_dir=export_dir,
        )
    import shutil

    shutil.rmtree(export_dir, ignore_errors=True)
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
