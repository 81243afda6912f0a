"""The loss histogram counts every finite loss, the largest included, whatever the bin width's rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.figures import loss_histogram


def drawn_count(fig) -> int:
    return int(sum(np.asarray(trace.y).sum() for trace in fig.data))


@pytest.mark.parametrize("bins", [7, 40])
def test_every_finite_loss_is_in_a_bin(bins):
    rng = np.random.default_rng(0)
    missed = []
    for draw in range(60):  # random maxima: with edges summed from a rounded width, some fall past the last edge
        loss = rng.exponential(rng.uniform(0.1, 3.0), size=25)
        table = pd.DataFrame({"loss": loss, "correct": rng.random(25) < 0.7})
        if drawn_count(loss_histogram(table, bins=bins)) != len(loss):
            missed.append((draw, float(loss.max())))
    assert missed == []


def test_the_largest_loss_lands_in_the_last_bin():
    table = pd.DataFrame({"loss": [0.0, 0.1, 0.23], "correct": [True, True, False]})  # 0.23 / 7 * 7 < 0.23
    fig = loss_histogram(table, bins=7)
    wrong = next(t for t in fig.data if t.name == "wrong")
    assert list(np.asarray(wrong.y)) == [0, 0, 0, 0, 0, 0, 1]
    assert float(wrong.customdata[-1][1]) >= 0.23
