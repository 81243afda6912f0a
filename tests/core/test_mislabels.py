"""Known flipped labels surface first; the cleanlab columns agree with cleanlab called directly."""

from __future__ import annotations

import numpy as np
import pytest

from bench.noise.label_noise import CONFUSABLE, flip_labels, ranking_metrics
from core.analysis.mislabels import ALPHA, COLUMNS, QUALITY_METHOD, label_issue_columns, mislabel_score

NAMES = ["a", "b", "c", "d"]


def clustered(n_per: int = 60, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well-separated clusters in 16 dimensions, one per class."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, 16)) * 4
    labels = np.repeat(np.arange(k), n_per)
    return centres[labels] + rng.normal(size=(len(labels), 16)), labels


def out_of_fold_probs(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A real model's out-of-fold probabilities (scikit-learn, 5 folds)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    return cross_val_predict(LogisticRegression(max_iter=1000), features, labels, cv=5, method="predict_proba")


def test_known_flips_surface_first():
    features, labels = clustered()
    noisy, flipped = flip_labels(labels, 4, fraction=0.05, seed=3)
    probs = out_of_fold_probs(features, noisy)
    cols = label_issue_columns(probs, noisy, NAMES, features=features)
    top = np.argsort(-cols["mislabel_score"].to_numpy(), kind="stable")[: flipped.sum()]
    assert set(top) == set(np.flatnonzero(flipped))
    assert ranking_metrics(cols["mislabel_score"].to_numpy(), flipped)["ap"] == 1.0
    # cleanlab flags nearly every flip and few clean rows, and suggests the true class
    issues = cols["is_label_issue"].to_numpy()
    assert issues[flipped].mean() >= 0.9 and issues[~flipped].sum() <= flipped.sum()
    assert (cols["suggested_label"].to_numpy()[flipped] == np.asarray(NAMES)[labels[flipped]]).all()
    # a flipped label scores low on label quality
    assert cols["label_quality"][flipped].max() < cols["label_quality"][~flipped].median()


def test_columns_match_cleanlab_called_directly():
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(4) * 0.7, size=300)
    labels = rng.integers(0, 4, size=300)
    cols = label_issue_columns(probs, labels, NAMES)
    assert list(cols.columns) == list(COLUMNS) and len(cols) == 300
    np.testing.assert_allclose(cols["label_quality"], get_label_quality_scores(labels, probs, method=QUALITY_METHOD))
    np.testing.assert_array_equal(cols["is_label_issue"], find_label_issues(labels, probs))
    assert list(cols["suggested_label"]) == [NAMES[i] for i in probs.argmax(axis=1)]
    sc = get_label_quality_scores(labels, probs, method="self_confidence")
    nm = get_label_quality_scores(labels, probs, method="normalized_margin")
    # the shipped score: the weighted mean of the two cleanlab scores' percentile ranks (scipy's ranks)
    from scipy.stats import rankdata

    n = len(labels)
    np.testing.assert_allclose(cols["mislabel_score"], (1 - ALPHA) * rankdata(-sc) / n + ALPHA * rankdata(-nm) / n)
    assert cols["mislabel_score"].between(0, 1).all()
    assert (cols["dup_group"] == -1).all() and not cols["dup_label_conflict"].any()


def test_shipped_score_spans_loss_and_margin():
    probs = np.array([[0.5, 0.45, 0.05], [0.5, 0.25, 0.25]])
    labels = np.array([0, 0])
    # same p(given): loss ties them, the margin term ranks the close call first
    assert mislabel_score(probs, labels)[0] > mislabel_score(probs, labels)[1]
    loss_like = mislabel_score(probs, labels, alpha=0.0)
    assert loss_like[0] == pytest.approx(loss_like[1])


def test_each_probability_source_has_its_weight():
    from cleanlab.rank import get_label_quality_scores
    from scipy.stats import rankdata

    from core.analysis.mislabels import ALPHAS

    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(3), size=200)
    labels = rng.integers(0, 3, size=200)
    nm = get_label_quality_scores(labels, probs, method="normalized_margin")
    # out-of-fold ranks by normalized_margin alone (weight 1.0), the others mix in the loss
    assert ALPHAS["out-of-fold"] == 1.0
    np.testing.assert_allclose(mislabel_score(probs, labels, source="out-of-fold"), rankdata(-nm) / 200)
    cols = label_issue_columns(probs, labels, NAMES[:3], source="in-sample")
    np.testing.assert_allclose(cols["mislabel_score"], mislabel_score(probs, labels, alpha=ALPHAS["in-sample"]))
    assert not np.allclose(cols["mislabel_score"], mislabel_score(probs, labels, source="held-out"))
    with pytest.raises(ValueError, match="unknown probability source"):
        mislabel_score(probs, labels, source="training")


