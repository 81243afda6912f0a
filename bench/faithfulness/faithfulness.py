"""Faithfulness of the product's explainer against shap's reference, gradient methods, LIME and random order.

On ``--texts`` validation texts of emotion-minilm drawn with ``--seed`` (nothing in the explainer is
tuned on them), every method of :mod:`bench.faithfulness.attributions` explains the class the fp32 model predicts;
its words, ranked by value toward that class, are scored with comprehensiveness and sufficiency over
ERASER's bins (:mod:`core.explanation.faithfulness`; every method judged by the same fp32 model in one
batched pass per text). Also reported:

* rank agreement with the reference: Spearman of word values, and whether the top word is the same;
* median seconds per text (same process, interleaved), and at DistilBERT size (random weights);
* stability (issue item 3): on texts the explainer samples (too long for its exact path), a second
  explainer with ``ExplainBudget(seed=1)``: Spearman of word values and the share whose top word changes;
* the faithfulness line's cost: p50 of the live explanation (explain + words) with and without
  :func:`core.explanation.faithfulness.with_faithfulness` on the served classifier.

The reference is slow, so it runs on the first ``--reference-texts`` of the drawn texts (same seed);
``--deadline-minutes`` stops starting new texts and the JSON says how many were done.

Usage::

    python bench/faithfulness/faithfulness.py                 # full run (hours on a shared 2-core machine)
    python bench/faithfulness/faithfulness.py --resume        # go on after an earlier run's texts (same draw)
    python bench/faithfulness/faithfulness.py --quick         # smoke run: 3 texts, small budgets
    python bench/faithfulness/faithfulness.py --fit-margin    # the weak margin, on train texts (not the reported ones)
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import build_random_distilbert, read_text_label_lines  # noqa: E402
from bench.faithfulness.attributions import Methods, judge_probs, text_words, timed  # noqa: E402
from bench.faithfulness.faithfulness_report import summarise, targets  # noqa: E402
from bench.harness import EMOTION, MINILM  # noqa: E402
from bench.speed.explain import spearman  # noqa: E402
from core.explanation.faithfulness import score_orders  # noqa: E402

METHODS = ("ours", "reference", "integrated_gradients", "gradient_x_input", "lime", "random")
OUT = ROOT / "bench" / "faithfulness" / "results" / "faithfulness.json"


def drawn_texts(split: str, n: int, seed: int) -> list[str]:
    """``n`` texts of ``split`` drawn without replacement with ``seed``."""
    rows = [t for t, _ in read_text_label_lines(EMOTION / f"{split}.txt") if t.strip()]
    pick = np.random.default_rng(seed).choice(len(rows), size=min(n, len(rows)), replace=False)
    return [rows[i] for i in pick]


def load(model_dir: Path, backend: str | None, ref_max_evals: int, lime_samples: int) -> tuple[Methods, Any, Any]:
    """The methods (fp32 judge model), the served classifier (as the app loads it) and a seed-1 explainer."""
    import transformers

    from core.classifier.model import load_classifier
    from core.explanation.explain import ExplainBudget, TokenShapExplainer
    from core.settings import Settings

    clf = load_classifier(model_dir, backend=backend or Settings().backend)
    labels = list(clf.labels)
    ours = TokenShapExplainer(clf.model, clf.tokenizer, labels)
    seed1 = TokenShapExplainer(clf.model, clf.tokenizer, labels, budget=ExplainBudget(seed=1))
    judge = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    return Methods(judge, clf.tokenizer, labels, ours, ref_max_evals=ref_max_evals, lime_samples=lime_samples), \
        clf, seed1


def sampled_path(explainer: Any, text: str) -> bool:
    """Whether ``explainer`` samples ``text`` (too long for its exact path), by the explainer's own rule."""
    from core.explanation.explain import exact_cost

    ids = explainer.tokenizer(text)["input_ids"]
    tree = np.asarray(explainer._masker.clustering(text))
    special = explainer.tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
    budget, m = explainer.budget.evals_for(len(ids) - sum(special)), len(ids)
    return not (m * (m - 1) <= budget and exact_cost(tree, m) <= budget)


