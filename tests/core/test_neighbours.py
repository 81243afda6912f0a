"""Exact cosine neighbours (core.analysis.neighbours): against scikit-learn, shared by UMAP and Datalab."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.neighbours import exact_cosine_knn, others_graph
from tests.core.test_mislabels import clustered


def test_neighbours_are_scikit_learns_exact_ones():
    from sklearn.neighbors import NearestNeighbors

    x = np.random.default_rng(0).normal(size=(700, 24)).astype(np.float32)
    idx, dist = exact_cosine_knn(x, 12)
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=12, metric="cosine", algorithm="brute").fit(x).kneighbors(x)
    assert idx.shape == dist.shape == (700, 12) and idx.dtype == np.int32
    assert (idx[:, 0] == np.arange(700)).all() and (dist[:, 0] == 0).all()  # itself first
    assert (np.diff(dist, axis=1) >= 0).all()
    np.testing.assert_allclose(dist, ref_dist, atol=1e-5)
    np.testing.assert_array_equal(idx, ref_idx)  # random data: no ties


def test_ties_go_to_the_lower_row_and_blocks_do_not_matter(monkeypatch):
    from core.analysis import neighbours

    x = np.random.default_rng(1).normal(size=(200, 8)).astype(np.float32)
    x[150] = x[40] * 3.0  # same direction: cosine distance 0 to row 40
    x[199] = x[40]
    whole = exact_cosine_knn(x, 5)
    assert whole[0][40][:3].tolist() == [40, 150, 199]  # itself, then ties by index
    assert whole[0][199][:3].tolist() == [40, 150, 199]  # a tie with itself too: by index, as umap-learn does
    monkeypatch.setattr(neighbours, "BLOCK_VALUES", 200 * 7)  # 7 rows per block
    blocked = exact_cosine_knn(x, 5)
    np.testing.assert_array_equal(blocked[0], whole[0])
    np.testing.assert_allclose(blocked[1], whole[1], atol=1e-6)


def test_zero_vectors_and_bad_k():
    x = np.zeros((4, 3), dtype=np.float32)
    x[0] = [1, 0, 0]
    idx, dist = exact_cosine_knn(x, 2)
    assert np.isfinite(dist).all() and (idx[:, 0] == np.arange(4)).all()
    with pytest.raises(ValueError, match="k must be between 1"):
        exact_cosine_knn(x, 5)


def test_others_graph_drops_each_row_itself():
    x = np.random.default_rng(2).normal(size=(60, 6)).astype(np.float32)
    x[59] = x[3]
    graph = others_graph(*exact_cosine_knn(x, 6), 5)
    assert graph.shape == (60, 60) and (graph.getnnz(axis=1) == 5).all()
    assert not graph.diagonal().any()
    assert graph[3, 59] == 0 and 59 in graph[3].indices  # the duplicate is kept, at distance 0
    with pytest.raises(ValueError, match="at least 6 neighbours"):
        others_graph(*exact_cosine_knn(x, 5), 5)


def test_datalab_finds_the_same_near_duplicates_as_from_the_features_themselves():
    from cleanlab import Datalab

    from core.analysis import mislabels

    features, labels = clustered(n_per=150, seed=3)
    rng = np.random.default_rng(4)
    planted = rng.choice(len(labels), size=40, replace=False)
    features[planted[20:]] = features[planted[:20]] + rng.normal(0, 1e-4, (20, features.shape[1]))

    def sets(**given):
        lab = Datalab(data={"label": labels.tolist()}, label_name="label", verbosity=0)
        lab.find_issues(**given, issue_types={"near_duplicate": {"k": 10}})
        issues = lab.get_issues("near_duplicate")
        return issues["is_near_duplicate_issue"].to_numpy(), [sorted(s) for s in issues["near_duplicate_sets"]]

    theirs = sets(features=features.astype(np.float32))  # Datalab's own (scikit-learn) neighbours
    ours = sets(knn_graph=others_graph(*exact_cosine_knn(features, 11), 10))
    np.testing.assert_array_equal(ours[0], theirs[0])
    assert ours[1] == theirs[1] and theirs[0][planted].all()
    # neighbours handed in give the same answer as neighbours found inside
    inside = mislabels.near_duplicates(features, labels)
    shared = mislabels.near_duplicates(features, labels, knn=exact_cosine_knn(features, 15))
    assert (inside[0][planted] >= 0).all()
    np.testing.assert_array_equal(shared[0], inside[0])
    np.testing.assert_array_equal(shared[1], inside[1])


def test_umap_past_the_distance_matrix_uses_exact_neighbours(monkeypatch):
    from core.analysis import table as analysis

    features, _ = clustered(n_per=60, seed=5)
    monkeypatch.setattr(analysis, "UMAP_EXACT_MAX", 100)  # this input takes the neighbours path now
    inside = analysis.umap_2d(features)
    given = analysis.umap_2d(features, knn=exact_cosine_knn(features, 15))
    assert inside.shape == (len(features), 2) and np.isfinite(inside).all()
    np.testing.assert_array_equal(inside, given)  # seeded: the same neighbours give the same map


def test_the_analysis_finds_neighbours_once_for_the_map_and_the_duplicates(tiny_model_dir, monkeypatch):
    from core.analysis import table as analysis
    from core.analysis.mislabels import label_issue_columns
    from core.classifier.model import load_classifier

    clf = load_classifier(tiny_model_dir)
    rng = np.random.default_rng(6)
    words = ["happy", "sad", "angry", "scared", "loved", "surprised", "today", "very", "feel", "so"]
    texts = [" ".join(rng.choice(words, size=rng.integers(2, 7))) for _ in range(120)]
    labels = rng.integers(0, len(clf.labels), size=len(texts))
    monkeypatch.setattr(analysis, "UMAP_EXACT_MAX", 50)  # 120 rows now take the shared-neighbours path
    result = analysis.compute_analysis(clf, texts, labels)
    assert "neighbours" in result.stages
    alone = label_issue_columns(result.table[[f"prob_{x}" for x in clf.labels]].to_numpy(), labels,
                                list(clf.labels), features=result.hidden)
    np.testing.assert_array_equal(result.table["dup_group"].to_numpy(), alone["dup_group"].to_numpy())
    np.testing.assert_array_equal(result.table[["umap_x", "umap_y"]].to_numpy(),
                                  analysis.umap_2d(result.hidden).astype(np.float32))


def test_umap_kernels_are_cached_on_disk_and_the_map_is_unchanged():
    import numba
    import umap.layouts

    from core.analysis.table import cache_umap_kernels, umap_2d

    hidden = np.random.default_rng(3).normal(size=(40, 8)).astype(np.float32)
    before = umap_2d(hidden)
    assert cache_umap_kernels() > 0
    kernels = [v for v in vars(umap.layouts).values() if isinstance(v, numba.core.registry.CPUDispatcher)]
    assert kernels and all(type(k._cache).__name__ != "NullCache" for k in kernels)
    assert np.array_equal(umap_2d(hidden), before)
