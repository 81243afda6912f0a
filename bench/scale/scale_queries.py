"""Server-side latencies of the dashboard views' queries on a cached analysis (``bench/scale/scale.py``).

Timed in this process with the functions the views call (not the browser's drawing; wall and CPU
seconds, since the machine may be shared): the first page (default order), a filter (true label +
text), a page change (page 500), a sort change, the first page of the largest confusion cell (the most
common class predicted as itself), and the embedding map (the figure the tab sends, serialised to JSON)
and the map after a zoom into a window holding at most 5,000 samples.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

PAGE_SIZE = 20
#: The zoomed map's window holds at most this many samples (drawn as points, with hover texts).
ZOOM_MAX_POINTS = 5_000


def median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeats`` calls of ``fn``, each rounded to 0.1 ms."""
    runs, cpus = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        runs.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return round(float(np.median(runs)), 4), round(float(np.median(cpus)), 4)


def zoom_window(x: np.ndarray, y: np.ndarray, max_points: int = ZOOM_MAX_POINTS) -> tuple[dict, int]:
    """A square window around the median point of the map coordinates ``x``, ``y`` (N,) holding at most
    ``max_points`` samples: the figure's ``x_range`` and ``y_range``, and how many samples it holds."""
    cx, cy, half = float(np.median(x)), float(np.median(y)), float(x.max() - x.min()) / 4
    while half > 1e-9:  # shrink until the window holds few enough samples to be drawn as points
        near = int(((abs(x - cx) <= half) & (abs(y - cy) <= half)).sum())
        if near <= max_points:
            break
        half /= 1.5
    return {"x_range": (cx - half, cx + half), "y_range": (cy - half, cy + half)}, near


@dataclass
class ViewQueries:
    """The queries the views run on one analysis table, answered by the modules the views call."""

    table: pd.DataFrame
    labels: list[str]
    analysis_queries: ModuleType  # core.analysis.queries
    figures: ModuleType  # dashboard.figures
    queries: ModuleType  # dashboard.queries

    def listed(self, *, page_number: int = 1, **filters: Any) -> list:
        """The sample list's page ``page_number`` (20 rows) of the table filtered and ordered by ``filters``."""
        shown, _ = self.queries.page(self.analysis_queries.filter_samples(self.table, **filters),
                                     page_number=page_number, page_size=PAGE_SIZE)
        return self.queries.as_list(shown)

    def cell_page(self, label: str) -> list:
        """The first page of the confusion cell of ``label`` predicted as itself."""
        cell = self.analysis_queries.cell_samples(self.table, true_label=label, pred_label=label)
        return self.queries.as_list(self.queries.page(cell, page_number=1, page_size=PAGE_SIZE)[0])

    def map_json(self, **window: Any) -> str:
        """The embedding map's figure as the tab sends it, serialised to JSON (10,000 points sampled per class
        past 10,000 points, else every point); ``window``: a zoom's ``x_range`` and ``y_range``."""
        fig = self.figures.map_window_figure(self.table, color_by="label", labels=self.labels, **window)
        return fig.to_json()


def time_queries(cache: Path, *, repeats: int = 3) -> dict:
    """Server-side latencies of the views' queries on the cached table (median of ``repeats``, seconds)."""
    import pandas as pd

    from core.analysis import queries as analysis_queries
    from dashboard import figures, queries

    entry = next((cache / "analysis").glob("*/meta.json")).parent
    labels = json.loads((entry / "meta.json").read_text())["labels"]
    t0 = time.perf_counter()
    table = pd.read_parquet(entry / "table.parquet")
    load_s = time.perf_counter() - t0
    views = ViewQueries(table, labels, analysis_queries, figures, queries)
    cpu: dict[str, float] = {}

    def timed(fn: Callable[[], object], name: str) -> float:
        wall, cpu[name] = median_seconds(fn, repeats)
        return wall

    first_page, first_cpu = time.perf_counter(), time.process_time()
    views.listed(order="highest loss")
    first_page = round(time.perf_counter() - first_page, 4)  # cold: includes sorting the table once
    cpu["first_page_s"] = round(time.process_time() - first_cpu, 4)
    big_label = table["label"].value_counts().index[0]
    map_json = len(views.map_json())
    window, near = zoom_window(table["umap_x"].to_numpy(np.float64), table["umap_y"].to_numpy(np.float64))
    return {
        "rows": len(table), "table_load_s": round(load_s, 3), "first_page_s": first_page,
        "filter_s": timed(lambda: views.listed(order="highest loss", true_label=big_label, search="feel"), "filter_s"),
        "page_change_s": timed(lambda: views.listed(order="highest loss", page_number=500), "page_change_s"),
        "sort_change_s": timed(lambda: views.listed(order="most suspicious"), "sort_change_s"),
        "cell_rows": int(((table["label"] == big_label) & (table["pred"] == big_label)).sum()),
        "cell_first_page_s": timed(lambda: views.cell_page(big_label), "cell_first_page_s"),
        "map_s": timed(views.map_json, "map_s"), "map_json_mb": round(map_json / 2**20, 2),
        "map_zoom_points": near, "map_zoom_s": timed(lambda: views.map_json(**window), "map_zoom_s"),
        "cpu_s": cpu,
    }
