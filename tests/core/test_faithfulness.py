"""Comprehensiveness and sufficiency (core/explanation/faithfulness.py) on the real emotion-minilm classifier."""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.explanation.faithfulness import (
    LINE_BIN,
    bin_sizes,
    edited_texts,
    faithfulness,
    one_pass,
    rank_toward,
    with_faithfulness,
)
from tests.conftest import MINILM, needs_minilm


def test_bin_sizes_follow_eraser_with_at_least_one_word():
    assert bin_sizes(20) == [1, 1, 2, 4, 10]
    assert bin_sizes(1) == [1, 1, 1, 1, 1]
    assert bin_sizes(200) == [2, 10, 20, 40, 100]
    with pytest.raises(ValueError, match="at least one explained word"):
        bin_sizes(0)


def test_rank_toward_puts_the_most_positive_first_not_the_largest_magnitude():
    assert rank_toward(np.array([0.1, -0.9, 0.5, 0.5])).tolist() == [2, 3, 0, 1]


def test_edited_texts_delete_words_and_keep_the_rest():
    text = "i am <b>so</b> angry, really!"
    spans = [(0, 1), (2, 4), (5, 8), (8, 10), (10, 14), (15, 20), (20, 21), (22, 28), (28, 29)]
    assert [text[s:e] for s, e in spans] == ["i", "am", "<b>", "so", "</b>", "angry", ",", "really", "!"]
    without, alone = edited_texts(text, spans, [5, 1])
    assert without == "i <b>so</b> , really!"  # whitespace runs collapse to one space
    assert alone == "am angry"


@pytest.fixture(scope="module")
def minilm():
    if not (MINILM / "model.safetensors").is_file():
        pytest.skip("../shared/models/emotion-minilm is absent")
    from core.classifier.model import load_classifier

    return load_classifier(MINILM, backend="torch")


def _p(clf, text: str, k: int) -> float:
    """p(class k | text), one text alone (no batching, no padding): the independent side."""
    return float(clf.predict([text], batch_size=1).probs[0, k])


@needs_minilm
def test_scores_match_an_independent_computation(minilm):
    words = "i was so furious when they cancelled my flight again".split()
    text = " ".join(words)
    spans, pos = [], 0
    for w in words:
        spans.append((pos, pos + len(w)))
        pos += len(w) + 1
    values = np.array([0.0, 0.01, 0.1, 0.9, 0.02, 0.03, 0.3, 0.0, 0.2, 0.05])
    k = int(np.argmax(minilm.predict([text]).probs[0]))
    got = faithfulness(text, spans, values, one_pass(minilm), k, list(minilm.labels))

    # independently: 10 words -> ERASER bins remove 1, 1, 1, 2 and 5 words; rank 3 ("furious"), 6, 8, 2, 9
    top = [3, 6, 8, 2, 9]
    p_text = _p(minilm, text, k)
    comp, suff = [], []
    for n in (1, 1, 1, 2, 5):
        gone = set(top[:n])
        comp.append(p_text - _p(minilm, " ".join(w for i, w in enumerate(words) if i not in gone), k))
        suff.append(p_text - _p(minilm, " ".join(w for i, w in enumerate(words) if i in gone), k))
    assert got.sizes == (1, 1, 1, 2, 5)
    assert got.p_text == pytest.approx(p_text, abs=1e-4)
    assert got.comprehensiveness == pytest.approx(float(np.mean(comp)), abs=1e-4)
    assert got.sufficiency == pytest.approx(float(np.mean(suff)), abs=1e-4)
    assert got.removed == ("furious", "cancelled")  # the 20% bin: 2 words, in rank order
    line = got.line()
    assert line.startswith('removing its top 2 words ("furious", "cancelled"): ')
    assert f"{got.p_text:.0%} → {got.p_without[LINE_BIN]:.0%}" in line


