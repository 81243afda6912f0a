"""Explain by training examples (core.analysis.similar): a training tweet finds itself first, exactly
and through the approximate index; the neighbour-disagreement score finds planted flips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.analysis.similar import TrainingExamples, neighbour_disagreement, similar
from tests.conftest import split_lines


@pytest.fixture(scope="module")
def train_index(tiny_model_dir):
    from core.classifier.model import load_classifier

    clf = load_classifier(tiny_model_dir)
    lines = list(dict.fromkeys(split_lines("train", 160)))  # distinct lines
    texts = [ln.rsplit(";", 1)[0] for ln in lines]
    labels = [ln.rsplit(";", 1)[1] for ln in lines]
    out = clf.predict(texts, with_hidden=True)
    table = pd.DataFrame({"text": texts, "label": labels,
                          "pred": np.asarray(clf.labels, dtype=object)[out.probs.argmax(axis=1)],
                          "mislabel_score": np.linspace(0, 1, len(texts))})
    return clf, table, out.hidden


# the approximate index compiles pynndescent's numba code in a fresh process (minutes on a loaded host)
@pytest.mark.parametrize("exact_max", [50_000, pytest.param(0, marks=pytest.mark.slow)], ids=["exact", "approximate"])
def test_a_training_tweet_returns_itself_first(train_index, exact_max):
    clf, table, hidden = train_index
    examples = TrainingExamples(hidden, table, exact_max=exact_max)
    assert examples.exact == (exact_max > 0)
    for sid in (3, 57, len(table) - 1):
        result = similar(table["text"].iloc[sid], 5, classifier=clf, examples=examples)
        first = result.neighbours.iloc[0]
        assert first["sample_id"] == sid and first["text"] == table["text"].iloc[sid]
        assert first["similarity"] > 0.999 and len(result.neighbours) == 5
        assert (np.diff(result.neighbours["similarity"]) <= 1e-6).all()
        assert result.pred in clf.labels
        assert result.disagreement == pytest.approx((result.neighbours["label"] != result.pred).mean())
        assert first["mislabel_score"] == pytest.approx(table["mislabel_score"].iloc[sid])


def test_nearest_can_leave_the_sample_itself_out_and_bad_input_is_refused(train_index):
    clf, table, hidden = train_index
    examples = TrainingExamples(hidden, table)
    r = examples.nearest(hidden[10], 4, pred="joy", exclude=10)
    assert 10 not in r.neighbours["sample_id"].tolist() and len(r.neighbours) == 4
    with pytest.raises(ValueError, match="type a text"):
        similar("   ", 3, classifier=clf, examples=examples)
    with pytest.raises(ValueError, match="k must be at least 1"):
        similar("i feel fine", 0, classifier=clf, examples=examples)
    with pytest.raises(ValueError, match="rows"):
        TrainingExamples(hidden[:5], table)


def test_neighbour_disagreement_ranks_planted_flips_high():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 4
    labels = np.repeat(np.arange(3), 100)
    states = (centres[labels] + rng.normal(size=(300, 16))).astype(np.float32)
    noisy = labels.copy()
    flipped = rng.choice(300, size=15, replace=False)
    noisy[flipped] = (noisy[flipped] + 1) % 3
    score = neighbour_disagreement(states, noisy, k=10)
    assert score.shape == (300,) and ((score >= 0) & (score <= 1)).all()
    top = np.argsort(-score, kind="stable")[:15]
    assert len(set(top) & set(flipped)) >= 13  # the flips disagree with almost all their neighbours
    against = neighbour_disagreement(states, noisy, k=10, against=labels)
    assert against[flipped].mean() < score[flipped].mean()
    with pytest.raises(ValueError, match="against"):
        neighbour_disagreement(states, noisy, against=noisy[:3])
