"""How many UMAP layout epochs the analysis map needs: quality and time per epoch count.

For the first ``--rows`` rows of a split, the model's [CLS] states are mapped by UMAP exactly as
:func:`core.analysis.table.umap_2d` does up to ``UMAP_EXACT_MAX`` rows (precomputed cosine distances and
neighbours, 15 neighbours, min_dist 0.1), once per epoch count and seed. Quality of each map:

* trustworthiness (scikit-learn, 15 neighbours, cosine distances of the [CLS] states): how far the
  map's near neighbours are true near neighbours;
* the share of each point's 10 nearest map neighbours that carry its label.

``UMAP_EPOCHS_EXACT`` was chosen with ``--split train`` (seeds 42, 1, 2); ``--split validation`` is
the check on other rows. Times are the layout's wall seconds on this machine (noisy; compare within
one run). Prints one JSON object.

    python bench/speed/umap_epochs.py --split train
    python bench/speed/umap_epochs.py --split validation
    python bench/speed/umap_epochs.py --quick      # smoke run: 200 rows, one seed
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import dump, resolve_model  # noqa: E402
from bench.harness import EMOTION  # noqa: E402


def label_neighbour_share(coords: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Mean share of each point's ``k`` nearest map neighbours (itself excluded) with its label."""
    from sklearn.neighbors import NearestNeighbors

    idx = NearestNeighbors(n_neighbors=k + 1).fit(coords).kneighbors(coords, return_distance=False)[:, 1:]
    return float((labels[idx] == labels[:, None]).mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="minilm")
    p.add_argument("--data", type=Path, default=EMOTION)
    p.add_argument("--split", default="train")
    p.add_argument("--rows", type=int, default=2000)
    p.add_argument("--epochs", default="50,100,200")
    p.add_argument("--seeds", default="42,1,2")
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/emotion-bench"))
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.seeds = 200, "42"

    import umap
    from sklearn.manifold import trustworthiness
    from sklearn.metrics.pairwise import cosine_distances

    from core.analysis.neighbours import smallest
    from core.analysis.table import umap_2d
    from core.classifier.model import load_classifier
    from core.data.splits import load_splits

    data = load_splits(args.data, splits=(args.split,))
    split = data[args.split]
    texts, labels = split.texts[: args.rows], np.asarray(split.labels[: args.rows])
    clf = load_classifier(resolve_model(args.model, args.work_dir), data_labels=data.label_names)
    hidden = clf.predict(texts, with_hidden=True).hidden
    distances = cosine_distances(hidden).astype(np.float32)
    knn = (*smallest(distances, 15), None)
    umap_2d(hidden[:32])  # numba compilation, outside every timing
    report: dict = {"bench": "umap_epochs", "model": str(args.model), "split": args.split, "rows": len(texts),
                    "seeds": [int(s) for s in args.seeds.split(",")], "epochs": {}}
    for epochs in (int(e) for e in args.epochs.split(",")):
        runs = []
        for seed in report["seeds"]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # n_jobs overridden by random_state
                start = time.perf_counter()
                coords = umap.UMAP(n_components=2, n_neighbors=15, min_dist=0.1, metric="precomputed",
                                   random_state=seed, n_epochs=epochs, init="spectral",
                                   precomputed_knn=knn).fit_transform(distances)
                seconds = time.perf_counter() - start
            runs.append((seconds, trustworthiness(distances, coords, n_neighbors=15, metric="precomputed"),
                         label_neighbour_share(coords, labels)))
        s, t, share = (float(np.mean(col)) for col in zip(*runs, strict=True))
        report["epochs"][str(epochs)] = {"seconds": round(s, 3), "trustworthiness": round(t, 4),
                                         "label_neighbour_share": round(share, 4)}
    dump(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
