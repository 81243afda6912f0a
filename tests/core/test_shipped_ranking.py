"""The stored ranking is the shown ranking: a split the model trained on stores the shipped ranking
(core.analysis.signals.shipped) in its cached analysis, and the CLI, the Python API and the app's
service give the same ``mislabel_score``; a held-out split keeps the cleanlab held-out ranking."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from core.analysis.signals.shipped import SIGNAL_NAMES, WEIGHTS, shipped_score
from tests.conftest import REPO, tiny_service, write_split_lines

ROWS = 200


@pytest.fixture(scope="module")
def train_data(tmp_path_factory):
    return write_split_lines(tmp_path_factory.mktemp("shipped-data"), "train", ROWS)


@pytest.fixture(scope="module")
def train_service(tiny_model_dir, tmp_path_factory):
    return tiny_service(tiny_model_dir, tmp_path_factory, "shipped-train", ROWS, split="train")


def _cli_table(model, data, cache):
    from core.analysis.cache import AnalysisCache

    done = subprocess.run([sys.executable, "-m", "core.analysis.precompute", "--model", str(model), "--data", str(data),
                           "--split", "train", "--cache-dir", str(cache)], cwd=REPO, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr
    (entry,) = AnalysisCache(cache).root.iterdir()
    cached, why = AnalysisCache(cache).load(entry.name, expect={"split": "train"})
    assert cached is not None, why
    return cached.table


@pytest.mark.slow  # three analyses of the split, each computing the signals afresh (minutes on 2 cores)
def test_cli_python_api_and_service_store_and_show_the_same_shipped_ranking(tiny_model_dir, train_data,
                                                                           train_service, tmp_path):
    import core

    data = core.load_splits(str(train_data), splits=("train",))
    # the backend the app and the CLI default to (the [CLS] states, and so the neighbour signal, follow it)
    clf = core.load_classifier(str(tiny_model_dir), data_labels=data.label_names, backend=core.Settings().backend)
    api = core.analyse_split(clf, data, "train", cache_dir=tmp_path / "api", show_progress=False).analysis
    cli = _cli_table(tiny_model_dir, train_data, tmp_path / "cli")  # each computed afresh, in its own cache
    shown = train_service.analyses.ranked("train")  # the app's default ranking of the split
    assert api.meta["ranking"] == "shipped" and "signals" in api.meta["stage_seconds"]
    assert set(WEIGHTS) <= set(api.table.columns)
    expected = shipped_score(api.table)
    assert np.array_equal(api.table["mislabel_score"].to_numpy(), expected)
    assert np.array_equal(cli["mislabel_score"].to_numpy(), expected)
    assert np.array_equal(shown["mislabel_score"].to_numpy(), expected)
    assert shown is train_service.analysis("train").table  # no re-rank on first use
    queue = train_service.review_queue("train")
    order = np.argsort(-expected, kind="stable")
    assert queue.index.tolist() == order.tolist() and queue.attrs["rank_by"] == "mislabel_score"
    assert train_service.analyses.sample(int(order[0]), "train")["mislabel_score"] == expected[order[0]]


def test_a_held_out_split_keeps_the_cleanlab_held_out_ranking(tiny_model_dir, tmp_path_factory):
    from core.analysis.mislabels import mislabel_score
    from core.analysis.table import probs_of

    service = tiny_service(tiny_model_dir, tmp_path_factory, "shipped-validation", 60)
    a = service.analysis("validation")
    ids = np.array([a.labels.index(x) for x in a.table["label"]])
    assert a.meta["ranking"] == "held-out" and "signals" not in a.meta["stage_seconds"]
    assert not set(WEIGHTS) & set(a.table.columns)
    assert np.allclose(a.table["mislabel_score"], mislabel_score(probs_of(a.table, a.labels), ids, source="held-out"))
    assert not any(o.startswith("signal: ") for o in service.analyses.orders("validation"))


def test_every_kept_signal_is_a_ranking_choice_of_the_trained_on_split(train_service):
    from dashboard.tabs.losses import order_update
    from dashboard.tabs.review import rank_update

    orders = train_service.analyses.orders("train")
    wanted = [f"signal: {SIGNAL_NAMES[c]}" for c in WEIGHTS]
    assert set(wanted) <= set(orders) and "most suspicious" in orders
    table = train_service.analysis("train").table
    for name, col in zip(wanted, WEIGHTS, strict=True):
        listed = train_service.analyses.samples("train", order=name)
        assert np.array_equal(listed[col].to_numpy(), np.sort(table[col].to_numpy())[::-1]), name
        queue = train_service.review_queue("train", rank_by=name)
        assert queue.attrs["rank_by"] == col and queue[col].is_monotonic_decreasing
    for update in (order_update(train_service, "train", wanted[0]), rank_update(train_service, "train", wanted[0])):
        assert [c[1] if isinstance(c, tuple) else c for c in update.choices] == orders  # Losses order, Review rank-by
        assert update.value == wanted[0]
    with pytest.raises(core_input_error()):
        train_service.review_queue("train", rank_by="signal: no such thing")


def core_input_error():
    from core.data.text_input import InputError

    return InputError
