"""Figure builders and table summaries: traces, axes, and escaping of user text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from sklearn.metrics import precision_recall_fscore_support

from core.classifier.metrics import confusion_matrix_of, per_class_report
from dashboard.figures import (
    EMBEDDING_COLORINGS,
    class_distribution_figure,
    confusion_figure,
    embedding_figure,
    hover_snippet,
    label_colors,
    loss_histogram,
    probability_bars,
    token_attribution_bars,
    token_length_figure,
)

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
SCRIPT = "<script>alert(1)</script>"


def make_table(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """A seeded synthetic analysis table; row 3 holds a script tag and row 5 a very long text."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(len(LABELS)), size=n)
    given = rng.integers(0, len(LABELS), size=n)
    preds = np.where(rng.random(n) < 0.6, given, probs.argmax(axis=1))
    texts = [f"tweet number {i}" for i in range(n)]
    texts[3] = f"i feel {SCRIPT} & <b>bold</b>"
    texts[5] = "long " * 120 + SCRIPT
    table = pd.DataFrame({
        "text": texts,
        "label": [LABELS[i] for i in given],
        "pred": [LABELS[i] for i in preds],
        "loss": -np.log(probs[np.arange(n), given]),
        "confidence": probs.max(axis=1),
    })
    for j, name in enumerate(LABELS):
        table[f"prob_{name}"] = probs[:, j]
    table["umap_x"], table["umap_y"] = rng.normal(size=n), rng.normal(size=n)
    table["n_tokens"] = rng.integers(3, 60, size=n)
    table["correct"] = table["label"] == table["pred"]
    table["suspicion"] = rng.random(n)
    table.index = np.arange(100, 100 + n)  # sample ids that are not positions
    return table


def user_strings(fig: go.Figure) -> list[str]:
    """Every hover/label string a figure carries (hovertext, text, customdata strings, ticks, names)."""
    out: list[str] = []
    for trace in fig.data:
        for attr in ("hovertext", "text", "customdata"):
            value = getattr(trace, attr, None)
            if value is not None:
                out.extend(str(v) for v in np.ravel(np.asarray(value, dtype=object)))
        out.append(str(trace.name))
    out.extend(str(t) for t in (fig.layout.yaxis.ticktext or ()))
    return out


# ---- colours and snippets -------------------------------------------------------------------------


def test_label_colors_are_fixed_distinct_and_stable():
    colors = label_colors(LABELS)
    assert list(colors) == LABELS
    assert len(set(colors.values())) == len(LABELS)
    assert label_colors(LABELS[::-1]) == colors  # the emotions keep their colours in any order
    other = label_colors(["a", "b", "c"])
    assert len(set(other.values())) == 3 and label_colors(["a", "b", "c"]) == other


