"""Error slices (core.analysis.slices): a planted slice (a marker word in a random 5% of the real
validation rows, labels flipped) comes out first with the real model; the ranking and its correction
on small hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.analysis.slices import SLICE_COLUMNS, find_slices, plant_marker
from tests.conftest import EMOTION, LABELS, MINILM, needs_emotion, needs_minilm


@needs_emotion
@needs_minilm
def test_the_planted_slice_comes_out_first_with_the_real_model():
    from core.analysis.slices import _planted_table
    from core.classifier.model import load_classifier
    from core.data.splits import load_splits

    data = load_splits(EMOTION, splits=("validation",))
    clf = load_classifier(MINILM, data_labels=data.label_names)
    texts, ids = data["validation"].texts[:600], data["validation"].labels[:600]
    texts, flipped, planted = plant_marker(texts, ids, len(clf.labels), marker="zebrafish", share=0.05, seed=3)
    assert len(planted) == 30 and (flipped[planted] != ids[planted]).all()
    assert (np.delete(flipped, planted) == np.delete(ids, planted)).all()
    table, hidden = _planted_table(clf, texts, flipped, 64)
    slices = find_slices(table, hidden, clf.labels, min_size=20, seed=0)
    first = slices.iloc[0]
    assert first["sample_ids"] == planted.tolist() and first["feature"] == "zebrafish"
    assert first["significant"] and first["accuracy"] < 0.2 and first["gap"] > 0.7
    assert slices["p_adjusted"].is_monotonic_increasing


def _table(n: int, wrong_rows: np.ndarray, texts: list[str]) -> pd.DataFrame:
    labels = np.array(LABELS, dtype=object)[np.arange(n) % 6]
    preds = labels.copy()
    preds[wrong_rows] = np.array(LABELS, dtype=object)[(np.arange(n)[wrong_rows] + 1) % 6]
    return pd.DataFrame({"text": texts, "label": labels, "pred": preds})


def test_a_word_with_many_errors_ranks_first_and_columns_are_complete():
    rng = np.random.default_rng(0)
    n = 400
    texts = [f"i feel {'gloomy' if i < 40 else 'fine'} about {rng.choice(['work', 'home', 'school'])} today"
             for i in range(n)]
    wrong = np.concatenate([np.arange(0, 40, 2), rng.choice(np.arange(40, n), size=20, replace=False)])
    slices = find_slices(_table(n, wrong, texts), None, LABELS, min_size=20)
    assert tuple(slices.columns) == SLICE_COLUMNS
    top = slices.iloc[0]
    assert top["feature"] == "gloomy" and top["size"] == 40 and top["accuracy"] == 0.5
    assert top["rest_accuracy"] == pytest.approx(1 - 20 / 360, abs=1e-4) and top["significant"]
    assert (slices["p_adjusted"] >= slices["p_value"] - 1e-12).all()  # corrected for the slices tried
    # "feel gloomy" and "gloomy about" hold the same 40 rows as "gloomy": one of them is kept
    same = slices[slices["sample_ids"].map(lambda s: s == list(range(40)))]
    assert len(same) == 1


def test_errors_spread_at_random_give_no_significant_slice():
    rng = np.random.default_rng(1)
    n = 600
    words = [f"w{i}" for i in range(20)]
    texts = [" ".join(rng.choice(words, size=rng.integers(3, 12))) for _ in range(n)]
    hidden = rng.normal(size=(n, 8))
    slices = find_slices(_table(n, rng.choice(n, size=60, replace=False), texts), hidden, LABELS, min_size=20)
    assert len(slices) > 10 and not slices["significant"].any()
    assert set(slices["kind"]) >= {"cluster", "word", "length"}
    with pytest.raises(ValueError, match="alpha"):
        find_slices(_table(n, np.arange(3), texts), None, LABELS, alpha=1.5)