@needs_minilm
def test_random_ranking_scores_lower_than_the_product_where_one_word_decides(minilm):
    from core.explanation.explain import TokenShapExplainer
    from core.explanation.words import explanation_from_attribution

    text = "i walked home from the station this evening and i felt terrified"
    explainer = TokenShapExplainer(minilm.model, minilm.tokenizer, list(minilm.labels))
    exp = with_faithfulness(explanation_from_attribution(explainer.explain(text), minilm.tokenizer), one_pass(minilm))
    assert exp.target == "fear" and exp.faithfulness.removed[0] == "terrified"
    idx = exp.explained_words()
    spans = [(exp.words[i].start, exp.words[i].end) for i in idx]
    k = exp.labels.index(exp.target)
    rng = np.random.default_rng(0)
    random_comp = [faithfulness(text, spans, rng.random(len(spans)), one_pass(minilm), k, exp.labels).comprehensiveness
                   for _ in range(10)]
    assert exp.faithfulness.comprehensiveness > max(random_comp)
    assert not exp.faithfulness.weak
    assert exp.faithfulness.comprehensiveness - exp.faithfulness.random_comprehensiveness >= exp.faithfulness.margin


@needs_minilm
def test_faithfulness_of_an_explanation_uses_its_target_and_keeps_html_as_text(minilm):
    from core.explanation.explain import TokenShapExplainer
    from core.explanation.words import explanation_from_attribution

    text = "<b>furious</b> at them"
    explainer = TokenShapExplainer(minilm.model, minilm.tokenizer, list(minilm.labels))
    exp = explanation_from_attribution(explainer.explain(text), minilm.tokenizer, target="joy")
    scored = with_faithfulness(exp, one_pass(minilm))
    assert exp.faithfulness is None and scored.faithfulness.target == "joy"
    assert scored.faithfulness.as_dict()["line"] == scored.faithfulness.line()
    assert " joy " in scored.faithfulness.line()
    assert "&lt;" not in scored.faithfulness.line()  # plain text: nothing escaped here, the view renders it as text


def test_the_random_baseline_builds_no_texts_of_the_top_words_alone():
    text = "one two three four five six seven eight nine ten eleven twelve"
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    seen: list[list[str]] = []

    def predict(texts: list[str]) -> np.ndarray:  # p(class 0) rises with the number of words kept
        seen.append(list(texts))
        n = np.array([len(t.split()) for t in texts], dtype=float) / len(spans)
        return np.stack([n, 1 - n], axis=1)

    from core.explanation.faithfulness import score_orders

    orders = [list(range(12)), list(range(11, -1, -1)), [5, 1, 7, 0, 2, 3, 4, 6, 8, 9, 10, 11]]
    full = score_orders(text, spans, orders, predict, 0)
    lean = score_orders(text, spans, orders, predict, 0, only_orders=1)
    assert len(seen[1]) < len(seen[0]) and len(seen) == 2  # fewer rows, still one forward pass
    assert np.allclose(full[1], lean[1]) and np.allclose(full[2][0], lean[2][0])
    assert np.isnan(lean[2][1:]).all() and not np.isnan(full[2]).any()


def test_fewer_random_orders_send_fewer_texts_and_leave_the_explanations_scores_alone():
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    sent: dict[int, int] = {}

    def predict(texts: list[str]) -> np.ndarray:  # p(class 0) falls as the words 'one'..'four' go
        sent[orders] = len(texts)
        kept = np.array([sum(w in t.split() for w in ("one", "two", "three", "four")) for t in texts]) / 4
        return np.stack([kept, 1 - kept], axis=1)

    values = np.linspace(1, 0, len(spans))  # 'one' first: the explanation's order
    scores = {}
    for orders in (4, 2, 1):
        scores[orders] = faithfulness(text, spans, values, predict, 0, ["a", "b"], random_orders=orders, margin=0.1)
    assert sent[4] > sent[2] > sent[1]
    assert len({(s.comprehensiveness, s.sufficiency, s.p_without) for s in scores.values()}) == 1
    assert scores[2].margin == 0.1 and scores[2].comprehensiveness > scores[2].random_comprehensiveness
