"""Readable numbers everywhere (issue 41): every table the app's views return, on a small real service, holds
no raw float of more than 6 significant digits and no Python list; p-values and shares are words a person reads.

The walk calls every event handler of the built app whose inputs are the components' own values (the
select handlers and the data-health lists through their table-building functions), and collects each
table it returns, however it is returned (a frame, a ``gr.Dataframe``, an update).
"""

from __future__ import annotations

import inspect
import re

import gradio as gr
import numpy as np
import pandas as pd
import pytest

from tests.conftest import split_lines

LONG = re.compile(r"\d\.\d{7,}|\d+\.\d+e[-+]?\d+|\[\d+, \d+|\['")


@pytest.fixture(scope="module")
def service(tiny_model_dir, tmp_path_factory):
    from core.services.emotion import EmotionService
    from core.settings import Settings

    folder = tmp_path_factory.mktemp("numbers-data")
    first = split_lines("validation", 1)[0].rsplit(";", 1)[0]
    (folder / "train.txt").write_text("\n".join(split_lines("train", 60)) + "\n")
    (folder / "validation.txt").write_text("\n".join([*split_lines("validation", 40), f"{first};surprise"]) + "\n")
    settings = Settings(model=str(tiny_model_dir), data=str(folder), split="validation",
                        splits=("train", "validation"), cache_dir=tmp_path_factory.mktemp("numbers-cache"),
                        review_db=str(tmp_path_factory.mktemp("numbers-db") / "reviews.sqlite"))
    return EmotionService.load(settings, show_progress=False)


def _frames(value) -> list[pd.DataFrame]:
    """Every table inside a handler's return value."""
    if isinstance(value, pd.DataFrame):
        return [value]
    if isinstance(value, gr.Dataframe):
        return _frames(value.value)
    if isinstance(value, dict):
        if "data" in value and "headers" in value:
            return [pd.DataFrame(value["data"], columns=value["headers"])]
        return _frames(value.get("value"))
    if isinstance(value, (tuple, list)):
        return [f for v in value for f in _frames(v)]
    return []


def unreadable(frame: pd.DataFrame) -> list[str]:
    """Cells a person cannot read: floats of more than 6 significant digits, lists, exponents, long decimals."""
    bad = []
    for col in frame.columns:
        for v in frame[col].tolist():
            if isinstance(v, (float, np.floating)) and np.isfinite(v):
                digits = re.sub(r"[^0-9]", "", repr(float(v)).split("e")[0]).strip("0")
                if len(digits) > 6:
                    bad.append(f"{col}: {v!r}")
            elif isinstance(v, (list, tuple, np.ndarray)) or (isinstance(v, str) and LONG.search(v)):
                bad.append(f"{col}: {v!r}")
    return bad


def _call(fn, inputs):
    params = inspect.signature(fn).parameters.values()
    if any(p.annotation in (gr.SelectData, gr.Request, "gr.SelectData", "gr.Request") or p.name in ("evt", "request")
           for p in params):
        return None  # needs an event or a request: its tables are built by the functions called below
    return fn(*[getattr(c, "value", None) for c in inputs])


def test_every_table_of_the_app_is_readable(service):
    from dashboard.app import build_app
    from dashboard.tabs.health import similar_of, similar_table, slices_view
    from dashboard.tabs.live import probe_frame

    demo = build_app(service)
    tables: dict[str, list[pd.DataFrame]] = {}
    for i, block_fn in enumerate(demo.fns.values()):
        try:
            out = _call(block_fn.fn, block_fn.inputs)
        except Exception:  # a handler that needs a picked row or typed text: its tables come below
            continue
        if out is not None:
            tables[f"handler {i} {getattr(block_fn.fn, '__name__', '')}"] = _frames(out)
    h = service.health
    for kind in ("leakage between splits", "conflicting duplicates", "outliers", "non-emotion text"):
        tables[f"issues {kind}"] = [h.issues(kind)]
    tables["metrics"] = [h.metrics()]
    tables["slices"] = [slices_view(h.slices("validation"))]
    tables["similar of a sample"] = [similar_of(service, 3, "validation")[1]]
    tables["similar of a text"] = [similar_table(service, "i feel sad and alone")[1]]
    tables["what if"] = [probe_frame(service.probe("i feel sad and alone today"))]
    walked = {name: frames for name, frames in tables.items() if any(len(f) for f in frames)}
    assert len(walked) >= 10, sorted(tables)
    problems = {name: bad for name, frames in walked.items() for bad in [sum((unreadable(f) for f in frames), [])]
                if bad}
    assert not problems, problems
    assert "rows 0, 40" in h.issues("conflicting duplicates")["detail"].iloc[0]


def test_the_checker_catches_raw_numbers():
    frame = pd.DataFrame({"a": [0.9183187484741211], "b": ["2.021954066884915e-79"], "c": ["[364, 6563] · x"]})
    assert len(unreadable(frame)) == 3
    assert unreadable(pd.DataFrame({"a": [0.918, 91.8], "b": ["< 1e-10", "91.8%"], "c": ["364, 6563", "anger"]})) == []