def live(methods: Methods, clf: Any, tw: Any, text: str, target: int) -> tuple[np.ndarray, float, float, Any]:
    """The product's word values, the seconds of the live explanation (explain + words, cache cleared) and of its
    faithfulness line, as the service runs them."""
    from core.explanation.faithfulness import one_pass, with_faithfulness
    from core.explanation.words import explanation_from_attribution

    methods.explainer.clear_cache()
    start = time.perf_counter()
    exp = explanation_from_attribution(methods.explainer.explain(text), clf.tokenizer, target=methods.labels[target])
    explained = time.perf_counter() - start
    scored, line = timed(with_faithfulness, exp, one_pass(clf))
    idx = exp.explained_words()
    if [(exp.words[i].start, exp.words[i].end) for i in idx] != tw.spans:
        raise RuntimeError(f"the explanation's words differ from the bench's words in {text!r}")
    return exp.word_values[idx, target], explained, line, scored.faithfulness


def one_text(methods: Methods, clf: Any, seed1: Any, text: str, *, with_reference: bool) -> dict[str, Any]:
    """Every method's values, time and scores on ``text``; stability and the line's cost."""
    tw = text_words(methods.tokenizer, text)
    target = int(np.argmax(methods.predict([text])[0]))
    values, seconds = {}, {}
    values["ours"], seconds["ours"], line_s, faith = live(methods, clf, tw, text, target)
    for name in METHODS[1:]:
        if name == "reference" and not with_reference:
            continue
        values[name], seconds[name] = timed(getattr(methods, name), tw, text, target)
    names = list(values)
    orders = [np.argsort(-values[n], kind="stable") for n in names]
    p_text, without, only = score_orders(text, tw.spans, orders, methods.predict, target)
    rec: dict[str, Any] = {"text": text, "words": len(tw.words), "target": methods.labels[target],
                           "p_text": round(p_text, 4), "methods": {}}
    for j, n in enumerate(names):
        rec["methods"][n] = {"comprehensiveness": float(np.mean(p_text - without[j])),
                             "sufficiency": float(np.mean(p_text - only[j])), "seconds": seconds[n]}
        if "reference" in values:
            rec["methods"][n]["spearman_ref"] = spearman(values[n], values["reference"])
            rec["methods"][n]["same_top_ref"] = bool(np.argmax(values[n]) == np.argmax(values["reference"]))
    if sampled_path(methods.explainer, text):
        other = methods.ours(tw, text, target, seed_explainer=seed1)
        rec["stability"] = {"spearman": spearman(values["ours"], other),
                            "top_changed": bool(np.argmax(values["ours"]) != np.argmax(other))}
    rec["live_s"], rec["line_s"] = seconds["ours"], line_s
    rec["line"] = {"comprehensiveness": faith.comprehensiveness, "random": faith.random_comprehensiveness,
                   "sufficiency": faith.sufficiency, "weak": faith.weak, "text": faith.line()}
    return rec


