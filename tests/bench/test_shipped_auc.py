"""bench/noise/shipped_auc.py: two tables of the same rows compared signal by signal; other rows refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.noise.shipped_auc import rank_agreement


def _table(path, score: np.ndarray, texts: list[str]):
    pd.DataFrame({"text": texts, "mislabel_score": score, "aum": score[::-1].copy()}).to_parquet(path)
    return path


def test_rank_agreement_says_how_far_two_rankings_agree(tmp_path):
    rng = np.random.default_rng(0)
    score = rng.random(200)
    texts = [f"t{i}" for i in range(200)]
    a = _table(tmp_path / "a.parquet", score, texts)
    b = _table(tmp_path / "b.parquet", score + rng.normal(0, 0.05, 200), texts)
    same = rank_agreement(a, a)["mislabel_score"]
    assert same == {"spearman": 1.0, "top5_overlap": 1.0, "identical": True}
    moved = rank_agreement(a, b)["mislabel_score"]
    assert 0.9 < moved["spearman"] < 1.0 and not moved["identical"] and set(rank_agreement(a, b)) == {
        "mislabel_score", "aum"}
    other = _table(tmp_path / "c.parquet", score, texts[::-1])
    with pytest.raises(SystemExit, match="same rows"):
        rank_agreement(a, other)
