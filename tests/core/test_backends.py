"""Inference backends: the same answers as PyTorch fp32 within their tolerance, cached exports, one-line fallbacks.

Real tiny models (the session's tiny BERT with the DistilBERT tokenizer, and a tiny DistilBERT built
here), real ONNX exports and ONNX Runtime sessions in temporary folders.
"""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from core.classifier.backends import (
    FP32_TOLERANCE,
    REDUCED_TOLERANCE,
    TorchBackend,
    check_backend,
    load_backend,
    resolve,
)
from core.classifier.model import ModelError, load_classifier
from tests.conftest import LABELS

TEXTS = [
    "i feel so happy today",
    "my brother broke my phone and i am furious about it, and then he laughed at me",
    "ok",
    "i am scared",
]


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "core.classifier.backends" and r.levelno >= logging.WARNING]


@pytest.fixture(scope="module")
def tiny_distilbert_dir(tmp_path_factory, tiny_model_dir):
    """A tiny random DistilBERT classifier (2 layers, dim 32) with the tiny BERT's tokenizer."""
    import torch
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    torch.manual_seed(1)
    config = transformers.DistilBertConfig(vocab_size=tok.vocab_size, dim=32, n_layers=2, n_heads=2, hidden_dim=37,
                                           max_position_embeddings=128, initializer_range=0.2,
                                           num_labels=len(LABELS), id2label=dict(enumerate(LABELS)))
    out = tmp_path_factory.mktemp("tiny-distilbert")
    transformers.DistilBertForSequenceClassification(config).eval().save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def export_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("backend-cache")


def test_torch_backend_is_the_plain_model(tiny_model_dir):
    import torch

    clf = load_classifier(tiny_model_dir)
    assert clf.backend.name == "torch" and clf.backend.model is clf.model
    enc = clf.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        want = torch.softmax(clf.model(**enc).logits, dim=-1).numpy()
    np.testing.assert_allclose(clf.predict(TEXTS).probs, want, atol=1e-6)


@pytest.mark.parametrize("which", ["bert", "distilbert"])
def test_onnx_matches_torch_and_reuses_its_cached_export(which, tiny_model_dir, tiny_distilbert_dir, export_cache,
                                                         caplog):
    caplog.set_level(logging.INFO, logger="core.classifier.backends")
    model_dir = tiny_model_dir if which == "bert" else tiny_distilbert_dir
    torch_clf = load_classifier(model_dir)
    clf = load_classifier(model_dir, backend="onnx", cache_dir=export_cache)
    assert clf.backend.name == "onnx", clf.backend_note
    assert not clf.backend.cached  # exported now (export.json records how long it took)
    assert not _warnings(caplog)
    a, b = clf.predict(TEXTS, with_hidden=True), torch_clf.predict(TEXTS, with_hidden=True)
    np.testing.assert_allclose(a.probs, b.probs, atol=FP32_TOLERANCE)
    np.testing.assert_allclose(a.hidden, b.hidden, atol=1e-4)
    graph = clf.backend.path
    assert graph.parent.name == f"{clf.fingerprint}-onnx" and (graph.parent / "export.json").is_file()
    stamp = graph.stat().st_mtime_ns

    again = load_classifier(model_dir, backend="onnx", cache_dir=export_cache)
    assert again.backend.cached  # reused, not exported again
    assert again.backend.path == graph and graph.stat().st_mtime_ns == stamp  # not exported a second time
    np.testing.assert_allclose(again.predict(TEXTS).probs, a.probs, atol=1e-7)


def test_bf16_stays_within_the_reduced_tolerance(tiny_model_dir):
    clf = load_classifier(tiny_model_dir, backend="torch-bf16")
    assert clf.backend.name == "torch-bf16", clf.backend_note
    assert clf.backend.model is not clf.model  # bf16 weights live in a copy; the fp32 model is untouched
    assert next(clf.model.parameters()).dtype.is_floating_point and str(next(clf.model.parameters()).dtype) == \
        "torch.float32"
    result = check_backend(clf.backend, TorchBackend(clf.model), clf.tokenizer)
    assert result.same_class and 0 < result.max_prob_diff <= REDUCED_TOLERANCE  # reduced precision, not fp32