def distilbert_times(work: Path, texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Median seconds per text of every method at DistilBERT size (random weights, seed 0)."""
    methods, _, _ = load(build_random_distilbert(work / "distilbert-random"), args.backend,
                         args.distilbert_ref_max_evals, args.lime_samples)
    seconds: dict[str, list[float]] = {n: [] for n in METHODS}
    for text in texts:
        tw = text_words(methods.tokenizer, text)
        target = int(np.argmax(methods.predict([text])[0]))
        for name in METHODS:
            seconds[name].append(timed(getattr(methods, name), tw, text, target)[1])
        print(f"[distilbert] {len(tw.words)} words done", file=sys.stderr, flush=True)
    med = {n: round(float(np.median(s)), 4) for n, s in seconds.items()}
    return {"texts": len(texts), "ref_max_evals": args.distilbert_ref_max_evals, "median_s": med,
            "ours_fraction_of_reference": round(med["ours"] / med["reference"], 4)}


def fit_margin(n: int, seed: int, orders: int | None = None) -> dict[str, Any]:
    """The weak margin on ``n`` train texts: the 95th percentile of the difference between two independent
    random-words baselines, each the mean comprehensiveness of ``orders`` random orders (default: the
    product's ``RANDOM_ORDERS``)."""
    import transformers

    from core.explanation.faithfulness import RANDOM_ORDERS

    k = orders or RANDOM_ORDERS
    tok = transformers.AutoTokenizer.from_pretrained(MINILM)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(MINILM).eval()
    predict = functools.partial(judge_probs, model, tok)
    diffs = []
    for i, text in enumerate(drawn_texts("train", n, seed)):
        tw = text_words(tok, text)
        target = int(np.argmax(predict([text])[0]))
        perms = [np.random.default_rng([seed, i, r]).permutation(len(tw.words)) for r in range(2 * k)]
        p_text, without, _ = score_orders(text, tw.spans, perms, predict, target)
        comp = (p_text - without).mean(axis=1)
        diffs.append(float(comp[:k].mean() - comp[k:].mean()))
    return {"split": "train", "texts": n, "seed": seed, "random_orders": k,
            "margin_q95": round(float(np.quantile(diffs, 0.95)), 4),
            "mean_abs_diff": round(float(np.mean(np.abs(diffs))), 4)}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--texts", type=int, default=500)
    p.add_argument("--reference-texts", type=int, default=500, help="run the reference on the first N drawn texts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ref-max-evals", type=int, default=6000)
    p.add_argument("--lime-samples", type=int, default=1000)
    p.add_argument("--distilbert-texts", type=int, default=5)
    p.add_argument("--distilbert-ref-max-evals", type=int, default=2000)
    p.add_argument("--deadline-minutes", type=float, default=None, help="start no new text after this long")
    p.add_argument("--backend", default=None, help="the served backend (default: the app's)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--resume", action="store_true", help="keep the texts already in --out and go on from there")
    p.add_argument("--quick", action="store_true", help="3 texts, small budgets, no DistilBERT")
    p.add_argument("--fit-margin", action="store_true", help="print the weak margin fitted on train texts")
    p.add_argument("--margin-texts", type=int, default=300, help="train texts for --fit-margin")
    args = p.parse_args(argv)
    if args.quick:
        args.texts, args.reference_texts, args.ref_max_evals, args.lime_samples = 3, 2, 300, 100
        args.distilbert_texts = 0
    return args


def quiet_seeded_torch() -> int:
    """Silence warnings and transformers' logging, seed torch with 0; returns torch's thread count."""
    import warnings

    import torch
    import transformers

    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    return torch.get_num_threads()


def main(argv: list[str] | None = None) -> int:
    import tempfile

    args = parse(argv)
    threads = quiet_seeded_torch()
    if args.fit_margin:
        print(json.dumps(fit_margin(args.margin_texts, args.seed), indent=2))
        return 0
    start = time.perf_counter()
    texts = drawn_texts("validation", args.texts, args.seed)
    report: dict[str, Any] = {"split": "validation", "seed": args.seed, "texts_drawn": len(texts),
                              "torch_threads": threads,
                              "args": {k: str(v) for k, v in vars(args).items()}}
    methods, clf, seed1 = load(MINILM, args.backend, args.ref_max_evals, args.lime_samples)
    report["backend"] = clf.backend.name
    records = previous_records(args.out, texts) if args.resume else []
    for i, text in enumerate(texts):
        if i < len(records):
            continue
        if args.deadline_minutes is not None and time.perf_counter() - start > 60 * args.deadline_minutes:
            break
        records.append(one_text(methods, clf, seed1, text, with_reference=i < args.reference_texts))
        print(f"[{i + 1}/{len(texts)}] {json.dumps(records[-1]['methods']['ours'])}", file=sys.stderr, flush=True)
        if (i + 1) % 10 == 0 or i + 1 == len(texts):
            write(report, records, args, partial=i + 1 < len(texts))
    if args.distilbert_texts:
        with tempfile.TemporaryDirectory(prefix="bench-faith-") as tmp:
            report["distilbert_random"] = distilbert_times(Path(tmp), texts[: args.distilbert_texts], args)
    write(report, records, args, partial=len(records) < len(texts))
    print(json.dumps({k: v for k, v in report.items() if k != "per_text"}, indent=2))
    return 0


def previous_records(out: Path, texts: list[str]) -> list[dict[str, Any]]:
    """The per-text records of an earlier run of the same draw (``--resume``), in draw order."""
    if not out.is_file():
        return []
    done = json.loads(out.read_text()).get("per_text", [])
    if [r["text"] for r in done] != texts[: len(done)]:
        raise SystemExit(f"{out}: its texts are not the first ones of this draw; run without --resume")
    print(f"resuming after {len(done)} texts of {out}", file=sys.stderr)
    return done


def write(report: dict[str, Any], records: list[dict[str, Any]], args: argparse.Namespace, *, partial: bool) -> None:
    """Summaries and target checks of ``records`` into ``report``, written to ``args.out``."""
    report.update(summarise(records, METHODS))
    report["targets"] = targets(report)
    report["partial"] = partial
    report["per_text"] = records
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
