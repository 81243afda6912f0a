"""How responsive the analysis views are on a large split: what each view's handler does, timed in process.

    python bench/scale/views.py --model ../shared/models/emotion-minilm --data ../shared/emotion --split train \
        [--cache-dir DIR] [--repeats 5] [--quick]

Loads the service from the analysis cache (building it first when missing, not timed), then times the
same calls the Gradio handlers make: the first page of the loss view, a filter (given label and a text
search), a page change, the confusion matrix and a cell's first page, the embedding map (figure built
and serialised to the JSON sent to the browser) and the next sample of the review queue. Prints JSON
with the median and maximum over ``--repeats`` runs, the rows, and the map's payload size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _time(fn, repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median_s": round(statistics.median(times), 4), "max_s": round(max(times), 4)}


def measure(service, split: str, repeats: int) -> dict:
    """Median and worst time of each view's work on ``split``."""
    from core.analysis import queries as analysis_queries
    from core.classifier.metrics import confusion_matrix_of
    from dashboard import figures, queries
    from dashboard.plotly_bridge import figure_value

    a = service.analysis(split)
    table, labels = a.table, a.labels

    def first_page():
        rows = analysis_queries.filter_samples(table, order="highest loss")
        return queries.as_list(queries.page(rows, page_number=1, page_size=20)[0])

    def a_filter():
        rows = analysis_queries.filter_samples(table, order="highest loss", true_label=labels[1], search="feel",
                                      confidence=(0.2, 0.9))
        return queries.as_list(queries.page(rows, page_number=1, page_size=20)[0])

    def page_change():
        rows = analysis_queries.filter_samples(table, order="highest loss")
        return queries.as_list(queries.page(rows, page_number=50, page_size=20)[0])

    def confusion():
        confusion_matrix_of(table, labels)
        cell = analysis_queries.cell_samples(table, true_label=labels[1], pred_label=labels[2])
        return queries.as_list(queries.page(cell, page_number=1, page_size=20)[0])

    payload = {}

    def embedding_map():
        fig = figures.embedding_figure(table, color_by="label", labels=labels)
        payload["bytes"] = len(figure_value(fig))
        payload["points"] = sum(len(t.x) for t in fig.data if getattr(t, "x", None) is not None)

    def review_next():
        return service.review_queue(split).index[:1]

    out = {name: _time(fn, repeats) for name, fn in (
        ("first_page", first_page), ("filter", a_filter), ("page_change", page_change),
        ("confusion_and_cell", confusion), ("embedding_map", embedding_map), ("review_next", review_next))}
    out["embedding_map"]["payload_mb"] = round(payload["bytes"] / 2**20, 2)
    out["embedding_map"]["points"] = int(payload["points"])  # markers drawn: every row, or the map lost some
    return {"split": split, "rows": len(table), "repeats": repeats, **out}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="../shared/models/emotion-minilm")
    p.add_argument("--data", default="../shared/emotion")
    p.add_argument("--split", default="train")
    p.add_argument("--cache-dir", default=".cache")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="one repeat (a smoke run)")
    args = p.parse_args(argv)
    from core.services.emotion import EmotionService
    from core.settings import Settings

    settings = Settings(model=args.model, data=args.data, split=args.split, cache_dir=Path(args.cache_dir),
                        review_db=Path(args.cache_dir) / "bench-views.sqlite")
    start = time.perf_counter()
    service = EmotionService.load(settings, show_progress=False)
    result = {"load_s": round(time.perf_counter() - start, 2),
              **measure(service, args.split, 1 if args.quick else args.repeats)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
