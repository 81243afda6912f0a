"""Accuracy per evaluation of the sampled SHAP estimate: stratified against independent pairs.

:class:`core.explanation.explain.TokenShapExplainer` estimates Owen values from antithetic pairs of
tree-consistent orderings and stops once a split-half reliability reaches a threshold.  This
benchmark shows what each design and threshold buys, on validation texts that are none of
``explain.py``'s (the default threshold was chosen on these, so ``explain.py`` is
the check on other texts):

* the exact answer: the explainer's exact path with a budget above the cost of the whole tree
  (:func:`core.explanation.explain.exact_cost`), which equals shap's own fully expanded Partition explainer
  (``tests/core/test_explain.py``);
* every design in ``DESIGNS`` run over several seeds (``ExplainBudget.seed``), recording the
  Spearman rank correlation with the exact values for the predicted class, whether the top
  token is the same, the model evaluations spent, and token-rows (evaluations times sequence
  length, which is what the forward passes cost).

Model outputs are memoised by row, so seeds and designs that visit the same masked row share
one forward pass; nothing here is timed, so the figures do not depend on the machine's load.
Prints one JSON object to stdout.

Usage::

    python bench/speed/explain_sampling.py            # 40 texts, 5 seeds (a few minutes)
    python bench/speed/explain_sampling.py --quick    # smoke test: 3 texts, 1 seed
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.speed.explain import bench_texts, spearman  # noqa: E402
from core.classifier.cls_only import restrict_last_layer_to_cls  # noqa: E402
from core.explanation.explain import ExplainBudget, TokenShapExplainer, exact_cost  # noqa: E402

SHARED = ROOT / ".." / "shared"
EXACT = 10**6  # a budget above M * (M - 1) for every text used here: shap's exact answer
DESIGNS = {
    "stratified, reliability 0.86 (default)": ExplainBudget(),
    "independent, reliability 0.96 (before)": ExplainBudget(stratified=False, reliability=0.96),
    "independent, reliability 0.86": ExplainBudget(stratified=False, reliability=0.86),
    "stratified, from 1 pair, reliability 0.86": ExplainBudget(min_pairs=1),
}


def held_out_texts(path: Path, n: int, *, seed: int = 1, min_words: int = 4, max_words: int = 40) -> list[str]:
    """``n`` random validation texts of ``min_words`` to ``max_words`` words, none of the explain benchmark's."""
    taken = set(bench_texts(path, 20))
    rows = [line.rsplit(";", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r and r not in taken and min_words <= len(r.split()) <= max_words]
    picks = np.random.default_rng(seed).choice(len(rows), min(n, len(rows)), replace=False)
    return [rows[i] for i in picks]


class MemoModel:
    """A row-memoising wrapper around an explainer's batched model call."""

    def __init__(self, predict: Any) -> None:
        self.predict = predict
        self.known: dict[bytes, np.ndarray] = {}

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        rows = np.asarray(ids, dtype=np.int64)
        keys = [row.tobytes() for row in rows]
        todo = list({key: r for r, key in enumerate(keys) if key not in self.known}.values())
        if todo:
            for r, probs in zip(todo, self.predict(rows[todo]), strict=True):
                self.known[keys[r]] = probs
        return np.stack([self.known[key] for key in keys])


def run(model: Any, tokenizer: Any, texts: list[str], seeds: int) -> dict[str, Any]:
    """Exact Owen values per text, then every design over ``seeds`` seeds; one summary per design."""
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    exact_explainer = TokenShapExplainer(model, tokenizer, labels, cache_size=0, budget=EXACT)
    memo = MemoModel(exact_explainer._predict)
    exact = {}
    for n, text in enumerate(texts, 1):
        tree = np.asarray(exact_explainer._masker.clustering(text))
        if exact_cost(tree, tree.shape[0] + 1) > EXACT:
            raise SystemExit(f"the exact Owen values of {text!r} cost more than {EXACT} evaluations")
        exact[text] = exact_explainer.explain(text)
        print(f"exact {n}/{len(texts)}: {len(exact[text].tokens)} tokens", file=sys.stderr, flush=True)
    designs: dict[str, Any] = {}
    for name, budget in DESIGNS.items():
        rhos, tops, evals, token_rows, mins = [], [], [], [], []
        for seed in range(seeds):
            explainer = TokenShapExplainer(model, tokenizer, labels, cache_size=0, budget=replace(budget, seed=seed))
            explainer._predict = memo  # type: ignore[method-assign]  # share forward passes
            seed_rhos = []
            for text in texts:
                att, ref = explainer.explain(text), exact[text]
                k = int(np.argmax(ref.probs))
                seed_rhos.append(spearman(att.values[:, k], ref.values[:, k]))
                tops.append(bool(np.argmax(att.values[:, k]) == np.argmax(ref.values[:, k])))
                evals.append(att.n_evals)
                token_rows.append(att.n_evals * (len(att.tokens) + 2))
            rhos += seed_rhos
            mins.append(min(seed_rhos))
        designs[name] = {
            "budget": repr(budget),
            "spearman_mean": round(float(np.mean(rhos)), 4),
            "spearman_min_mean_over_seeds": round(float(np.mean(mins)), 4),
            "top_token_agreement": round(float(np.mean(tops)), 4),
            "evals_mean": round(float(np.mean(evals)), 1),
            "token_rows_mean": round(float(np.mean(token_rows)), 1),
        }
        print(f"{name}: {json.dumps(designs[name])}", file=sys.stderr, flush=True)
    first = next(iter(designs.values()))["token_rows_mean"]
    for stats in designs.values():
        stats["token_rows_vs_default"] = round(stats["token_rows_mean"] / first, 3)
    return {
        "texts": len(texts),
        "seeds": seeds,
        "exact_evals_mean": round(float(np.mean([a.n_evals for a in exact.values()])), 1),
        "designs": designs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "emotion-minilm")
    parser.add_argument("--data", type=Path, default=SHARED / "emotion" / "validation.txt")
    parser.add_argument("--texts", type=int, default=40, help="held-out validation texts")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per design and text")
    parser.add_argument("--quick", action="store_true", help="smoke test: 3 texts, 1 seed")
    args = parser.parse_args(argv)

    import torch
    import transformers

    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(2)
    with contextlib.redirect_stdout(io.StringIO()):
        tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
        model = transformers.AutoModelForSequenceClassification.from_pretrained(args.model).eval()
    restrict_last_layer_to_cls(model)
    n_texts, seeds = (3, 1) if args.quick else (args.texts, args.seeds)
    texts = held_out_texts(args.data, n_texts, max_words=12 if args.quick else 40)
    result = {"model": args.model.name, **run(model, tokenizer, texts, seeds)}
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
