"""core.classifier.train's predictions line up with their texts (the Trainer length-groups evaluation batches)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.classifier.train import build_parser, fine_tune, predict_probs
from tests.conftest import LABELS


@pytest.mark.train
def test_predict_probs_keeps_the_order_of_the_texts(tiny_model_dir, tmp_path):
    texts = [("word " * (1 + (i * 7) % 23)).strip() + f" number {i}" for i in range(150)]
    labels = np.arange(150) % len(LABELS)
    defaults = build_parser().parse_args([])
    recipe = {"lr": 1e-4, "batch_size": 16, "epochs": 1.0, "seed": 0, "weight_decay": 0.0, "warmup_steps": 0,
              "max_length": 64, "freeze_layers": 0, **{k: getattr(defaults, k) for k in ("logging_steps",)
                                                        if hasattr(defaults, k)}}
    trainer, tokenizer, _ = fine_tune(str(tiny_model_dir), texts, labels, LABELS, recipe,
                                      output_dir=tmp_path / "out", disable_tqdm=True)
    got = predict_probs(trainer, tokenizer, texts, 64)
    model = trainer.model.eval()
    with torch.no_grad():
        one_by_one = np.stack([
            torch.softmax(model(**tokenizer(t, return_tensors="pt", truncation=True, max_length=64)).logits[0], -1)
            .numpy() for t in texts])
    assert got.shape == (150, len(LABELS))
    assert np.allclose(got, one_by_one, atol=1e-5)  # row i is text i's answer
    assert len({tuple(np.round(r, 7)) for r in got}) > 100  # and the rows differ, so order matters
