"""The app serves cached analyses before its model has loaded (``core.classifier.pending_model``)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from core.classifier.model import ModelError, load_classifier
from core.classifier.pending_model import PendingClassifier, pending_classifier
from core.services.emotion import EmotionService
from core.settings import Settings
from tests.conftest import LABELS, write_split_lines


@pytest.fixture(scope="module")
def settings(tiny_model_dir, tmp_path_factory) -> Settings:
    """Settings whose validation analysis is already cached (one ordinary load first)."""
    folder = write_split_lines(tmp_path_factory.mktemp("deferred-data"), "validation", 60)
    settings = Settings(model=str(tiny_model_dir), data=str(folder),
                        cache_dir=tmp_path_factory.mktemp("deferred-cache"),
                        review_db=str(tmp_path_factory.mktemp("deferred-db") / "reviews.sqlite"))
    EmotionService.load(settings, show_progress=False)
    return settings


def test_a_cached_analysis_is_served_and_the_ui_built_without_loading_the_model(settings):
    from dashboard.app import build_app

    eager = EmotionService.load(settings, show_progress=False)
    service = EmotionService.load(settings, show_progress=False, defer_model=True)
    pending = service.classifier
    assert isinstance(pending, PendingClassifier) and not pending.is_loaded
    assert service.table.equals(eager.table)
    build_app(service)
    service.sample(0)
    assert not pending.is_loaded, "building the UI or reading a sample loaded the model"
    notes = service.finish_loading()
    assert pending.is_loaded and notes == [eager.classifier.backend_note]
    text = service.table["text"].iloc[0]
    got, want = service.classify_one(text).probs, eager.classify_one(text).probs
    assert got.keys() == want.keys() and np.allclose([got[k] for k in want], list(want.values()), atol=1e-6)


def test_without_a_cached_analysis_the_deferred_model_loads_and_computes_it(settings, tmp_path):
    fresh = dataclasses.replace(settings, cache_dir=tmp_path / "empty-cache")
    service = EmotionService.load(fresh, show_progress=False, defer_model=True)
    assert service.classifier.is_loaded
    assert len(service.table) == 60 and (tmp_path / "empty-cache" / "analysis").is_dir()


@pytest.mark.parametrize("generic", [False, True], ids=["named labels", "LABEL_i config"])
def test_pending_facts_equal_the_loaded_classifiers(tiny_model_dir, tmp_path, generic):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    if generic:
        config = json.loads((model / "config.json").read_text())
        config["id2label"] = {str(i): f"LABEL_{i}" for i in range(len(LABELS))}
        config["label2id"] = {f"LABEL_{i}": i for i in range(len(LABELS))}
        (model / "config.json").write_text(json.dumps(config))
    data_labels = list(reversed(LABELS)) if generic else LABELS[:3]
    pending = pending_classifier(model, data_labels=data_labels, max_length=4096, backend="auto", cache_dir=tmp_path)
    loaded = load_classifier(model, data_labels=data_labels, max_length=4096, backend="auto", cache_dir=tmp_path)
    assert pending.labels == loaded.labels == (data_labels if generic else LABELS)
    assert pending.max_length == loaded.max_length == 128  # the tiny model's position embeddings
    assert pending.fingerprint == loaded.fingerprint
    assert pending.backend_name == loaded.backend_name


def test_bad_folders_fail_before_any_loading_and_bad_weights_when_loading(tiny_model_dir, tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        pending_classifier(tmp_path / "missing")
    with pytest.raises(ModelError, match="unknown backend"):
        pending_classifier(tiny_model_dir, backend="tpu")
    with pytest.raises(ModelError, match="disagree"):
        pending_classifier(tiny_model_dir, data_labels=["joy", "boredom"])
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    pending = pending_classifier(model, data_labels=LABELS)
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated after the facts were read
    with pytest.raises(ModelError, match="could not load"):
        pending.loaded()
    assert not pending.is_loaded


def test_weights_that_break_after_the_start_are_reported_in_the_live_view(settings, tmp_path, caplog):
    """The page is served before the weights load; when they turn out unreadable, the live prediction says so in
    its notes box (and the server log has the traceback) instead of staying silently empty."""
    from types import SimpleNamespace

    from dashboard.tabs.live import LiveHandlers

    model = tmp_path / "model"
    shutil.copytree(settings.model, model)  # same content: the cached analysis applies
    service = EmotionService.load(dataclasses.replace(settings, model=str(model)), show_progress=False,
                                  defer_model=True)
    assert not service.classifier.is_loaded
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated while the page was served
    with caplog.at_level("ERROR", logger="dashboard.tabs.live"):
        label, bars, notes = LiveHandlers(service).live_classify("i feel happy", SimpleNamespace(session_hash="s"))
    assert label is None and bars is None
    assert notes.visible is True
    assert notes.value.startswith("The prediction failed: ModelError: ") and "could not load" in notes.value
    assert any(r.exc_info and "could not load" in str(r.exc_info[1]) for r in caplog.records)