def test_hover_snippet_escapes_and_truncates():
    out = hover_snippet("x" * 500 + SCRIPT)
    assert "<script>" not in out and len(out.replace("<br>", "")) <= 200
    assert hover_snippet(SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"


# ---- probability bars ---------------------------------------------------------------------------


def test_probability_bars_sorted_percent_and_axis():
    probs = {"sadness": 0.1, "joy": 0.55, "love": 0.05, "anger": 0.2, "fear": 0.07, "surprise": 0.03}
    fig = probability_bars(probs)
    (bar,) = fig.data
    assert list(bar.y) == ["joy", "anger", "sadness", "fear", "love", "surprise"]
    assert list(bar.x) == sorted(bar.x, reverse=True)
    assert sum(bar.x) == pytest.approx(100.0)
    assert fig.layout.yaxis.autorange == "reversed"  # first (largest) bar at the top
    assert fig.layout.xaxis.title.text == "probability (%)"
    assert tuple(fig.layout.xaxis.range) == (0, 100)
    assert bar.text[0] == "55.0%"
    colors = label_colors(list(probs))
    assert list(bar.marker.color) == [colors[n] for n in bar.y]


def test_probability_bars_rejects_empty():
    with pytest.raises(ValueError):
        probability_bars({})


# ---- token attributions -------------------------------------------------------------------------


def test_token_attribution_top_k_by_magnitude_with_signed_colours():
    pairs = [("i", 0.01), ("feel", -0.3), ("happy", 0.9), ("<script>", 0.5), ("not", -0.6), ("i", 0.02)]
    fig = token_attribution_bars(pairs, label="joy", k=4)
    (bar,) = fig.data
    assert list(bar.x) == [0.9, -0.6, 0.5, -0.3]
    assert list(fig.layout.yaxis.ticktext) == ["happy", "not", "&lt;script&gt;", "feel"]
    warm, cool = bar.marker.color[0], bar.marker.color[1]
    assert warm != cool and list(bar.marker.color) == [warm, cool, warm, cool]
    assert "toward joy" in fig.layout.title.text and "away" in fig.layout.title.text
    assert not any("<script>" in s for s in user_strings(fig))


def test_token_attribution_keeps_repeated_tokens_apart_and_validates_k():
    fig = token_attribution_bars([("a", 0.5), ("a", -0.4)], label="joy", k=10)
    assert len(fig.data[0].x) == 2 and list(fig.layout.yaxis.ticktext) == ["a", "a"]
    assert len(token_attribution_bars([], label="joy").data) == 0
    with pytest.raises(ValueError):
        token_attribution_bars([("a", 1.0)], label="joy", k=0)


# ---- confusion ----------------------------------------------------------------------------------


def test_confusion_matrix_matches_manual_count():
    table = make_table()
    m = confusion_matrix_of(table, LABELS)
    assert m.shape == (6, 6) and m.sum() == len(table)
    for i, t in enumerate(LABELS):
        for j, p in enumerate(LABELS):
            assert m[i, j] == int(((table["label"] == t) & (table["pred"] == p)).sum())


def test_confusion_matrix_rejects_unknown_names():
    table = make_table().head(5).copy()
    table.loc[table.index[0], "pred"] = "boredom"
    with pytest.raises(ValueError, match="boredom"):
        confusion_matrix_of(table, LABELS)


def test_confusion_figure_counts_customdata_and_axes():
    table = make_table()
    m = confusion_matrix_of(table, LABELS)
    fig = confusion_figure(m, LABELS, normalize=False)
    (heat,) = fig.data
    np.testing.assert_array_equal(np.asarray(heat.z), m)
    custom = np.asarray(heat.customdata)
    assert custom.shape == (6, 6, 3)
    for i in range(6):
        for j in range(6):
            assert tuple(custom[i, j, :2]) == (i, j)  # (true_index, pred_index)
            assert custom[i, j, 2] == m[i, j]
            assert heat.text[i][j] == str(m[i, j])
    assert list(heat.y) == LABELS and list(heat.x) == LABELS
    assert fig.layout.yaxis.title.text == "true label"
    assert fig.layout.xaxis.title.text == "predicted label"
    assert fig.layout.yaxis.autorange == "reversed"


def test_confusion_figure_normalised_rows_sum_to_100_and_keep_counts():
    m = np.array([[8, 2, 0], [1, 1, 2], [0, 0, 0]])
    fig = confusion_figure(m, ["a", "b", "c"], normalize=True)
    z = np.asarray(fig.data[0].z)
    np.testing.assert_allclose(z.sum(axis=1), [100.0, 100.0, 0.0])  # an empty row stays 0
    assert z[0, 0] == pytest.approx(80.0) and fig.data[0].text[0][0] == "80%"
    np.testing.assert_array_equal(np.asarray(fig.data[0].customdata)[..., 2], m)
    assert "count" in fig.data[0].hovertemplate


def test_confusion_figure_validates_shape():
    with pytest.raises(ValueError):
        confusion_figure(np.zeros((3, 3)), LABELS, normalize=False)


# ---- per-class report ---------------------------------------------------------------------------


def test_per_class_report_matches_sklearn():
    table = make_table(n=80, seed=1)
    report = per_class_report(table, LABELS)
    p, r, f, s = precision_recall_fscore_support(table["label"], table["pred"], labels=LABELS, zero_division=0)
    per_class = report.iloc[: len(LABELS)]
    assert list(per_class["class"]) == LABELS
    np.testing.assert_allclose(per_class["precision"], p)
    np.testing.assert_allclose(per_class["recall"], r)
    np.testing.assert_allclose(per_class["f1"], f)
    np.testing.assert_array_equal(per_class["support"], s)
    assert per_class["support"].sum() == len(table)
    summary = report.set_index("class")
    assert summary.loc["accuracy", "f1"] == pytest.approx((table["label"] == table["pred"]).mean())
    wf = precision_recall_fscore_support(table["label"], table["pred"], labels=LABELS, average="weighted",
                                         zero_division=0)[2]
    assert summary.loc["weighted avg", "f1"] == pytest.approx(wf)
    assert summary.loc["weighted avg", "support"] == len(table)


# ---- embedding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("color_by", sorted(EMBEDDING_COLORINGS))
def test_embedding_covers_every_row_once_and_escapes(color_by):
    table = make_table()
    fig = embedding_figure(table, color_by=color_by, labels=LABELS)
    assert all(isinstance(t, go.Scattergl) for t in fig.data)
    assert sum(len(t.x) for t in fig.data) == len(table)
    ids = np.concatenate([np.asarray(t.customdata) for t in fig.data])
    assert sorted(ids.tolist()) == sorted(table.index.tolist())  # every sample id exactly once
    for trace in fig.data:  # each point's coordinates belong to its own row
        rows = table.loc[np.asarray(trace.customdata)]
        np.testing.assert_allclose(trace.x, rows["umap_x"])
        np.testing.assert_allclose(trace.y, rows["umap_y"])
    strings = user_strings(fig)
    assert not any("<script" in s for s in strings)
    assert any("&lt;script&gt;" in s for s in strings)
    assert max(len(s) for s in strings) < 600  # the 600-char text is truncated for hover
    assert fig.layout.dragmode in ("lasso", "select")


def test_embedding_by_label_has_one_trace_per_present_class():
    table = make_table()
    fig = embedding_figure(table, color_by="label", labels=LABELS)
    present = [x for x in LABELS if (table["label"] == x).any()]
    assert [t.name for t in fig.data] == present
    for trace in fig.data:
        assert set(table.loc[np.asarray(trace.customdata), "label"]) == {trace.name}
        assert trace.marker.color == label_colors(LABELS)[trace.name]


def test_embedding_by_correct_splits_correct_and_wrong():
    table = make_table()
    fig = embedding_figure(table, color_by="correct", labels=LABELS)
    by_name = {t.name: set(np.asarray(t.customdata).tolist()) for t in fig.data}
    assert by_name["wrong"] == set(table.index[~table["correct"]])
    assert by_name["correct"] == set(table.index[table["correct"]])


def test_embedding_rejects_unknown_color_by():
    with pytest.raises(ValueError, match="label"):
        embedding_figure(make_table(), color_by="sentiment", labels=LABELS)


# ---- distributions ------------------------------------------------------------------------------


def test_class_distribution_figure_counts_in_order():
    counts = {"sadness": 5, "joy": 9, "love": 0}
    fig = class_distribution_figure(counts)
    (bar,) = fig.data
    assert list(bar.x) == list(counts) and list(bar.y) == [5, 9, 0]
    assert fig.layout.yaxis.title.text == "samples"


def test_token_length_figure_one_box_per_class():
    table = make_table()
    fig = token_length_figure(table, LABELS)
    assert [t.name for t in fig.data] == [x for x in LABELS if (table["label"] == x).any()]
    for trace in fig.data:  # drawn from statistics, never from the N lengths
        mine = table.loc[table["label"] == trace.name, "n_tokens"].to_numpy(dtype=float)
        assert trace.y is None
        assert trace.median[0] == pytest.approx(np.median(mine))
        assert (trace.q1[0], trace.q3[0]) == pytest.approx(tuple(np.percentile(mine, [25, 75])))
        assert mine.min() <= trace.lowerfence[0] <= trace.q1[0] <= trace.q3[0] <= trace.upperfence[0] <= mine.max()


def test_loss_histogram_splits_correct_and_wrong():
    table = make_table()
    fig = loss_histogram(table)
    assert [t.name for t in fig.data] == ["correct", "wrong"]
    assert sum(fig.data[0].y) + sum(fig.data[1].y) == len(table)  # binned counts, not the N losses
    assert sum(fig.data[1].y) == int((~table["correct"]).sum())
    assert len(fig.data[0].x) == len(fig.data[0].y) == 40
    worst = table["loss"].idxmax()
    trace = fig.data[0 if table.loc[worst, "correct"] else 1]
    assert trace.y[-1] >= 1  # the largest loss falls in the last bin
    assert fig.layout.xaxis.title.text.startswith("loss")
    assert fig.layout.yaxis.type == "log" and "log" in fig.layout.yaxis.title.text  # most losses sit near 0


def test_figures_have_house_template_and_height():
    table = make_table()
    figs = [
        probability_bars({"joy": 1.0}),
        confusion_figure(confusion_matrix_of(table, LABELS), LABELS, normalize=True),
        embedding_figure(table, color_by="loss", labels=LABELS),
        class_distribution_figure({"joy": 1}),
        token_length_figure(table, LABELS),
        loss_histogram(table),
    ]
    for fig in figs:
        assert 200 <= fig.layout.height <= 480
        assert fig.layout.template.layout.paper_bgcolor is not None  # a template is set
        fig.to_dict()  # validates


def test_importing_dashboard_figures_loads_no_gradio_or_torch():
    code = "import sys, dashboard.figures, dashboard.queries; print(sorted({'gradio', 'torch'} & set(sys.modules)))"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"