def test_missing_package_falls_back_to_torch_with_one_line(tiny_model_dir, tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if onnxruntime were not installed
    caplog.set_level(logging.INFO, logger="core.classifier.backends")
    clf = load_classifier(tiny_model_dir, backend="onnx", cache_dir=tmp_path)
    assert clf.backend.name == "torch"
    lines = _warnings(caplog)
    assert len(lines) == 1 and "backend onnx unavailable, using torch" in lines[0] and "onnxruntime" in lines[0]
    assert clf.backend_note == lines[0]
    assert not (tmp_path / "backends").exists()


def test_static_int8_without_calibration_texts_falls_back(tiny_model_dir, export_cache, caplog):
    caplog.set_level(logging.INFO, logger="core.classifier.backends")
    clf = load_classifier(tiny_model_dir, backend="onnx-int8-static", cache_dir=export_cache)
    assert clf.backend.name == "torch"
    lines = _warnings(caplog)
    assert len(lines) == 1 and "calibration texts" in lines[0]


def test_a_graph_that_disagrees_fails_its_check(tiny_model_dir, tiny_distilbert_dir, export_cache, tmp_path, caplog):
    """A stale cache entry (another model's graph under this fingerprint) is caught by the probe check."""
    import shutil

    other = load_classifier(tiny_distilbert_dir, backend="onnx", cache_dir=export_cache)  # the module's export
    assert other.backend.name == "onnx"
    mine = load_classifier(tiny_model_dir)
    stale = tmp_path / "backends" / f"{mine.fingerprint}-onnx"
    shutil.copytree(other.backend.path.parent, stale)
    caplog.set_level(logging.INFO, logger="core.classifier.backends")
    backend, note = load_backend("onnx", mine.model, mine.tokenizer, cache_dir=tmp_path, fingerprint=mine.fingerprint)
    assert backend.name == "torch" and backend.model is mine.model
    lines = _warnings(caplog)
    assert len(lines) == 1 and lines[0] == note and "failed its check" in note and "tolerance 0.0001" in note


def test_unknown_backend_is_an_error(tiny_model_dir):
    with pytest.raises(ModelError, match="unknown backend 'onxx'"):
        load_classifier(tiny_model_dir, backend="onxx")
    with pytest.raises(ValueError, match="choose one of auto, torch, torch-bf16, onnx"):
        load_backend("onxx", None, None, cache_dir=None, fingerprint="")


@pytest.mark.parametrize(("flags", "want"), [
    ({"avx512f", "avx512_bf16"}, "torch-bf16"),
    ({"amx_bf16", "sse2"}, "torch-bf16"),
    ({"avx512f", "avx512_vnni"}, "torch"),
    (set(), "torch"),
])
def test_auto_picks_bf16_only_where_the_cpu_multiplies_it_natively(flags, want):
    name, why = resolve("auto", flags)
    assert name == want and why.startswith("auto: ")
    assert resolve("onnx", flags) == ("onnx", "")  # a named backend is taken as named


def test_auto_is_the_default_and_says_what_it_chose(tiny_model_dir, caplog):
    from core.settings import Settings

    assert Settings().backend == "auto"
    caplog.set_level(logging.INFO, logger="core.classifier.backends")
    clf = load_classifier(tiny_model_dir)  # load_classifier's own default stays PyTorch fp32
    assert clf.backend.name == "torch"
    auto = load_classifier(tiny_model_dir, backend="auto")
    assert auto.backend.name == resolve("auto")[0]
    assert resolve("auto")[1] in auto.backend_note
    probs = auto.predict(TEXTS).probs
    want = clf.predict(TEXTS).probs
    tol = FP32_TOLERANCE if auto.backend.name == "torch" else REDUCED_TOLERANCE
    assert np.abs(probs - want).max() <= tol and (probs.argmax(1) == want.argmax(1)).all()


def test_explainer_runs_its_evaluations_on_the_classifiers_backend(tiny_model_dir, export_cache):
    from core.explanation.explain import TokenShapExplainer

    onnx_clf = load_classifier(tiny_model_dir, backend="onnx", cache_dir=export_cache)
    torch_clf = load_classifier(tiny_model_dir)
    on_onnx = TokenShapExplainer(onnx_clf.model, onnx_clf.tokenizer, onnx_clf.labels)
    assert on_onnx.backend is onnx_clf.backend  # found through the model, as the service builds it
    on_torch = TokenShapExplainer(torch_clf.model, torch_clf.tokenizer, torch_clf.labels)
    assert on_torch.backend.name == "torch"
    for text in TEXTS[:2]:
        a, b = on_onnx.explain(text), on_torch.explain(text)
        assert a.tokens == b.tokens and a.n_evals == b.n_evals
        np.testing.assert_allclose(a.values, b.values, atol=1e-5)


@pytest.mark.slow
def test_bench_backends_quick_smoke():
    """``bench/speed/backends.py --quick``: torch and onnx on emotion-minilm, each in its own process (the driver
    in this one: it only starts them and reads their JSON)."""
    from tests.bench.test_bench_smoke import run_quick
    from tests.conftest import EMOTION, MINILM

    if not (MINILM / "model.safetensors").is_file() or not EMOTION.is_dir():
        pytest.skip("../shared/models/emotion-minilm or ../shared/emotion is absent")
    report = run_quick("speed/backends.py", in_process=True)
    assert report["bench"] == "backends" and report["rows"] == 32 and report["texts"] == 1
    torch_side, onnx_side = report["backends"]["torch"]["minilm"], report["backends"]["onnx"]["minilm"]
    assert torch_side["same_label_as_torch"] == 1.0 and torch_side["max_prob_diff_vs_torch"] == 0.0
    assert torch_side["export_s"] == 0 and onnx_side["export_s"] > 0  # the export ran, in an empty cache
    assert onnx_side["check_ok"] and onnx_side["probe_max_prob_diff"] <= 1e-4
    assert onnx_side["same_label_as_torch"] == 1.0 and onnx_side["max_prob_diff_vs_torch"] <= 1e-4
    assert onnx_side["accuracy"] == torch_side["accuracy"] and onnx_side["weighted_f1"] == torch_side["weighted_f1"]
    for side in (torch_side, onnx_side):
        assert 0.5 < side["accuracy"] <= 1.0  # a fine-tuned model on its own validation rows
        assert side["spearman_mean"] >= 0.6 and side["top_token_agreement"] == 1.0, side
    assert all(report["backends"][b]["peak_rss_mb"] > 100 for b in ("torch", "onnx"))


@pytest.mark.slow
def test_bench_backends_interleaved_reference_quick_smoke():
    """``--quick --interleaved --reference``: the reference explainer timed beside the backend, text by text."""
    from tests.bench.test_bench_smoke import run_quick
    from tests.conftest import EMOTION, MINILM

    if not (MINILM / "model.safetensors").is_file() or not EMOTION.is_dir():
        pytest.skip("../shared/models/emotion-minilm or ../shared/emotion is absent")
    # in this process: the interleaved mode times everything in the one process it runs in anyway
    report = run_quick("speed/backends.py", "--interleaved", "--reference", "--backends", "torch", in_process=True)
    assert report["mode"] == "interleaved" and report["texts"] == 1
    ref = report["reference_explain_distilbert"]
    assert len(ref["seconds"]) == 1 and ref["p50_s"] > 0
    side = report["backends"]["torch"]["distilbert"]
    assert side["explain_speedup_vs_reference"] == pytest.approx(ref["p50_s"] / side["explain_p50_s"], rel=0.01)
    assert side["explain_speedup_per_text_median"] > 0
