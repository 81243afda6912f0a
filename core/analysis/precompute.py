"""Build (or reuse) the cached analysis of one split.

Usage::

    python -m core.analysis.precompute --model ../shared/models/emotion-minilm --data ../shared/emotion \
        [--split validation] [--cache-dir DIR] [--text-column tweet --label-column emotion] \
        [--engine local|ray] [--ray-address ADDRESS] [--signals]

Prints where the analysis lives and whether it was reused. A split the model trained on always holds
the shipped ranking and its signals (:mod:`core.analysis.signals.shipped`); ``--signals`` also computes
the other candidate signals of :mod:`core.analysis.signals` (cached beside the analysis, not stored in it).
"""

from __future__ import annotations

import logging
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.analysis.cache import AnalysisCache, CachedAnalysis, analysis_digest, analysis_params, cache_key
from core.analysis.precomputed import find_precomputed
from core.analysis.ray_engine import RayEngineError  # the module imports Ray only when the Ray engine runs
from core.analysis.signals.compute import FAMILIES as SIGNAL_FAMILIES
from core.analysis.signals.compute import signal_notes
from core.analysis.signals.shipped import FAMILIES as SHIPPED_FAMILIES
from core.analysis.signals.shipped import attach_shipped, not_applicable
from core.analysis.table import compute_analysis, now_iso
from core.analysis.workspace import is_training_split
from core.classifier.model import DEFAULT_BATCH_SIZE, Classifier, ModelError, load_classifier
from core.data.keys import content_key, text_hashes
from core.data.splits import DataError, EmotionData, data_fingerprint, load_splits
from core.settings import Settings, build_parser

log = logging.getLogger(__name__)


@dataclass
class AnalysisOutcome:
    """What :func:`analyse_split` produced, and how."""

    analysis: CachedAnalysis
    reused: bool
    seconds: float
    warnings: list[str] = field(default_factory=list)


def remap_label_ids(data: EmotionData, split: str, model_labels: Sequence[str]) -> np.ndarray:
    """The split's label ids in the model's label order (by name where the data has names)."""
    ids = data[split].labels
    if not data.names_from_data:
        if ids.max(initial=0) >= len(model_labels):
            raise DataError(f"{data.source}: label id {int(ids.max())} but the model has {len(model_labels)} labels")
        return ids
    index = {name: i for i, name in enumerate(model_labels)}
    unknown = sorted(set(data.label_names) - set(index))
    if unknown:
        raise ModelError(f"the data has labels {unknown} the model does not know ({list(model_labels)})")
    lookup = np.array([index[name] for name in data.label_names], dtype=np.int64)
    return lookup[ids]


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the analysis."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "umap-learn", "scikit-learn", "numpy", "pandas"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "absent"
    return out


def _tqdm_progress():
    from tqdm.auto import tqdm

    bars: dict[str, tqdm] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            unit = {"inference": "text", "signals": "family", "signals: sentence embeddings": "text"}.get(stage, "step")
            bar = bars[stage] = tqdm(total=total, desc=f"analysis: {stage}", unit=unit, file=sys.stderr, leave=False)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def _entry_key(classifier: Classifier, data: EmotionData, split: str,
               cache: AnalysisCache | None) -> tuple[str, str, dict]:
    """``(key, backend, expected meta)`` of the split's cache entry."""
    model_fp, data_fp, max_length = classifier.fingerprint, data_fingerprint(data, split), int(classifier.max_length)
    # A model still loading (core.classifier.pending_model) knows the backend it was asked for; on a cache miss the
    # model is needed anyway, and the key follows the backend that actually loaded (a fallback: torch).
    backend = classifier.backend_name
    key = cache_key(model_fp, data_fp, split, max_length, backend)
    if (cache is None or not cache.entry(key).is_dir()) and classifier.backend.name != backend:
        backend = classifier.backend.name
        key = cache_key(model_fp, data_fp, split, max_length, backend)
    expect = {"model_fingerprint": model_fp, "data_fingerprint": data_fp, "split": split,
              "max_length": max_length, "analysis_params": analysis_digest()}
    return key, backend, expect


