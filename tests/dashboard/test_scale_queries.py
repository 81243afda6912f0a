"""Server-side queries and the embedding map at scale: same answers as plain pandas, small figures.

The tables are seeded synthetic analysis tables (tens of thousands of rows, so the per-table order
cache is used), with ties and NaN in the sort columns, categorical and string label columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.analysis import order, queries
from dashboard.figures import EMBEDDING_COLORINGS, map_window_figure, rows_in_selection
from dashboard.queries import as_list, page

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
SCRIPT = "<script>alert(1)</script>"


def big_table(n: int = 30_000, seed: int = 0, *, categorical: bool = False) -> pd.DataFrame:
    """A seeded analysis table with rounded (tied) losses, a few NaN and clustered map coordinates."""
    rng = np.random.default_rng(seed)
    given = rng.integers(0, len(LABELS), size=n)
    preds = np.where(rng.random(n) < 0.7, given, rng.integers(0, len(LABELS), size=n))
    loss = np.round(rng.exponential(0.5, size=n), 2)  # many ties
    loss[rng.choice(n, 5, replace=False)] = np.nan
    words = np.array(["happy", "sad", "Angry", "calm", "love", "scared", "wow"])
    texts = [f"i feel {a} and {b} {i}" for i, (a, b) in enumerate(zip(words[rng.integers(0, 7, n)],
                                                                        words[rng.integers(0, 7, n)], strict=True))]
    texts[7] = f"i feel {SCRIPT}"
    centres = rng.normal(0, 5, size=(len(LABELS), 2))
    xy = centres[given] + rng.normal(0, 1, size=(n, 2))
    label_names = np.array(LABELS)
    table = pd.DataFrame({
        "text": texts, "label": label_names[given], "pred": label_names[preds], "loss": loss.astype(np.float32),
        "confidence": np.round(rng.random(n), 2), "mislabel_score": np.round(rng.random(n), 2),
        "correct": given == preds, "umap_x": xy[:, 0].astype(np.float32), "umap_y": xy[:, 1].astype(np.float32),
    })
    if categorical:
        for col in ("label", "pred"):
            table[col] = pd.Categorical(table[col], categories=LABELS)
    return table


def reference_filter(table, *, order, true_label=queries.ANY, pred_label=queries.ANY, search="", confidence=None):
    """The plain pandas query the fast path must equal."""
    column, ascending = queries.ORDERS[order]
    rows = table
    if true_label != queries.ANY:
        rows = rows[rows["label"] == true_label]
    if pred_label != queries.ANY:
        rows = rows[rows["pred"] == pred_label]
    if search.strip():
        rows = rows[rows["text"].str.contains(search.strip(), case=False, regex=False, na=False)]
    if confidence is not None:
        rows = rows[rows["confidence"].between(*confidence)]
    return rows.sort_values(column, ascending=ascending, kind="stable")


@pytest.mark.parametrize("categorical", [False, True])
@pytest.mark.parametrize("order", list(queries.ORDERS))
def test_filter_equals_plain_pandas(order, categorical):
    table = big_table(categorical=categorical)
    cases = [{}, {"true_label": "joy"}, {"true_label": "joy", "pred_label": "anger"},
             {"search": "ANGRY"}, {"true_label": "fear", "search": "calm and"}, {"search": "no such words"},
             {"pred_label": "not-a-label"}, {"search": "<script>"}, {"confidence": (0.2, 0.5)},
             {"true_label": "love", "confidence": (0.0, 0.31), "search": "i feel"}]
    for kwargs in cases:
        got = queries.filter_samples(table, order=order, **kwargs)
        want = reference_filter(table, order=order, **kwargs)
        assert got.index.tolist() == want.index.tolist(), (order, kwargs)
        pd.testing.assert_frame_equal(got, want)


def test_order_is_cached_per_table_and_never_reused_for_another():
    table = big_table(seed=1)
    first = order.sorted_positions(table, "loss", False)
    assert order.sorted_positions(table, "loss", False) is first  # cached
    other = big_table(seed=2)
    got = queries.filter_samples(other, order="highest loss")
    pd.testing.assert_frame_equal(got, reference_filter(other, order="highest loss"))
    small = table.iloc[:50]  # a picked subset is sorted afresh
    pd.testing.assert_frame_equal(queries.filter_samples(small, order="lowest loss"),
                                  reference_filter(small, order="lowest loss"))


def test_big_confusion_cell_pages_like_the_loss_view():
    table = big_table(n=60_000, seed=3)
    cell = queries.cell_samples(table, true_label="joy", pred_label="joy")
    assert len(cell) > 5_000
    assert set(cell["label"]) == {"joy"} and set(cell["pred"]) == {"joy"}
    want = table[(table["label"] == "joy") & (table["pred"] == "joy")].sort_values("loss", ascending=False,
                                                                                   kind="stable")
    assert cell.index.tolist() == want.index.tolist()
    shown, n_pages = page(cell, page_number=3, page_size=25)
    assert n_pages == -(-len(cell) // 25)
    assert shown.index.tolist() == want.index[50:75].tolist()
    listed = as_list(shown)
    assert len(listed) == 25 and listed["sample_id"].tolist() == want.index[50:75].tolist()


@pytest.mark.parametrize("color_by", list(EMBEDDING_COLORINGS))
def test_large_map_keeps_its_colouring_with_points_sampled_per_group(color_by):
    table = big_table(n=40_000, seed=4)
    table.loc[table.index[table["label"] == "surprise"][12:], "label"] = "joy"  # a rare class of 12 samples
    fig = map_window_figure(table, color_by=color_by, labels=LABELS, max_points=1_000)
    assert isinstance(fig, go.Figure) and {t.type for t in fig.data} == {"scattergl"}
    ids = np.concatenate([np.asarray(t.customdata) for t in fig.data])
    assert len(ids) <= 1_000 and len(set(ids.tolist())) == len(ids) and len(ids) >= 990
    assert f"coloured by {color_by}<br><sup>{len(ids):,} of 40,000 samples drawn" in fig.layout.title.text
    names = [t.name for t in fig.data]
    if color_by in ("label", "pred"):
        assert names == [c for c in LABELS if (table[color_by] == c).any()]  # one legend entry per class
        for trace in fig.data:  # each point in its own class's trace
            assert set(table.loc[np.asarray(trace.customdata), color_by]) == {trace.name}
    if color_by == "label":
        rare = next(t for t in fig.data if t.name == "surprise")
        assert len(rare.customdata) == 12  # a small class is drawn whole, not sampled away
    if color_by == "correct":
        assert names == ["correct", "wrong"]
    assert len(fig.to_json()) < 2_000_000  # the browser gets 1,000 points, not 40,000


def test_map_draws_every_point_when_few_are_in_view():
    table = big_table(n=40_000, seed=5)
    x, y = table["umap_x"].to_numpy(), table["umap_y"].to_numpy()
    cx, cy = float(np.median(x)), float(np.median(y))
    window = ((cx - 0.3, cx + 0.3), (cy - 0.3, cy + 0.3))
    inside = table[(x >= window[0][0]) & (x <= window[0][1]) & (y >= window[1][0]) & (y <= window[1][1])]
    assert 0 < len(inside) <= 5_000
    fig = map_window_figure(table, color_by="label", labels=LABELS, x_range=window[0], y_range=window[1],
                            max_points=5_000)
    assert all(t.type == "scattergl" for t in fig.data)
    ids = sorted(int(i) for t in fig.data for i in t.customdata)
    assert ids == sorted(inside.index.tolist())
    assert "drawn" not in fig.layout.title.text
    assert list(fig.layout.xaxis.range) == pytest.approx(list(window[0]))
    assert all(SCRIPT not in str(h) for t in fig.data for h in t.hovertext)  # user text escaped


def test_selection_lists_every_sample_inside_drawn_or_not():
    table = big_table(n=30_000, seed=7)
    x, y = table["umap_x"].to_numpy(np.float64), table["umap_y"].to_numpy(np.float64)
    box = {"x": [1.0, -2.0], "y": [-1.5, 2.5]}
    want = np.flatnonzero((x >= -2) & (x <= 1) & (y >= -1.5) & (y <= 2.5))
    assert len(want) > 100
    assert rows_in_selection(table, box=box).tolist() == want.tolist()
    # a lasso (a triangle) against the same test written out by hand
    px, py = [-3.0, 3.0, 0.0], [-3.0, -3.0, 3.0]
    got = rows_in_selection(table, lasso={"x": px, "y": py})
    # the triangle's left edge is x = -3 + (y + 3) / 2, its right edge x = 3 - (y + 3) / 2
    inside = (y >= -3) & (y <= 3) & (x >= -3 + (y + 3) / 2) & (x <= 3 - (y + 3) / 2)
    edge = np.abs(np.minimum(x - (-3 + (y + 3) / 2), 3 - (y + 3) / 2 - x)) < 1e-6
    assert set(got.tolist()) ^ set(np.flatnonzero(inside).tolist()) <= set(np.flatnonzero(edge).tolist())
    assert len(got) > 100
    # a class switched off in the legend is left out, as plotly leaves its points out
    hidden = rows_in_selection(table, box=box, color_by="label", hidden=["joy"])
    assert hidden.tolist() == [i for i in want if table["label"].iloc[i] != "joy"]
    with pytest.raises(ValueError, match="box"):
        rows_in_selection(table, box={"x": [0]})


def test_map_empty_window_and_bad_colouring():
    table = big_table(n=12_000, seed=6)
    fig = map_window_figure(table, color_by="loss", labels=LABELS, x_range=(1e6, 1e6 + 1), y_range=(0, 1))
    assert "no samples in view" in fig.layout.annotations[0].text
    with pytest.raises(ValueError, match="color_by"):
        map_window_figure(table, color_by="mood", labels=LABELS)
