"""The analysis cache key follows the parameters that shape the stored columns (issue 26 item 6)."""

from __future__ import annotations

import shutil

import pytest

from core.analysis import mislabels, table
from core.analysis.cache import AnalysisCache, analysis_digest, analysis_params, cache_key, declaring_modules
from core.analysis.signals import shipped
from tests.core.test_precompute import analyse, small_data  # noqa: F401 - small_data is a fixture


@pytest.fixture
def fresh_params():
    """Clear the memoised parameters before and after a test that edits one."""
    analysis_params.cache_clear()
    yield
    analysis_params.cache_clear()


def test_the_modules_that_shape_stored_columns_declare_their_parameters() -> None:
    found = declaring_modules()
    assert {"core.analysis.table", "core.analysis.mislabels", "core.analysis.cache",
            "core.analysis.signals.shipped"} <= set(found)
    params = analysis_params()
    assert params["core.analysis.mislabels"]["alphas"] == mislabels.ALPHAS
    assert params["core.analysis.table"]["umap"]["epochs"] == table.UMAP_EPOCHS


def test_a_new_module_is_found_by_its_declaration_alone(tmp_path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "signals").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "signals" / "__init__.py").write_text("")
    (pkg / "signals" / "slices.py").write_text("K = 4\nANALYSIS_PARAMS = {'k': K}\n")
    (pkg / "signals" / "typed.py").write_text("ANALYSIS_PARAMS: dict = {'x': 1}\n")
    (pkg / "mentions.py").write_text("# ANALYSIS_PARAMS is only named here\ndef f():\n    ANALYSIS_PARAMS = 1\n")
    assert declaring_modules(pkg, "pkg") == ["pkg.signals.slices", "pkg.signals.typed"]


@pytest.mark.parametrize(("module", "name", "value"), [
    (mislabels, "alphas", {"held-out": 0.5, "in-sample": 0.45, "out-of-fold": 1.0}),  # a ranking weight
    (mislabels, "quality_method", "self_confidence"),
    (table, "loss_clip", 1e-9),
    (shipped, "weights", {**shipped.WEIGHTS, "aum": 2}),  # the shipped ranking of a trained-on split
    (shipped, "signals", {**shipped.ANALYSIS_PARAMS["signals"], "knn": {"k": 20}}),  # a signal's parameter
])
def test_any_parameter_change_is_another_key(monkeypatch, fresh_params, module, name, value) -> None:
    before = cache_key("m", "d", "validation", 512)
    monkeypatch.setitem(module.ANALYSIS_PARAMS, name, value)
    analysis_params.cache_clear()
    assert cache_key("m", "d", "validation", 512) != before


def test_umap_epochs_change_is_another_key(monkeypatch, fresh_params) -> None:
    before = analysis_digest()
    monkeypatch.setitem(table.ANALYSIS_PARAMS, "umap", {**table.ANALYSIS_PARAMS["umap"], "epochs": 500})
    analysis_params.cache_clear()
    assert analysis_digest() != before


def test_a_stale_entry_is_not_served_and_a_stale_published_one_is_refused(
        tiny_model_dir, small_data, tmp_path, monkeypatch, fresh_params) -> None:  # noqa: F811
    cache = tmp_path / "cache"
    first, _ = analyse(tiny_model_dir, small_data, cache)
    old_key = first.analysis.path.name
    monkeypatch.setitem(mislabels.ANALYSIS_PARAMS, "alphas", {"held-out": 0.5, "in-sample": 0.4, "out-of-fold": 1.0})
    analysis_params.cache_clear()
    # a stale analysis published under the new key (as if copied from assets/ or a sync target)
    new_key = cache_key(first.analysis.meta["model_fingerprint"], first.analysis.meta["data_fingerprint"],
                        "validation", first.analysis.meta["max_length"], first.analysis.meta["backend"])
    assert new_key != old_key
    shutil.copytree(cache / "analysis" / old_key, cache / "analysis" / new_key)
    second, _ = analyse(tiny_model_dir, small_data, cache)
    assert not second.reused and second.analysis.path.name == new_key
    assert any("analysis_params" in w for w in second.warnings)
    assert second.analysis.meta["analysis_params"] == analysis_digest() != first.analysis.meta["analysis_params"]
    third, _ = analyse(tiny_model_dir, small_data, cache)
    assert third.reused
    loaded, _ = AnalysisCache(cache).load(new_key, expect={"analysis_params": analysis_digest()})
    assert loaded is not None
    assert loaded.meta["analysis_param_values"]["core.analysis.mislabels"]["alphas"]["held-out"] == 0.5