def _read_cached(cache: AnalysisCache, key: str, expect: dict, *, cache_dir, precomputed_url: str | None,
                 warnings: list[str]) -> CachedAnalysis | None:
    """The valid cached (or precomputed) entry, else ``None`` (noting why a present one is unusable)."""
    cached, why = cache.load(key, expect=expect)
    if cached is None and why == "no cached analysis":
        if find_precomputed(key, cache_dir=cache_dir, url=precomputed_url) is not None:
            cached, why = cache.load(key, expect=expect)
    if cached is None and why != "no cached analysis":
        warnings.append(f"rebuilding the analysis: {why}")
        log.warning("rebuilding the analysis: %s", why)
    return cached


def read_cached_split(classifier: Classifier, data: EmotionData, split: str, *, cache_dir: str | Path | None,
                      precomputed_url: str | None = None) -> AnalysisOutcome | None:
    """The valid cached (or precomputed) analysis of ``split``, or ``None``; never loads the model (a
    :class:`core.classifier.pending_model.PendingClassifier` stays pending) and never computes."""
    if cache_dir is None:
        return None
    start = time.perf_counter()
    cache = AnalysisCache(cache_dir)
    model_fp, data_fp = classifier.fingerprint, data_fingerprint(data, split)
    key = cache_key(model_fp, data_fp, split, int(classifier.max_length), classifier.backend_name)
    expect = {"model_fingerprint": model_fp, "data_fingerprint": data_fp, "split": split,
              "max_length": int(classifier.max_length), "analysis_params": analysis_digest()}
    cached = _read_cached(cache, key, expect, cache_dir=cache_dir, precomputed_url=precomputed_url, warnings=[])
    if cached is None:
        return None
    return AnalysisOutcome(cached, True, time.perf_counter() - start, list(cached.meta.get("signal_notes", [])))


def _model_for(classifier: Classifier, engine: str, cache_dir, ray_address: str | None, ray_workers: int | None):
    """The classifier itself (``local``) or its Ray wrapper (``ray``)."""
    if engine != "ray":
        return classifier
    from core.analysis.ray_engine import RayClassifier, connect

    connect(ray_address, num_cpus=ray_workers)
    work_dir = Path(cache_dir).expanduser() / "ray-work" if cache_dir is not None else None
    return RayClassifier(classifier, work_dir=work_dir, workers=ray_workers)


