"""Tests for core.explanation.explain on a tiny random BERT (and a smoke run of the benchmark)."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parents[2]
SHARED = ROOT / ".." / "shared"
TOKENIZER_DIR = SHARED / "models" / "distilbert-base-uncased"
MINILM_DIR = SHARED / "models" / "emotion-minilm"
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
EXACT = 100_000  # a budget above M * (M - 1) for every text here: shap's exact answer

pytestmark = pytest.mark.skipif(
    not (TOKENIZER_DIR / "tokenizer.json").is_file(),
    reason=f"shared models not found at {TOKENIZER_DIR} (tests need ../shared next to the repo)",
)

TEXTS = [
    "i feel so happy and loved today",
    "i am terrified of the dark and i cannot sleep",
    "my brother broke my phone and i am furious about it",
    "i was so scared walking home alone last night that i ran the whole way and locked every door",
]


@pytest.fixture(scope="module")
def tiny():
    """A tiny random BERT (seeded) with the DistilBERT uncased tokenizer."""
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    tokenizer = transformers.AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={lab: i for i, lab in enumerate(LABELS)},
        initializer_range=0.2,  # larger than default: an output that moves with the tokens
    )
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config).eval()
    return model, tokenizer


def _probs(model, tokenizer, text: str) -> np.ndarray:
    import torch

    with torch.inference_mode():
        logits = model(**tokenizer(text, return_tensors="pt")).logits
    return torch.softmax(logits, dim=-1)[0].double().numpy()


def _explainer(tiny, **kwargs):
    from core.explanation.explain import TokenShapExplainer

    model, tokenizer = tiny
    return TokenShapExplainer(model, tokenizer, LABELS, **kwargs)


def test_shapes_tokens_and_probs(tiny):
    model, tokenizer = tiny
    att = _explainer(tiny).explain(TEXTS[0])
    expected_tokens = tokenizer.tokenize(TEXTS[0])
    assert att.tokens == expected_tokens
    assert att.values.shape == (len(expected_tokens), len(LABELS))
    assert att.base_values.shape == (len(LABELS),)
    assert att.labels == LABELS
    assert not att.truncated
    assert att.n_evals > 2
    np.testing.assert_allclose(att.probs, _probs(model, tokenizer, TEXTS[0]), atol=1e-5)
    assert att.for_label("joy").shape == (len(expected_tokens),)
    top = att.top_tokens("joy", k=3)
    assert len(top) == 3 and abs(top[0][1]) == pytest.approx(np.abs(att.for_label("joy")).max())
    assert [abs(v) for _, v in top] == sorted((abs(v) for _, v in top), reverse=True)
    with pytest.raises(KeyError):
        att.for_label("boredom")


@pytest.mark.parametrize("text", TEXTS)
def test_local_accuracy_exact_budget(tiny, text):
    """base value + sum of a class's attributions = the model's probability for the text."""
    model, tokenizer = tiny
    att = _explainer(tiny, budget=EXACT).explain(text)
    probs = _probs(model, tokenizer, text)
    np.testing.assert_allclose(att.base_values + att.values.sum(axis=0), probs, atol=1e-5)
    masked = tokenizer.mask_token_id
    ids = tokenizer(text)["input_ids"]
    all_masked = [ids[0]] + [masked] * (len(ids) - 2) + [ids[-1]]
    import torch

    with torch.inference_mode():
        base = torch.softmax(model(input_ids=torch.tensor([all_masked])).logits, -1)[0].double().numpy()
    np.testing.assert_allclose(att.base_values, base, atol=1e-5)


def _shap_reference(tiny, text: str) -> np.ndarray:
    """shap's own explainer on the string pipeline, with a large budget: (T, K) without specials."""
    import shap
    import transformers

    model, tokenizer = tiny
    # batched: one forward per batch of masked strings, not per string (the same probabilities, within 1e-6)
    pipe = transformers.pipeline("text-classification", model=model, tokenizer=tokenizer, top_k=None, batch_size=256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exp = shap.Explainer(pipe)([text], max_evals=EXACT, silent=True)
    return np.asarray(exp.values[0], dtype=np.float64)[1:-1]


@pytest.mark.parametrize("text", TEXTS)
def test_agrees_with_shap_explainer(tiny, text):
    from scipy.stats import spearmanr

    reference = _shap_reference(tiny, text)
    exact = _explainer(tiny, budget=EXACT).explain(text)
    default = _explainer(tiny).explain(text)
    assert reference.shape == exact.values.shape
    np.testing.assert_allclose(exact.values, reference, atol=1e-4)
    k = int(np.argmax(default.probs))
    rho = spearmanr(default.values[:, k], reference[:, k])[0]
    assert rho >= 0.9, f"Spearman {rho:.3f} against shap's explainer for {text!r}"
    assert default.n_evals <= exact.n_evals


@pytest.mark.parametrize("text", [*TEXTS[:3], "ok", "why would anyone do that to me"])
def test_exact_path_is_shaps_fully_expanded_partition_answer(tiny, text):
    """The exact path gives shap's PartitionExplainer's values on token ids, at the cost shap counts."""
    import shap

    from core.explanation.explain import ExplainBudget, exact_cost

    model, tokenizer = tiny
    masker = shap.maskers.Text(tokenizer, output_type="token_ids")
    tree = np.asarray(masker.clustering(text))
    m = tree.shape[0] + 1
    cost = exact_cost(tree, m)
    probe = _explainer(tiny, cache_size=0)
    reference = shap.PartitionExplainer(probe._predict, masker, output_names=LABELS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exp = reference([text], max_evals=cost + 10, batch_size=10_000, silent=True)
    assert reference.last_eval_count + 2 == cost  # the whole tree, every context: what exact_cost counts
    room = max(cost, m * (m - 1))  # the explainer also wants shap's nominal M * (M - 1) to fit
    fits = ExplainBudget(per_token=0.0, offset=room, min_evals=1, max_evals=room)
    att = _explainer(tiny, budget=fits).explain(text)
    np.testing.assert_allclose(att.values, np.asarray(exp.values[0])[1:-1], atol=1e-7)  # float32 outputs
    np.testing.assert_allclose(att.base_values, np.asarray(exp.base_values[0]), atol=1e-7)
    assert att.n_evals <= cost
    short = ExplainBudget(per_token=0.0, offset=cost - 1, min_evals=1, max_evals=cost - 1)
    if m > 3:  # one budget short of the whole tree: the sampled estimate, within that budget
        assert _explainer(tiny, budget=short).explain(text).n_evals <= cost - 1


def test_long_text_is_sampled_within_budget(tiny):
    """Past the exact budget the estimate spends at most the budget and still sums to f(text)."""
    from core.explanation.explain import ExplainBudget

    model, tokenizer = tiny
    text = TEXTS[3]
    n = len(tokenizer.tokenize(text))
    att = _explainer(tiny).explain(text)
    assert att.n_evals <= ExplainBudget().max_sampled_evals(n) <= ExplainBudget().evals_for(n) < (n + 2) * (n + 1)
    np.testing.assert_allclose(att.base_values + att.values.sum(axis=0), _probs(model, tokenizer, text), atol=1e-5)
    assert np.array_equal(att.values, _explainer(tiny).explain(text).values)  # seeded by the text


def test_sampling_stops_once_ranking_is_stable(tiny):
    """Adaptive sampling: min_pairs when any ranking will do, more pairs when stability is never reached."""
    from core.explanation.explain import ExplainBudget

    model, tokenizer = tiny
    text = TEXTS[3]
    n = len(tokenizer.tokenize(text))
    early = _explainer(tiny, budget=ExplainBudget(reliability=0.0)).explain(text)
    never = _explainer(tiny, budget=ExplainBudget(reliability=1.1, max_pairs=6)).explain(text)
    assert early.n_evals <= 2 * ExplainBudget().min_pairs * n + 1
    assert early.n_evals < never.n_evals <= ExplainBudget(max_pairs=6).max_sampled_evals(n)
    np.testing.assert_allclose(never.base_values + never.values.sum(axis=0), _probs(model, tokenizer, text), atol=1e-5)


def test_stratified_block_balances_context_levels(tiny):
    """Over a block of pairs, each token sees every combination of two context levels equally often."""
    from collections import Counter

    import shap

    from core.explanation.owen_values import BLOCK, depth_codes, pair_flips, tree_order

    _, tokenizer = tiny
    text = TEXTS[3]
    tree = np.asarray(shap.maskers.Text(tokenizer, output_type="token_ids").clustering(text))
    m = tree.shape[0] + 1
    codes = depth_codes(tree, m)
    children = {m + j: (int(tree[j, 0]), int(tree[j, 1])) for j in range(m - 1)}
    parent = {c: node for node, pair in children.items() for c in pair}

    def depth(node: int) -> int:
        return 0 if node not in parent else 1 + depth(parent[node])

    assert codes.tolist() == [depth(node) % 7 + 1 for node in range(m, 2 * m - 1)]
    base = np.random.default_rng(0).random(m - 1) < 0.5
    orders = []
    for q in range(BLOCK):
        order = tree_order(tree, m, pair_flips(base, codes, q))
        orders += [order, order[::-1]]
    positions = [{leaf: p for p, leaf in enumerate(order)} for order in orders]

    def a_leaf(node: int) -> int:
        while node >= m:
            node = children[node][0]
        return node

    checked = 0
    for leaf in range(m):
        path, node = [], leaf  # (ancestor, one leaf of the sibling subtree) from the parent up
        while node in parent:
            left, right = children[parent[node]]
            path.append((parent[node], a_leaf(right if left == node else left)))
            node = parent[node]
        before = np.array([[pos[s] < pos[leaf] for _, s in path] for pos in positions])
        assert (before.sum(axis=0) == len(orders) // 2).all()  # antithetic: each level half before
        for x in range(len(path)):
            for y in range(x + 1, len(path)):
                if codes[path[x][0] - m] != codes[path[y][0] - m]:
                    combos = Counter(zip(before[:, x].tolist(), before[:, y].tolist(), strict=True))
                    assert sorted(combos.values()) == [len(orders) // 4] * 4, (leaf, x, y, combos)
                    checked += 1
    assert checked > m  # deep enough a tree for the check to mean something


def test_sampler_walks_the_block_in_order(tiny, monkeypatch):
    """The explainer's pairs are the block's base flips, then the base flipped by each pair's pattern."""
    import core.explanation.owen_values as ce

    seen: list[np.ndarray] = []
    real = ce.tree_order

    def spy(tree, m, flips):
        seen.append(np.array(flips))
        return real(tree, m, flips)

    monkeypatch.setattr(ce, "tree_order", spy)
    text = TEXTS[3]
    budget = ce.ExplainBudget(min_pairs=ce.BLOCK, max_pairs=ce.BLOCK, reliability=1.1)
    _explainer(tiny, budget=budget).explain(text)
    explainer = _explainer(tiny)
    codes = ce.depth_codes(np.asarray(explainer._masker.clustering(text)), len(seen[0]) + 1)
    assert len(seen) == ce.BLOCK
    for q, flips in enumerate(seen):
        assert np.array_equal(flips ^ seen[0], ce.PARITY[codes & q]), q


def test_cache_hit_returns_same_object(tiny):
    explainer = _explainer(tiny, cache_size=2)
    first = explainer.explain(TEXTS[1])
    again = explainer.explain(TEXTS[1])
    assert again is first
    explainer.explain(TEXTS[0])
    explainer.explain(TEXTS[2])  # evicts TEXTS[1] (least recently used)
    assert explainer.explain(TEXTS[1]) is not first


def test_cache_disabled_recomputes(tiny):
    explainer = _explainer(tiny, cache_size=0)
    assert explainer.explain(TEXTS[0]) is not explainer.explain(TEXTS[0])


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_raises(tiny, text):
    with pytest.raises(ValueError, match="empty"):
        _explainer(tiny).explain(text)


def test_truncation_is_flagged(tiny):
    _, tokenizer = tiny
    text = " ".join(["i feel wonderful and calm"] * 10)
    att = _explainer(tiny, max_tokens=7).explain(text)
    assert att.truncated
    assert att.text == text
    assert att.tokens == tokenizer.tokenize(text)[:7]
    assert att.values.shape == (7, len(LABELS))
    assert not _explainer(tiny, max_tokens=7).explain("i feel calm").truncated


def test_budget_scales_with_tokens():
    from core.explanation.explain import ExplainBudget

    budget = ExplainBudget()
    counts = [budget.evals_for(n) for n in (1, 10, 20, 40, 80, 1000)]
    assert counts == sorted(counts)
    assert counts[0] >= budget.min_evals and counts[-1] == budget.max_evals


def test_thread_safe(tiny):
    explainer = _explainer(tiny, budget=EXACT)
    serial = {t: _explainer(tiny, budget=EXACT).explain(t).values for t in TEXTS}
    results: dict[str, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(text: str) -> None:
        try:
            results[text] = explainer.explain(text).values
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in TEXTS * 2]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for text in TEXTS:
        np.testing.assert_allclose(results[text], serial[text], atol=1e-6)


def test_rejects_mismatched_labels(tiny):
    from core.explanation.explain import TokenShapExplainer

    model, tokenizer = tiny
    with pytest.raises(ValueError, match="labels"):
        TokenShapExplainer(model, tokenizer, LABELS[:3])


def _run_quick_bench(script: str) -> dict:
    """``bench/<script> --quick`` in this process (:func:`tests.conftest.run_main`): it times its explainers in
    the process it runs in, warm or not, so a fresh interpreter would only add its imports; its JSON output."""
    from tests.bench.test_bench_smoke import run_quick

    return run_quick(script, in_process=True)


@pytest.mark.slow
@pytest.mark.skipif(not (MINILM_DIR / "model.safetensors").is_file(), reason=f"{MINILM_DIR} not found")
def test_bench_quick_smoke():
    result = _run_quick_bench("speed/explain.py")
    stats = result["models"]["emotion-minilm"]
    for key in (
        "reference_s",
        "explainer_s",
        "speedup_p50",
        "spearman_mean",
        "spearman_min",
        "top_token_agreement",
        "n_evals_p50",
        "per_text",
    ):
        assert key in stats, key
    for key in ("p50", "min", "max"):
        assert stats["reference_s"][key] > 0 and stats["explainer_s"][key] > 0
    assert stats["texts"] == 3 and len(stats["per_text"]) == 3
    rhos = [t["spearman"] for t in stats["per_text"]]
    assert stats["spearman_mean"] == pytest.approx(np.mean(rhos), abs=2e-4)  # the summary is of these texts
    assert stats["top_token_agreement"] == pytest.approx(np.mean([t["same_top"] for t in stats["per_text"]]))
    # deterministic (seeded) explanations of real texts must agree with shap's large-budget answer
    assert stats["spearman_mean"] >= 0.6 and stats["top_token_agreement"] >= 2 / 3, stats
    assert stats["last_layer_cls_only"] is True  # timed on the model as the app serves it


@pytest.mark.slow
@pytest.mark.skipif(not (MINILM_DIR / "model.safetensors").is_file(), reason=f"{MINILM_DIR} not found")
def test_bench_sampling_quick_smoke():
    result = _run_quick_bench("speed/explain_sampling.py")
    assert result["texts"] == 3 and result["seeds"] == 1
    designs = result["designs"]
    assert len(designs) == 4
    for stats in designs.values():
        # every design estimates the exact Owen values of these real texts, not noise
        assert stats["spearman_mean"] >= 0.6 and stats["spearman_min_mean_over_seeds"] >= 0.3, stats
        assert stats["top_token_agreement"] >= 2 / 3, stats
        assert 0 < stats["evals_mean"] <= result["exact_evals_mean"]


def test_a_cached_explanation_does_not_wait_behind_a_running_one(tiny):
    import threading

    from core.explanation.explain import TokenShapExplainer

    model, tokenizer = tiny
    explainer = TokenShapExplainer(model, tokenizer, LABELS)
    first = explainer.explain("i am happy today")
    got = []
    with explainer._compute:  # another explanation is being computed (it holds the model)
        reader = threading.Thread(target=lambda: got.append(explainer.explain("i am happy today")))
        reader.start()
        reader.join(timeout=60)  # a deadline against a hang, not a speed check
        assert not reader.is_alive() and got[0] is first  # the hit came back while the lock was held
