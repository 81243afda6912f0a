"""Signals at the cost of one cheap pass: the sentence encoder on the fast backend ranks as fp32 does, within
the stated tolerance, and the negation parse of only the rows where a cue word and a negator make it matter
equals parsing every row."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from core.analysis.signals import aum, knn, oof, parse
from core.analysis.signals.encoder import RANK_TOLERANCE, embed, encoder_params, load_encoder
from tests.conftest import EMOTION, LABELS

#: The fixed sample: the first rows of the emotion train split.
SAMPLE_ROWS = 600


def _sample(n: int) -> tuple[list[str], list[str]]:
    from core.data.splits import load_splits

    if not (EMOTION / "train.txt").is_file():
        pytest.skip("../shared/emotion is absent")
    data = load_splits(str(EMOTION), splits=("train",))
    split = data["train"]
    return list(split.texts)[:n], [data.label_names[i] for i in split.labels[:n]]


def _embedding_signals(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Every shipped signal that reads the sentence embeddings, and the encoder-neighbour one."""
    k = len(LABELS)
    return {"oof_embed": oof.given_scores(oof.embedding_oof(x, y, k), y)[0], "aum": aum.aum_scores(x, y, k),
            "knn_disagree_enc": knn.disagreeing_share(x, y, k)["share"]}


@pytest.mark.slow
def test_the_encoder_in_bf16_ranks_the_signals_as_fp32_does():
    texts, labels = _sample(SAMPLE_ROWS)
    y = np.array([LABELS.index(label) for label in labels])
    fp32, bf16 = load_encoder("torch"), load_encoder("torch-bf16")
    assert next(bf16.parameters()).dtype.is_floating_point and str(next(bf16.parameters()).dtype) == "torch.bfloat16"
    a, b = embed(texts, encoder=fp32), embed(texts, encoder=bf16)
    assert np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-5)
    assert (a * b).sum(axis=1).min() > 0.98  # each text's embedding barely moves
    ref, fast = _embedding_signals(a, y), _embedding_signals(b, y)
    for name in ref:
        rho = spearmanr(ref[name], fast[name]).statistic
        assert rho >= RANK_TOLERANCE, f"{name}: Spearman {rho:.3f} between bf16 and fp32 < {RANK_TOLERANCE}"


def test_the_encoder_backend_is_in_the_embeddings_key():
    params = encoder_params()
    assert params["backend"] in ("torch", "torch-bf16") and "probe_min_cosine" in params


def test_the_negation_parse_of_the_rows_that_need_it_equals_parsing_every_row():
    texts, labels = _sample(300)
    texts += ["i don t feel happy", "i used to feel so lonely", "i feel happy but not today", "i never feel loved",
              "i feel joyful"]
    labels += ["joy", "sadness", "joy", "love", "joy"]
    nlp = parse.load_parser(negation_only=True)
    assert nlp.pipe_names == list(parse.NEGATION_COMPONENTS)  # the tagger, lemmatizer and NER do not run
    full = parse.parse_signals(texts, labels)["neg_parse"]
    selective = parse.negation_parse(texts, labels, nlp=nlp)
    assert np.array_equal(full, selective)
    assert selective[-5:].tolist() == pytest.approx([1.0, 0.7, 0.3, 1.0, 0.0])


def test_the_negation_parse_is_in_the_cache_key():
    params = parse.parse_params()["negation_parse"]
    assert params["components"] == list(parse.NEGATION_COMPONENTS) and params["triggers"]
