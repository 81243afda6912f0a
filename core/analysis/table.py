"""The per-sample analysis of one split: loss, prediction, probabilities, hidden states, UMAP.

The table has one row per sample and these columns (labels as names):
``text, label, pred, loss, confidence, margin, prob_<label>..., umap_x, umap_y, n_tokens,
correct`` and the label-issue columns of :func:`core.analysis.mislabels.label_issue_columns`
(``label_quality, is_label_issue, suggested_label, mislabel_score, dup_group, dup_label_conflict``).
The (N, H) [CLS] hidden states are kept beside it as an array, in row order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from core.analysis.mislabels import EXACT_NEIGHBOURS_MAX, NEIGHBOURS_K, label_issue_columns
from core.analysis.neighbours import exact_cosine_knn, smallest
from core.classifier import metrics
from core.classifier.model import BULK_OVERHEAD_TOKENS, DEFAULT_BATCH_SIZE

UMAP_SEED = 42
UMAP_FIT_MAX = 50_000  # past this many rows UMAP is fitted on a seeded subsample and transforms the rest
UMAP_TRANSFORM_CHUNK = 50_000
UMAP_EXACT_MAX = 8192  # up to this many rows the neighbours come from the full cosine distance matrix
#: Layout epochs: 200 (umap's default past 10,000 rows), and 100 up to ``UMAP_EXACT_MAX`` rows. Chosen
#: by ``bench/speed/umap_epochs.py --split train`` (2,000 rows, emotion-minilm, seeds 42, 1, 2):
#: trustworthiness 0.9828 at 100 epochs against 0.9834 at 200 (50: 0.9818), same-label share of 10 map
#: neighbours 0.9474 / 0.9470, layout 0.57 s instead of 1.14 s. On the validation split: 0.9827 / 0.9824.
UMAP_EPOCHS = 200
UMAP_EPOCHS_EXACT = 100
UMAP_NEIGHBOURS = 15
UMAP_MIN_DIST = 0.1
LOSS_CLIP = 1e-12

#: What shapes this module's stored columns (loss, confidence, margin, umap_x, umap_y): the analysis cache key
#: is derived from every module's ``ANALYSIS_PARAMS`` (:func:`core.analysis.cache.analysis_params`).
ANALYSIS_PARAMS = {
    "umap": {"seed": UMAP_SEED, "fit_max": UMAP_FIT_MAX, "exact_max": UMAP_EXACT_MAX, "epochs": UMAP_EPOCHS,
             "epochs_exact": UMAP_EPOCHS_EXACT, "neighbours": UMAP_NEIGHBOURS, "min_dist": UMAP_MIN_DIST,
             "metric": "cosine", "exact_neighbours": "full cosine distance matrix up to exact_max, else exact kNN"},
    "loss_clip": LOSS_CLIP,
}


@dataclass
class AnalysisResult:
    """The table, the hidden states and summary metrics of one analysed split."""

    table: pd.DataFrame
    hidden: np.ndarray
    metrics: dict[str, float]
    #: seconds per stage (``inference``, ``umap``, ``table``, ``label_issues``), for the meta record
    stages: dict[str, float] = field(default_factory=dict)


def per_sample_loss(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N,) cross-entropy ``-log p[label]``, clipped away from log(0)."""
    given = probs[np.arange(len(labels)), labels]
    return -np.log(np.clip(given, LOSS_CLIP, 1.0))


def top2_margin(probs: np.ndarray) -> np.ndarray:
    """(N,) top-1 minus top-2 probability."""
    if probs.shape[1] < 2:
        return probs[:, 0].copy()
    part = np.sort(probs, axis=1)
    return part[:, -1] - part[:, -2]


@lru_cache(maxsize=1)
def cache_umap_kernels() -> int:
    """Let numba cache UMAP's compiled kernels on disk, so a new process loads them instead of compiling them
    again (about 6 s of CPU, tens of seconds on a busy host, in every process that maps). umap-learn leaves most
    of its kernels uncached; numba keeps the files beside the package or, where that is read-only, in the
    user's cache folder, and recompiles on any mismatch. Returns how many kernels were switched."""
    try:
        import numba
        import umap.distances
        import umap.layouts
        import umap.sparse
        import umap.spectral
        import umap.umap_
        import umap.utils
    except ImportError:
        return 0
    switched = 0
    for module in (umap.umap_, umap.layouts, umap.spectral, umap.utils, umap.distances, umap.sparse):
        for value in vars(module).values():
            if isinstance(value, numba.core.registry.CPUDispatcher) and type(value._cache).__name__ == "NullCache":
                try:
                    value.enable_caching()
                    switched += 1
                except Exception:  # noqa: BLE001 - no cache folder: the kernel compiles as before
                    continue
    return switched