def analyse_split(
    classifier: Classifier,
    data: EmotionData,
    split: str,
    *,
    cache_dir: str | Path | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    show_progress: bool = True,
    precomputed_url: str | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    ray_workers: int | None = None, progress: Callable[[str, int, int], None] | None = None,
) -> AnalysisOutcome:
    """Reuse the cached analysis of ``split`` if valid, else compute it and cache it atomically.

    The entry is keyed by the model, the data, the split, the classifier's ``max_length`` (the tokens
    kept per text), the backend and every ``ANALYSIS_PARAMS`` (:mod:`core.analysis.cache`).
    For a split the model trained on (:func:`core.analysis.workspace.is_training_split`) the table also
    holds the shipped ranking's signals and its ``mislabel_score`` is the shipped ranking
    (:mod:`core.analysis.signals.shipped`); other splits keep the held-out cleanlab ranking.

    A read-only or unusable ``cache_dir`` (or ``None``) computes in memory and adds a warning.
    Before computing, a precomputed entry with the same key in the repository's ``assets/analysis/``
    or at ``precomputed_url`` (the review sync target) is copied into the cache and used if valid
    (:func:`core.analysis.precomputed.find_precomputed`).
    ``engine="ray"`` runs the model pass on Ray (:mod:`core.analysis.ray_engine`; a new local Ray with ``ray_workers``
    workers unless ``ray_address`` names a cluster); the same artifacts. ``progress(stage, done, total)``: no bars."""
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    start = time.perf_counter()
    warnings: list[str] = []
    cache = AnalysisCache(cache_dir) if cache_dir is not None else None
    key, backend, expect = _entry_key(classifier, data, split, cache)
    if cache is not None:
        cached = _read_cached(cache, key, expect, cache_dir=cache_dir, precomputed_url=precomputed_url,
                              warnings=warnings)
        if cached is not None:
            return AnalysisOutcome(cached, True, time.perf_counter() - start, list(cached.meta.get("signal_notes", [])))
    progress = progress or (_tqdm_progress() if show_progress else None)
    model = _model_for(classifier, engine, cache_dir, ray_address, ray_workers)
    result = compute_analysis(model, data[split].texts, remap_label_ids(data, split, classifier.labels),
                              batch_size=batch_size, progress=progress)
    stages, ranking, families = dict(result.stages), "held-out", {}
    if is_training_split(split):
        lap = time.perf_counter()
        ranking, families = trained_on_ranking(result.table, result.hidden, list(classifier.labels),
                                               cache_dir=cache_dir, progress=progress, warnings=warnings)
        stages["signals"] = round(time.perf_counter() - lap, 3)
    meta = {**expect, "model": classifier.source, "data": data.source, "backend": backend,
            "labels": list(classifier.labels), "n_rows": len(result.table), "analysis_param_values": analysis_params(),
            "ranking": ranking, "signal_seconds": families,
            "signal_notes": signal_notes(SHIPPED_FAMILIES) if ranking == "shipped" else [],
            "versions": library_versions(), "created": now_iso(), "seconds": round(time.perf_counter() - start, 2),
            "parse_issues": data[split].issue_summary(), **result.metrics, "stage_seconds": stages,
            # the split's review key (core.analysis.workspace.Analysis.review_key): a start-up need not hash every text
            "review_key": content_key(text_hashes(result.table["text"].tolist()), split)}
    path = _save(cache, key, result, meta, warnings) if cache is not None else None
    return AnalysisOutcome(CachedAnalysis(result.table, result.hidden, meta, path), False,
                           time.perf_counter() - start, warnings)


def trained_on_ranking(table: pd.DataFrame, hidden: np.ndarray, labels: list[str], *, cache_dir=None,
                       progress=None, warnings: list[str] | None = None) -> tuple[str, dict[str, float]]:
    """Rank a split the model trained on, in place: the shipped ranking (its signals added to ``table``, its
    score as ``mislabel_score``; :mod:`core.analysis.signals.shipped`), or, where it cannot rank this data,
    cleanlab's in-sample ranking with a warning. Returns which one (``shipped`` or ``in-sample``) and the
    seconds each signal family took.

    ``table`` needs ``text``, ``label`` and ``prob_<label>`` columns; ``hidden`` is the (N, H) [CLS] states."""
    from core.analysis.mislabels import mislabel_score
    from core.analysis.table import probs_of

    why = not_applicable(table["label"].astype(str).tolist(), labels)
    if why:
        msg = f"ranking the trained-on split with cleanlab's in-sample score: the shipped ranking cannot ({why})"
        if warnings is not None:
            warnings.append(msg)
        log.warning(msg)
        ids = pd.Categorical(table["label"], categories=labels).codes.astype(np.int64)
        table["mislabel_score"] = mislabel_score(probs_of(table, labels), ids, source="in-sample")
        return "in-sample", {}
    return "shipped", attach_shipped(table, hidden, labels, cache_dir=cache_dir, progress=progress, warnings=warnings)


def _save(cache: AnalysisCache, key: str, result, meta: dict, warnings: list[str]) -> Path | None:
    """Write the entry; ``None`` (and a warning) where the cache cannot be written."""
    try:
        return cache.save(key, result.table, result.hidden, meta)
    except OSError as exc:
        msg = f"could not write the cache in {cache.root} ({exc.strerror or exc}); running without a cache"
        warnings.append(msg)
        log.warning(msg)
        return None


#: What :func:`analyse_from_settings` raises for bad input (a command prints it and exits 2).
CLI_ERRORS: tuple[type[Exception], ...] = (DataError, ModelError, RayEngineError)