def test_near_duplicates_with_another_label_conflict():
    from cleanlab import Datalab

    features, labels = clustered(n_per=30, seed=2)
    features[5] = features[4]  # an exact duplicate, relabelled
    labels = labels.copy()
    labels[5] = (labels[4] + 1) % 4
    features[50] = features[40] + 1e-6  # a near duplicate with the same label
    cols = label_issue_columns(np.full((len(labels), 4), 0.25), labels, NAMES, features=features)
    groups, conflict = cols["dup_group"].to_numpy(), cols["dup_label_conflict"].to_numpy()
    assert groups[4] == groups[5] >= 0 and conflict[4] and conflict[5]
    assert groups[40] == groups[50] >= 0 and groups[40] != groups[4] and not conflict[40] and not conflict[50]
    # the groups are exactly Datalab's near-duplicate sets
    lab = Datalab(data={"label": labels.tolist()}, label_name="label", verbosity=0)
    lab.find_issues(features=features.astype(np.float32), issue_types={"near_duplicate": {}})
    flagged = lab.get_issues("near_duplicate")["is_near_duplicate_issue"].to_numpy()
    np.testing.assert_array_equal(groups >= 0, flagged)


@pytest.mark.slow  # pynndescent's numba functions compile on first use: about 30 s on 2 cores, whatever the rows
def test_past_the_exact_limit_an_approximate_knn_graph_finds_the_same_near_duplicates(monkeypatch):
    from core.analysis import mislabels

    features, labels = clustered(n_per=150, seed=3)
    rng = np.random.default_rng(4)
    planted = rng.choice(len(labels), size=40, replace=False)
    features[planted[20:]] = features[planted[:20]] + rng.normal(0, 1e-4, (20, features.shape[1]))
    exact = mislabels.near_duplicates(features, labels)
    monkeypatch.setattr(mislabels, "EXACT_NEIGHBOURS_MAX", 100)  # this split is past it now
    graph = mislabels.approximate_knn_graph(features, 10)
    assert graph.shape == (len(labels), len(labels)) and (graph.getnnz(axis=1) == 10).all()
    assert not graph.diagonal().any() and (np.diff(graph.data.reshape(-1, 10), axis=1) >= 0).all()
    approx = mislabels.near_duplicates(features, labels)
    assert (exact[0][planted] >= 0).all()
    np.testing.assert_array_equal(approx[0] >= 0, exact[0] >= 0)
    np.testing.assert_array_equal(approx[1], exact[1])


def test_bad_input_gets_a_clear_message():
    with pytest.raises(ValueError, match="probs must be"):
        label_issue_columns(np.ones((3, 2)) / 2, np.array([0, 1]), ["x", "y"])
    with pytest.raises(ValueError, match="label names"):
        label_issue_columns(np.ones((2, 2)) / 2, np.array([0, 1]), ["x", "y", "z"])
    with pytest.raises(ValueError, match="integer ids"):
        label_issue_columns(np.ones((2, 2)) / 2, np.array([0, 2]), ["x", "y"])
    assert list(label_issue_columns(np.zeros((0, 2)), np.zeros(0, dtype=int), ["x", "y"]).columns) == list(COLUMNS)


def test_noise_kinds_flip_the_promised_share_to_the_promised_classes():
    labels = np.repeat(np.arange(6), 200)
    for kind in ("uniform", "confusable"):
        noisy, flipped = flip_labels(labels, 6, fraction=0.1, seed=7, kind=kind)
        assert flipped.sum() == 120 and (noisy[flipped] != labels[flipped]).all()
        assert (noisy[~flipped] == labels[~flipped]).all()
    noisy, flipped = flip_labels(labels, 6, fraction=0.2, seed=8, kind="confusable")
    assert (CONFUSABLE[labels[flipped], noisy[flipped]] > 0).all()
    np.testing.assert_allclose(CONFUSABLE.sum(axis=1), 1.0)
    assert (np.diag(CONFUSABLE) == 0).all()
    with pytest.raises(ValueError, match="unknown noise kind"):
        flip_labels(labels, 6, fraction=0.1, seed=0, kind="adversarial")