def umap_2d(hidden: np.ndarray, *, seed: int = UMAP_SEED, fit_max: int = UMAP_FIT_MAX,
            chunk: int = UMAP_TRANSFORM_CHUNK, knn: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(N, 2) UMAP of the hidden states (cosine metric, seeded, so reruns give the same map).

    Tiny inputs (fewer than 4 rows) are placed by PCA instead, since UMAP needs neighbours. Up to
    ``UMAP_EXACT_MAX`` rows UMAP gets the full cosine distance matrix; up to ``fit_max`` rows the
    exact neighbours (``knn``: :func:`core.analysis.neighbours.exact_cosine_knn` with at least 15 per row,
    computed here when not given), instead of building its own approximate index (about 30 s of numba
    compilation per process). Past ``fit_max`` rows UMAP is fitted on a seeded subsample of
    ``fit_max`` rows and the others are placed by ``transform`` in chunks of ``chunk``, so time and
    memory grow linearly with N.
    """
    n = hidden.shape[0]
    if n < 4:
        from sklearn.decomposition import PCA

        if n < 2:
            return np.zeros((n, 2), dtype=np.float32)
        coords = PCA(n_components=min(2, n)).fit_transform(hidden)
        return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1]))).astype(np.float32)
    if n > fit_max:
        return _umap_subsample(hidden, seed=seed, fit_max=fit_max, chunk=chunk)
    import warnings

    import umap
    from sklearn.metrics.pairwise import cosine_distances

    cache_umap_kernels()

    # A precomputed cosine distance matrix (vectorised, milliseconds for a few thousand rows)
    # instead of umap's per-pair Python callable, which takes half a minute at n = 2,000; and its
    # nearest neighbours found here by one argpartition (umap's own row-by-row sort took 0.4 s at n = 2,000).
    distances = cosine_distances(hidden).astype(np.float32) if n <= UMAP_EXACT_MAX else None
    k = min(UMAP_NEIGHBOURS, n - 1)
    if distances is not None:
        neighbours = (*smallest(distances, k), None)
    else:
        if knn is None or knn[0].shape[1] < k:
            knn = exact_cosine_knn(hidden, k)
        neighbours = (knn[0][:, :k], knn[1][:, :k], None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n_jobs overridden by random_state; tiny-n spectral warnings; no search index
        reducer = umap.UMAP(
            n_components=2, n_neighbors=k, min_dist=UMAP_MIN_DIST,
            metric="precomputed" if distances is not None else "cosine",
            random_state=seed, n_epochs=UMAP_EPOCHS_EXACT if distances is not None else UMAP_EPOCHS,
            init="spectral" if n > 16 else "random", precomputed_knn=neighbours,
        )
        return reducer.fit_transform(distances if distances is not None else hidden).astype(np.float32)


def _umap_subsample(hidden: np.ndarray, *, seed: int, fit_max: int, chunk: int) -> np.ndarray:
    """UMAP fitted on ``fit_max`` rows drawn with ``seed``; the rest placed by ``transform``, chunk by chunk."""
    import warnings

    import umap

    cache_umap_kernels()
    n = hidden.shape[0]
    fit_rows = np.sort(np.random.default_rng(seed).choice(n, size=fit_max, replace=False))
    rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
    coords = np.empty((n, 2), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n_jobs overridden by random_state
        reducer = umap.UMAP(n_components=2, n_neighbors=min(UMAP_NEIGHBOURS, fit_max - 1), min_dist=UMAP_MIN_DIST,
                            metric="cosine",
                            random_state=seed, n_epochs=UMAP_EPOCHS, init="spectral" if fit_max > 16 else "random")
        coords[fit_rows] = reducer.fit_transform(hidden[fit_rows])
        for start in range(0, len(rest), chunk):
            rows = rest[start:start + chunk]
            coords[rows] = reducer.transform(hidden[rows])
    return coords


def summary_metrics(labels: np.ndarray, preds: np.ndarray, n_labels: int) -> dict[str, float]:
    """Accuracy and weighted F1 of int codes (:mod:`core.classifier.metrics`)."""
    s = metrics.summary(metrics.confusion_counts(labels, preds, n_labels))
    return {"accuracy": s["accuracy"], "f1_weighted": s["f1_weighted"]}


def compute_analysis(
    classifier,
    texts: Sequence[str],
    label_ids: np.ndarray,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[str, int, int], None] | None = None,
) -> AnalysisResult:
    """Run the model once over ``texts`` and build the analysis table.

    Parameters
    ----------
    classifier : a :class:`core.classifier.model.Classifier`.
    label_ids : (N,) given labels as ids in ``classifier.labels`` order.
    progress : ``progress(stage, done, total)`` for a progress bar.
    """
    labels = list(classifier.labels)
    label_ids = np.asarray(label_ids, dtype=np.int64)
    if len(texts) != len(label_ids):
        raise ValueError(f"{len(texts)} texts but {len(label_ids)} labels")
    step = (lambda d, t: progress("inference", d, t)) if progress else None
    clock = [time.perf_counter()]
    stages: dict[str, float] = {}

    def lap(name: str) -> None:
        now = time.perf_counter()
        stages[name] = round(now - clock[0], 4)  # 0.1 ms: a stage that ran is never 0
        clock[0] = now

    pred = classifier.predict(texts, batch_size=batch_size, with_hidden=True, progress=step,
                              overhead_tokens=BULK_OVERHEAD_TOKENS)
    probs, hidden = pred.probs, pred.hidden
    preds = probs.argmax(axis=1)
    lap("inference")
    knn, coords = _map(hidden, progress, lap)
    table = _table(texts, label_ids, labels, probs, pred.n_tokens, coords)
    lap("table")
    if progress:
        progress("label issues", 0, 1)
    issues = label_issue_columns(probs, label_ids, labels, features=hidden, knn=knn)
    for col in issues.columns:
        table[col] = issues[col].to_numpy()
    lap("label_issues")
    if progress:
        progress("label issues", 1, 1)
    return AnalysisResult(table, hidden, summary_metrics(label_ids, preds, len(labels)), stages)


def _map(hidden: np.ndarray, progress, lap: Callable[[str], None]) -> tuple[np.ndarray | None, np.ndarray]:
    """(exact neighbours or None, (N, 2) UMAP coordinates); the neighbours are found once, for the map
    and the near-duplicate check, where the split is small enough for exact ones."""
    knn = None
    if UMAP_EXACT_MAX < len(hidden) <= min(UMAP_FIT_MAX, EXACT_NEIGHBOURS_MAX):
        if progress:
            progress("neighbours", 0, 1)
        # UMAP's 15 (itself included), Datalab's 10 others
        knn = exact_cosine_knn(hidden, max(UMAP_NEIGHBOURS, NEIGHBOURS_K + 1))
        lap("neighbours")
        if progress:
            progress("neighbours", 1, 1)
    if progress:
        progress("umap", 0, 1)
    coords = umap_2d(hidden, knn=knn)
    lap("umap")
    if progress:
        progress("umap", 1, 1)
    return knn, coords


def _table(texts: Sequence[str], label_ids: np.ndarray, labels: list[str], probs: np.ndarray, n_tokens: np.ndarray,
           coords: np.ndarray) -> pd.DataFrame:
    """The per-sample columns before the label-issue ones (see the module docstring)."""
    preds = probs.argmax(axis=1)
    table = pd.DataFrame({
        "text": list(texts),
        "label": pd.Categorical.from_codes(label_ids, categories=labels).astype(str),
        "pred": pd.Categorical.from_codes(preds, categories=labels).astype(str),
        "loss": per_sample_loss(probs, label_ids).astype(np.float32),
        "confidence": probs.max(axis=1),
        "margin": top2_margin(probs),
    })
    for j, name in enumerate(labels):
        table[f"prob_{name}"] = probs[:, j]
    table["umap_x"], table["umap_y"] = coords[:, 0], coords[:, 1]
    table["n_tokens"] = n_tokens.astype(np.int32)
    table["correct"] = preds == label_ids
    return table


def probs_of(table: pd.DataFrame, labels: Sequence[str]) -> np.ndarray:
    """(N, K) probabilities from the table's ``prob_<label>`` columns, in label order."""
    return table[[f"prob_{x}" for x in labels]].to_numpy(dtype=np.float64)


def now_iso() -> str:
    """UTC time as ISO 8601, for meta records."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
