"""Zoom-to-points on the embedding map: the server handler the map's zoom event runs, on a real service.

The service is real (a tiny random model analysing 300 validation rows); the app is built with a draw
limit of 50 points, so the whole map draws 50 points sampled per class and a small window every point in it.
"""

from __future__ import annotations

import base64
import json

import gradio as gr
import numpy as np
import pytest

from dashboard.figures import hover_snippet
from dashboard.tabs.embedding import map_figure, zoom_window
from tests.conftest import tiny_service

LIMIT = 50


@pytest.fixture(scope="module")
def service(tiny_model_dir, tmp_path_factory):
    return tiny_service(tiny_model_dir, tmp_path_factory, "zoom", 300)


def small_window(table, at: int, most: int = LIMIT) -> tuple[tuple[float, float], tuple[float, float]]:
    """A square window centred on sample ``at`` holding between 1 and ``most`` samples."""
    x, y = table["umap_x"].to_numpy(np.float64), table["umap_y"].to_numpy(np.float64)
    half = (x.max() - x.min()) / 4
    while True:
        win = ((x[at] - half, x[at] + half), (y[at] - half, y[at] + half))
        if in_window(table, win).size <= most:
            return win
        half /= 2


def in_window(table, win) -> np.ndarray:
    x, y = table["umap_x"].to_numpy(np.float64), table["umap_y"].to_numpy(np.float64)
    (x0, x1), (y0, y1) = win
    return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


def array(value) -> list:
    """A figure JSON array: plotly writes numeric arrays as ``{"dtype", "bdata"}`` (base64), others as lists."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def zoom_handler(demo, plot_id: str):
    """The function the app runs on the map's ``zoom`` event (as wired, not a copy)."""
    for dep in demo.fns.values():
        if any(t[0] == plot_id and t[1] == "zoom" for t in dep.targets):
            return dep.fn
    raise AssertionError("no zoom listener on the embedding map")


def test_zoom_window_reads_the_event():
    assert zoom_window({"x0": 2, "x1": 1, "y0": -1, "y1": 3}) == ((1.0, 2.0), (-1.0, 3.0))
    assert zoom_window({"reset": True}) is None
    assert zoom_window({"x0": 1, "x1": 1, "y0": 0, "y1": 1}) is None  # empty window
    assert zoom_window({"x0": "nan", "x1": 1, "y0": 0, "y1": 1}) is None
    assert zoom_window(None) is None


def test_zoom_handler_draws_every_point_in_a_small_window_and_a_sample_for_the_whole_map(service):
    from dashboard.app import build_app

    table = service.table
    assert len(table) == 300 > LIMIT
    whole = map_figure(table, color_by="label", labels=service.labels, max_points=LIMIT)
    assert {t.type for t in whole.data} == {"scattergl"} and sum(len(t.customdata) for t in whole.data) <= LIMIT
    assert [t.name for t in whole.data] == [c for c in service.labels if (table["label"] == c).any()]

    demo = build_app(service, map_max_points=LIMIT)
    plot = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "map-plot")
    handler = zoom_handler(demo, plot._id)
    at = int(table["loss"].to_numpy().argmax())
    win = small_window(table, at)
    (x0, x1), (y0, y1) = win
    value, window = handler(None, "label", gr.EventData(plot, {"x0": x0, "x1": x1, "y0": y0, "y1": y1}))
    assert window == win
    fig = json.loads(value)  # the figure the browser gets
    assert {t["type"] for t in fig["data"]} == {"scattergl"}
    shown = sorted(int(i) for t in fig["data"] for i in array(t["customdata"]))
    assert shown == sorted(table.index[in_window(table, win)].tolist()) and at in shown
    assert fig["layout"]["xaxis"]["range"] == pytest.approx([x0, x1])
    texts = [h for t in fig["data"] for h in array(t["hovertext"])]
    assert any(h.startswith(hover_snippet(table.loc[at, "text"]) + "<br>") for h in texts)  # its text, escaped

    value, window = handler(None, "loss", gr.EventData(plot, {"reset": True}))
    fig = json.loads(value)
    assert window is None and [t["type"] for t in fig["data"]] == ["scattergl"]
    assert len(array(fig["data"][0]["customdata"])) == LIMIT  # the full map: a sample of LIMIT points
    assert f"{LIMIT} of {len(table)} samples drawn" in fig["layout"]["title"]["text"]


def select_handler(demo, plot_id: str):
    """The function the app runs on the map's ``select`` event (as wired, not a copy)."""
    for dep in demo.fns.values():
        if any(t[0] == plot_id and t[1] == "select" for t in dep.targets):
            return dep.fn
    raise AssertionError("no select listener on the embedding map")


def test_box_select_on_a_sampled_map_lists_every_sample_inside(service):
    from dashboard.app import build_app

    table = service.table
    demo = build_app(service, map_max_points=LIMIT)
    plot = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "map-plot")
    handler = select_handler(demo, plot._id)
    x, y = table["umap_x"].to_numpy(np.float64), table["umap_y"].to_numpy(np.float64)
    box = {"x": [float(np.quantile(x, 0.1)), float(np.quantile(x, 0.9))],
           "y": [float(np.quantile(y, 0.1)), float(np.quantile(y, 0.9))]}
    want = in_window(table, (tuple(box["x"]), tuple(box["y"])))
    assert len(want) > LIMIT  # more than the map draws
    drawn = [int(want[0])]  # the points plotly saw inside (a few of the drawn sample)
    event = {"index": [0], "value": drawn, "kind": "box", "range": box, "lasso": None, "hidden": []}
    summary, listed = handler(None, "label", gr.SelectData(plot, event))
    assert summary == f"{len(want)} samples picked"
    assert sorted(listed["sample_id"].tolist()) == sorted(table.index[want].tolist())
    hidden = str(table["label"].iloc[want[0]])
    _, listed = handler(None, "label", gr.SelectData(plot, {**event, "hidden": [hidden]}))
    assert len(listed) == int((table["label"].iloc[want] != hidden).sum()) and hidden not in set(listed["label"])
    summary, listed = handler(None, "label", gr.SelectData(plot, {"index": [0], "value": drawn, "kind": "click"}))
    assert summary == "1 samples picked" and listed["sample_id"].tolist() == drawn