def analyse_from_settings(
    settings: Settings, *, model: str | None = None, show_progress: bool = True
) -> tuple[EmotionData, Classifier, AnalysisOutcome]:
    """The one loader every command uses: the data (with ``settings``' column names), the classifier
    ``model`` (default ``settings.model``) on ``settings.backend``, and the analysis of ``settings.split``
    (cached under the same key the app uses). Raises one of :data:`CLI_ERRORS`."""
    data = load_splits(settings.data, splits=(settings.split,), text_column=settings.text_column,
                       label_column=settings.label_column)
    for issue_line in filter(None, [data[settings.split].issue_summary()]):
        print(f"warning: {issue_line}", file=sys.stderr)
    clf = load_classifier(model or settings.model, data_labels=data.label_names, max_length=settings.max_length,
                          label_origin=data.label_origin, backend=settings.backend, cache_dir=settings.cache_dir)
    out = analyse_split(clf, data, settings.split, cache_dir=settings.cache_dir, batch_size=settings.batch_size,
                        engine=settings.engine, ray_address=settings.ray_address, show_progress=show_progress)
    return data, clf, out


#: The candidate signal families the shipped ranking does not use (``--signals``).
EXTRA_FAMILIES: tuple[str, ...] = tuple(f for f in SIGNAL_FAMILIES if f not in SHIPPED_FAMILIES)


def attach_signals(analysis: CachedAnalysis, classifier: Classifier, *, cache_dir: str | Path | None,
                   families: Sequence[str] | None = None) -> dict[str, float]:
    """Add ranking signals of :mod:`core.analysis.signals` (default: :data:`EXTRA_FAMILIES`, those the
    shipped ranking, already in the table, does not use) as columns of ``analysis.table``, in place.

    Only for a split the model trained on (:func:`core.analysis.workspace.is_training_split`; other
    splits are left as they are and ``{}`` is returned). Each signal family is cached under
    ``<cache_dir>/signals``, so the analysis entry itself is unchanged and a later call reads the
    columns back in seconds. Returns the seconds each family took.
    """
    from core.analysis.signals.compute import compute_signals
    from core.analysis.table import probs_of

    if not is_training_split(str(analysis.meta.get("split"))):
        return {}
    table = analysis.table
    cols, seconds = compute_signals(table["text"].tolist(), table["label"].astype(str).tolist(), classifier.labels,
                                    hidden=np.asarray(analysis.hidden), classifier=classifier,
                                    base_probs=probs_of(table, classifier.labels), cache_dir=cache_dir,
                                    families=EXTRA_FAMILIES if families is None else families)
    for col in cols.columns:
        table[col] = cols[col].to_numpy()
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit code 2 with one clear line on bad input."""
    parser = build_parser(description="Precompute (or reuse) the cached analysis of one split.",
                          groups=("data", "compute"))
    parser.add_argument("--signals", action="store_true",
                        help="also compute (or reuse) the candidate ranking signals the shipped ranking does not use")
    args = parser.parse_args(argv)
    settings = Settings.from_namespace(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        _, clf, out = analyse_from_settings(settings)
        signal_seconds = attach_signals(out.analysis, clf, cache_dir=settings.cache_dir) if args.signals else {}
    except CLI_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for w in out.warnings:
        print(f"warning: {w}", file=sys.stderr)
    meta = out.analysis.meta
    where = out.analysis.path or "memory only (no cache)"
    verb = "reused" if out.reused else "wrote"
    print(f"{verb} {where} in {out.seconds:.2f} s: {meta['n_rows']} rows, "
          f"accuracy {meta['accuracy']:.4f}, weighted F1 {meta['f1_weighted']:.4f}")
    if meta.get("ranking"):  # entries written before the shipped ranking was stored have none
        spent = meta.get("stage_seconds", {}).get("signals")
        print(f"mislabel_score: {meta['ranking']} ranking" + (f" (signals {spent:.1f} s)" if spent else ""))
    if args.signals:
        done = ", ".join(f"{k} {v:.1f} s" for k, v in signal_seconds.items()) or "none (not a training split)"
        print(f"extra signals: {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
