"""Server-side queries and the density map at scale: same answers as plain pandas, small figures.

The tables are seeded synthetic analysis tables (tens of thousands of rows, so the per-table order
cache is used), with ties and NaN in the sort columns, categorical and string label columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.analysis import order, queries
from dashboard.figures import EMBEDDING_COLORINGS, density_cell_rows, density_embedding_figure
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
def test_density_map_bins_every_sample_once(color_by):
    table = big_table(n=40_000, seed=4)
    fig = density_embedding_figure(table, color_by=color_by, labels=LABELS, bins=50, max_points=1_000)
    assert isinstance(fig, go.Figure) and len(fig.data) == 1 and fig.data[0].type == "heatmap"
    heat = fig.data[0]
    counts = np.array([[int(t.split(" samples")[0]) for t in row] for row in heat.text])
    assert counts.sum() == len(table)
    # each cell's customdata is its box, and the count is exactly the samples inside that box
    r, c = np.unravel_index(np.argmax(counts), counts.shape)
    x0, x1, y0, y1 = heat.customdata[r][c]
    x, y = table["umap_x"].to_numpy(), table["umap_y"].to_numpy()
    in_box = (x >= x0) & (y >= y0) & ((x < x1) | np.isclose(x, x.max())) & ((y < y1) | np.isclose(y, y.max()))
    assert in_box.sum() == counts[r, c]
    assert density_cell_rows(table, r, c, bins=50).tolist() == np.flatnonzero(in_box).tolist()
    assert sum(len(density_cell_rows(table, r, j, bins=50)) for j in range(50)) == counts[r].sum()
    if color_by == "loss":
        rows = table[in_box]
        assert float(heat.z[r][c]) == pytest.approx(np.nan_to_num(rows["loss"].to_numpy(np.float64)).mean(), rel=1e-5)
    if color_by == "correct":
        assert float(heat.z[r][c]) == pytest.approx((~table["correct"][in_box]).mean())
    assert len(fig.to_json()) < 2_000_000  # the browser gets bins, not 40,000 points


def test_density_map_shows_points_when_zoomed_in():
    table = big_table(n=40_000, seed=5)
    x, y = table["umap_x"].to_numpy(), table["umap_y"].to_numpy()
    cx, cy = float(np.median(x)), float(np.median(y))
    window = ((cx - 0.3, cx + 0.3), (cy - 0.3, cy + 0.3))
    inside = table[(x >= window[0][0]) & (x <= window[0][1]) & (y >= window[1][0]) & (y <= window[1][1])]
    assert 0 < len(inside) <= 5_000
    fig = density_embedding_figure(table, color_by="label", labels=LABELS, x_range=window[0], y_range=window[1],
                                   max_points=5_000)
    assert all(t.type == "scattergl" for t in fig.data)
    ids = sorted(int(i) for t in fig.data for i in t.customdata)
    assert ids == sorted(inside.index.tolist())
    assert list(fig.layout.xaxis.range) == pytest.approx(list(window[0]))
    assert all(SCRIPT not in str(h) for t in fig.data for h in t.hovertext)  # user text escaped


def test_density_map_empty_window_and_bad_colouring():
    table = big_table(n=12_000, seed=6)
    fig = density_embedding_figure(table, color_by="loss", labels=LABELS, x_range=(1e6, 1e6 + 1), y_range=(0, 1))
    assert "no samples in view" in fig.layout.annotations[0].text
    with pytest.raises(ValueError, match="color_by"):
        density_embedding_figure(table, color_by="mood", labels=LABELS)
