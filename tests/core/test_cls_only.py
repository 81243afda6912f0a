"""Last layer at [CLS] only: same logits and [CLS] state, and untouched models it does not fit."""

from __future__ import annotations

import numpy as np
import pytest

from core.classifier.cls_only import restrict_last_layer_to_cls
from tests.conftest import DISTILBERT, LABELS

TEXTS = [
    "i feel so happy today",
    "my brother broke my phone and i am furious about it, and then he laughed at me",
    "ok",
]


@pytest.fixture(scope="module")
def tokenizer():
    if not (DISTILBERT / "vocab.txt").is_file():
        pytest.skip("../shared/models/distilbert-base-uncased is absent (tokenizer for the tiny models)")
    import transformers

    return transformers.AutoTokenizer.from_pretrained(DISTILBERT)


def _tiny(kind: str, vocab_size: int):
    import torch
    import transformers

    labels = {"num_labels": len(LABELS), "id2label": dict(enumerate(LABELS))}
    torch.manual_seed(0)
    if kind == "bert":
        config = transformers.BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, intermediate_size=37, initializer_range=0.2,
                                         **labels)
        return transformers.BertForSequenceClassification(config).eval()
    if kind == "roberta":  # head reads <s>, position 0, through RobertaClassificationHead
        config = transformers.RobertaConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                                            num_attention_heads=2, intermediate_size=37, initializer_range=0.2,
                                            pad_token_id=0, **labels)
        return transformers.RobertaForSequenceClassification(config).eval()
    if kind == "electra":  # head reads position 0 through ElectraClassificationHead
        config = transformers.ElectraConfig(vocab_size=vocab_size, embedding_size=16, hidden_size=32,
                                            num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                                            initializer_range=0.2, **labels)
        return transformers.ElectraForSequenceClassification(config).eval()
    if kind == "distilbert":
        config = transformers.DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=2, n_heads=2,
                                               hidden_dim=37, initializer_range=0.2, **labels)
        return transformers.DistilBertForSequenceClassification(config).eval()
    if kind == "mobilebert":
        config = transformers.MobileBertConfig(vocab_size=vocab_size, hidden_size=32, embedding_size=16,
                                               num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                                               intra_bottleneck_size=16, true_hidden_size=16, **labels)
        return transformers.MobileBertForSequenceClassification(config).eval()
    config = transformers.GPT2Config(vocab_size=vocab_size, n_embd=32, n_layer=2, n_head=2, pad_token_id=0,
                                     **labels)
    return transformers.GPT2ForSequenceClassification(config).eval()


def _run(model, tokenizer):
    import torch

    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = model(**batch, output_hidden_states=True)
    return out.logits.clone(), out.hidden_states[-1][:, 0].clone(), out.hidden_states[-1].shape[1]


def _assert_left_alone(model, tokenizer) -> None:
    """``restrict_last_layer_to_cls`` declines, and the model's outputs stay exactly as they were."""
    import torch

    logits, _, length = _run(model, tokenizer)
    assert restrict_last_layer_to_cls(model) is False
    logits2, _, length2 = _run(model, tokenizer)
    assert length2 == length
    torch.testing.assert_close(logits2, logits, atol=0, rtol=0)


@pytest.mark.parametrize("kind", ["bert", "distilbert", "roberta", "electra"])
def test_same_logits_and_cls_state_with_less_work(kind, tokenizer):
    import torch

    model = _tiny(kind, tokenizer.vocab_size)
    logits, cls, length = _run(model, tokenizer)
    assert length > 1
    assert restrict_last_layer_to_cls(model) is True
    logits2, cls2, length2 = _run(model, tokenizer)
    assert length2 == 1  # the last layer ran after attention at [CLS] only
    torch.testing.assert_close(logits2, logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(cls2, cls, atol=1e-5, rtol=0)
    assert restrict_last_layer_to_cls(model) is True  # idempotent: no second set of hooks
    assert _run(model, tokenizer)[2] == 1


@pytest.mark.parametrize("kind", ["gpt2", "mobilebert"])
def test_layouts_it_cannot_cut_are_left_alone(kind, tokenizer):
    """GPT-2 reads the last token, not [CLS]; MobileBERT adds a full-length residual after the cut."""
    _assert_left_alone(_tiny(kind, tokenizer.vocab_size), tokenizer)


def test_head_reading_every_position_keeps_the_full_layer(tokenizer):
    """A recognised layout whose pooler averages all positions fails the probe and keeps its hooks off."""
    import torch

    class MeanPooler(torch.nn.Module):
        def forward(self, hidden):
            return hidden.mean(dim=1)

    model = _tiny("bert", tokenizer.vocab_size)
    model.bert.pooler = MeanPooler()
    _assert_left_alone(model, tokenizer)


def test_a_model_in_train_mode_is_left_alone(tokenizer):
    model = _tiny("bert", tokenizer.vocab_size).train()
    assert restrict_last_layer_to_cls(model) is False
    assert not any(m._forward_pre_hooks for m in model.modules())


def test_load_classifier_serves_the_cut_model_with_unchanged_outputs(tiny_model_dir):
    import transformers

    from core.classifier.model import Classifier, load_classifier

    served = load_classifier(tiny_model_dir)
    assert getattr(served.model, "_cls_only_hooks", None)
    plain = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval()
    full = Classifier(plain, served.tokenizer, served.labels, source="plain", model_dir=tiny_model_dir)
    a, b = served.predict(TEXTS, with_hidden=True), full.predict(TEXTS, with_hidden=True)
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)
    np.testing.assert_allclose(a.hidden, b.hidden, atol=1e-5)


def test_logs_once_whether_and_why_not(tokenizer, caplog):
    """One INFO line per model: applied, or left unchanged with the reason."""
    import logging

    caplog.set_level(logging.INFO, logger="core.classifier.cls_only")
    assert restrict_last_layer_to_cls(_tiny("bert", tokenizer.vocab_size)) is True
    assert restrict_last_layer_to_cls(_tiny("gpt2", tokenizer.vocab_size)) is False
    assert restrict_last_layer_to_cls(_tiny("bert", tokenizer.vocab_size).train()) is False
    lines = [r.getMessage() for r in caplog.records if r.name == "core.classifier.cls_only"]
    assert len(lines) == 3
    assert "BertForSequenceClassification runs its last layer at [CLS] only" in lines[0]
    assert "GPT2ForSequenceClassification left unchanged" in lines[1] and "layout is not a recognised" in lines[1]
    assert "train mode" in lines[2]


def test_detached_for_export_and_put_back(tokenizer):
    """``detached_cls_only`` runs the full last layer inside the block and restores the cut after."""
    from core.classifier.cls_only import detached_cls_only

    model = _tiny("distilbert", tokenizer.vocab_size)
    assert restrict_last_layer_to_cls(model) is True
    with detached_cls_only(model):
        assert _run(model, tokenizer)[2] > 1
    assert _run(model, tokenizer)[2] == 1
