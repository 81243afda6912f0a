"""The analyses service: the analysed tables of every (model, split) and the queries the views run on them.

Sample rows, neighbours, filtered and ranked lists, calibration, robustness and the two-model
comparison all read the cached analyses (:mod:`core.analysis`); nothing here classifies a typed text
(that is :mod:`core.services.live`). Each memoised report is built once per key (callers of the
same report wait for that build); the memo's lock is held only to read or store, never while a
report is built, so one slow report holds up nothing else.

Example
-------
>>> analyses = AnalysesService.load(settings, data, classifiers)      # doctest: +SKIP
>>> analyses.samples(None, order="highest loss").head(3)              # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd

from core.analysis import queries
from core.analysis.compare import CHANGE_GROUPS, verdict
from core.analysis.crossval import find_oof
from core.analysis.precompute import analyse_split, read_cached_split
from core.analysis.workspace import PROB_SOURCES, TRAINED_ON_DEFAULT, Analysis, AnalysisRegistry, is_training_split
from core.classifier import metrics
from core.classifier.model import Classifier
from core.data.keys import content_key, text_hashes
from core.data.splits import EmotionData
from core.data.text_input import InputError
from core.services.memo import Memo as _Memo
from core.services.progress import AnalysisProgress, SplitNotReady
from core.settings import Settings

__all__ = ["ANY", "CHANGE_GROUPS", "ORDERS", "PROB_SOURCES", "REPORT_COLUMNS", "AnalysesService", "SplitInfo",
           "SplitNotReady", "verdict"]

ANY = queries.ANY
ORDERS = queries.ORDERS
REPORT_COLUMNS = metrics.REPORT_COLUMNS


@dataclass(frozen=True)
class SplitInfo:
    """What the views say about one analysis: its split, size, probability sources and metadata."""

    split: str
    role: str
    n_rows: int
    labels: list[str]
    sources: list[str]
    prob_source: str
    trained_on: bool
    meta: dict = field(default_factory=dict)
    oof_meta: dict | None = None
    ready: bool = True  # False: the split is still being analysed (what is known before: size, labels, sources)

    def source_text(self, source: str) -> str:
        """How the views name a probability source (:data:`PROB_SOURCES`)."""
        return PROB_SOURCES[source]

    def pick_source(self, source: str | None) -> str:
        """``source`` when this split has it, else the split's default source."""
        return source if source in self.sources else self.sources[0]


def _default_source(setting: str) -> str:
    """The probability source a trained-on split ranks with by default (``--prob-source``)."""
    return TRAINED_ON_DEFAULT if setting == "auto" else setting


class AnalysesService:
    """The cached analyses of every (role, split), and the read-only queries the views make of them."""

    def __init__(self, registry: AnalysisRegistry, *, settings: Settings, progress: AnalysisProgress | None = None,
                 order: Sequence[str] = ()) -> None:
        self.registry = registry
        self.settings = settings
        self.progress = progress or AnalysisProgress([], log=None)
        self._order = list(order)
        self._rest: Callable[[], list[str]] | None = None
        self.on_ready: Callable[[Analysis], None] | None = None  # told of each analysis :meth:`analyse_rest` adds
        self.deferred_rows: dict[str, int] = {}  # review key -> rows of each split :meth:`load` deferred
        self._data: EmotionData | None = None  # the splits' data and the model's labels (:meth:`facts`)
        self._labels: list[str] = []
        self._classifiers: dict[str, Classifier] = {}
        self._calibration = _Memo()
        self._robustness = _Memo()
        self._compare = _Memo()

    @classmethod
    def load(cls, settings: Settings, data: EmotionData, classifiers: Mapping[str, Classifier], *,
             show_progress: bool = True, defer: bool = False) -> tuple[AnalysesService, list[str]]:
        """Analyse (or read the cached analysis of) every split of ``settings.splits`` with every model.

        With ``defer`` only the cached analyses are read now (no model is loaded for them); every split still
        to analyse, the default one first, waits for :meth:`analyse_rest` (the app serves meanwhile, and a
        request on one of them gets :class:`SplitNotReady`). Returns the service and the warnings met
        (data issues, analysis notes).
        """
        registry = AnalysisRegistry({}, default_split=settings.split)
        order = [settings.split, *[s for s in settings.splits if s != settings.split]]
        notes = [issues for split in order if (issues := data[split].issue_summary())]

        def register(split: str, outcomes: dict) -> list[str]:
            trained_on = is_training_split(split)
            oof = find_oof(settings.cache_dir, data, split) if trained_on else None
            warnings: list[str] = []
            for role, out in outcomes.items():
                a = out.analysis
                registry.add(Analysis(role, classifiers[role], data, split, a.table, a.hidden, a.meta,
                                      list(out.warnings), trained_on=trained_on, oof=oof[0] if oof else None,
                                      oof_meta=oof[1] if oof else None,
                                      default_source=_default_source(settings.prob_source)))
                warnings.extend(out.warnings)
            return warnings

        def analyse(split: str, progress=None) -> list[str]:
            return register(split, {role: analyse_split(
                clf, data, split, cache_dir=settings.cache_dir, batch_size=settings.batch_size,
                show_progress=show_progress and progress is None, progress=progress,
                precomputed_url=settings.review_sync) for role, clf in classifiers.items()})

        later: list[str] = []
        for split in order:
            if not defer:
                notes.extend(analyse(split))
                continue
            cached = {role: read_cached_split(clf, data, split, cache_dir=settings.cache_dir,
                                              precomputed_url=settings.review_sync)
                      for role, clf in classifiers.items()}
            if all(out is not None for out in cached.values()):
                notes.extend(register(split, cached))
            else:
                later.append(split)
        service = cls(registry, settings=settings, progress=AnalysisProgress(later), order=settings.splits)
        # their review keys come from the data: decisions synced for them are admitted before they are analysed
        service._data, service._classifiers = data, dict(classifiers)
        service._labels = list(classifiers["model"].labels)
        service.deferred_rows = {content_key(text_hashes(data[s].texts), s): len(data[s]) for s in later}
        service._rest = lambda: service._analyse_later(later, analyse)
        return service, notes

    def analyse_rest(self) -> list[str]:
        """Analyse the splits :meth:`load` deferred, one by one (each serves as soon as it is ready);
        returns their warnings. A split that fails is said so (in the log and to its requests)."""
        rest, self._rest = self._rest, None
        return rest() if rest is not None else []

    def start_rest(self) -> threading.Thread:
        """:meth:`analyse_rest` in a background thread (started; returned)."""
        thread = threading.Thread(target=self.analyse_rest, name="analyse-rest", daemon=True)
        thread.start()
        return thread

    def _analyse_later(self, splits: list[str], analyse: Callable) -> list[str]:
        notes: list[str] = []
        for split in splits:
            start = time.perf_counter()
            self.progress.started(split)
            try:
                notes.extend(analyse(split, self.progress.update))
            except Exception as exc:  # noqa: BLE001 - one split failing leaves the others served; said in the log
                self.progress.failed(split, f"{type(exc).__name__}: {exc}")
                continue
            for a in [a for a in self.registry if a.split == split and self.on_ready is not None]:
                self.on_ready(a)
            self.progress.finished(split, time.perf_counter() - start)
        return notes

    # ---- which analyses ---------------------------------------------------------------------

    @property
    def splits(self) -> list[str]:
        """The splits asked for, in order: the analysed ones and those still being analysed
        (:attr:`ready_splits` are the analysed ones only)."""
        ready, pending = self.registry.splits, self.progress.pending
        order = self._order or ready
        return [s for s in order if s in ready or s in pending]

    @property
    def ready_splits(self) -> list[str]:
        """The splits whose analysis is ready, in the order they were asked for."""
        ready = self.registry.splits
        return [s for s in self._order or ready if s in ready]

    @property
    def model_labels(self) -> list[str]:
        """The served model's label names (known before any split is analysed)."""
        return list(self._labels)

    @property
    def default_split(self) -> str:
        """The split views show before one is picked."""
        return self.registry.default_split

    @property
    def has_compare(self) -> bool:
        """Whether a second checkpoint (role ``compare``) was analysed."""
        return "compare" in self.registry.roles

    def analysis(self, split: str | None = None, role: str = "model") -> Analysis:
        """The :class:`core.analysis.workspace.Analysis` of ``split`` (default: the default split) in ``role``.

        Raises :class:`core.services.progress.SplitNotReady` for a split still being analysed."""
        split = split or self.default_split
        if not self.progress.is_ready(split):
            raise self.progress.not_ready(split)
        return self.registry.get(split, role)

    def __iter__(self):
        return iter(self.registry)

    def info(self, split: str | None = None, role: str = "model") -> SplitInfo:
        """The :class:`SplitInfo` of one analysis."""
        a = self.analysis(split, role)
        return SplitInfo(a.split, role, len(a.table), list(a.labels), list(a.sources), a.prob_source,
                         bool(a.trained_on), dict(a.meta), a.oof_meta)

    def facts(self, split: str | None = None, role: str = "model") -> SplitInfo:
        """:meth:`info` where the split is ready, else what is known before its analysis (``ready`` False):
        its size, the model's labels and its own probability source. For building views, never for numbers."""
        split = split or self.default_split
        if self.progress.is_ready(split) or self._data is None:
            return self.info(split, role)
        trained_on = is_training_split(split)
        own = "in-sample" if trained_on else "held-out"
        return SplitInfo(split, role, len(self._data[split]), list(self._labels), [own], own, trained_on, ready=False)

    def source(self, split: str | None = None, role: str = "model") -> Analysis | SimpleNamespace:
        """The split's analysis, or, while it is still being analysed, its ``classifier`` and ``data`` (what a
        command built from the model and the data needs: the retrain command)."""
        split = split or self.default_split
        if self.progress.is_ready(split) or role not in self._classifiers:
            return self.analysis(split, role)
        return SimpleNamespace(classifier=self._classifiers[role], data=self._data, split=split)

    def labels(self, split: str | None = None) -> list[str]:
        """Label names in model order."""
        return list(self.analysis(split).labels)

    # ---- tables and rows --------------------------------------------------------------------

    def table(self, split: str | None = None, role: str = "model") -> pd.DataFrame:
        """The analysis table (one row per sample, index = sample id); do not modify it."""
        return self.analysis(split, role).table

    def ranked(self, split: str | None = None, source: str | None = None) -> pd.DataFrame:
        """The table with losses and mislabel scores from probability ``source`` (default: the split's)."""
        a = self.analysis(split)
        return a.ranked(source if source in a.sources else None)

    def orders(self, split: str | None = None) -> list[str]:
        """The orders the split's lists and review queue offer: loss, confidence, the stored mislabel score,
        and one per signal of the shipped ranking where the analysis holds it (a split the model trained on).
        A split still being analysed offers the orders every split has."""
        if not self.progress.is_ready(split or self.default_split):
            return list(queries.ORDERS)
        return queries.orders_of(self.table(split))

    def sample(self, sample_id: int, split: str | None = None, role: str = "model") -> dict:
        """One analysis row as a dict, with ``sample_id``."""
        return self.analysis(split, role).sample(sample_id)

    def neighbours(self, sample_id: int, *, k: int = 8, split: str | None = None) -> pd.DataFrame:
        """The ``k`` nearest samples in hidden-state space: sample_id, text, label, pred, similarity."""
        return self.analysis(split).neighbours(sample_id, k=k)

    def samples(self, split: str | None = None, *, source: str | None = None, **filters) -> pd.DataFrame:
        """Rows of the ranked table matching ``filters`` (:func:`core.analysis.queries.filter_samples`)."""
        return queries.filter_samples(self.ranked(split, source), **filters)

    def cell_samples(self, split: str | None, *, true_label: str, pred_label: str) -> pd.DataFrame:
        """The samples of one confusion-matrix cell, highest loss first."""
        return queries.cell_samples(self.table(split), true_label=true_label, pred_label=pred_label)

    def by_ids(self, split: str | None, ids: Iterable[int]) -> pd.DataFrame:
        """The rows with these sample ids (unknown ids ignored), highest loss first."""
        return queries.by_ids(self.table(split), ids)

    def class_counts(self, split: str | None = None) -> dict[str, int]:
        """Samples per given label, in label order."""
        a = self.analysis(split)
        return a.table["label"].value_counts().reindex(a.labels, fill_value=0).astype(int).to_dict()

    def confusion(self, split: str | None = None) -> np.ndarray:
        """(K, K) counts: row = given label, column = predicted, in label order."""
        a = self.analysis(split)
        return metrics.confusion_matrix_of(a.table, a.labels)

    def per_class_report(self, split: str | None = None) -> pd.DataFrame:
        """Precision, recall, F1 and support per class, then accuracy and weighted means
        (:func:`core.classifier.metrics.report_from_matrix`)."""
        return metrics.report_from_matrix(self.confusion(split), self.labels(split))

    # ---- reports ----------------------------------------------------------------------------

    def calibration(self, split: str | None = None, *, role: str = "model"):
        """The :class:`core.analysis.calibration.CalibrationReport` of ``split`` (memoised; no model work)."""
        a = self.analysis(split, role)

        def build():
            from core.analysis.calibration import calibration_report
            from core.analysis.table import probs_of

            ids = a.table["label"].map({name: i for i, name in enumerate(a.labels)})
            keep = ids.notna().to_numpy()
            return calibration_report(probs_of(a.table, a.labels)[keep], ids[keep].astype(int).to_numpy(), a.labels)

        return self._calibration.get((role, a.split), build)

    def robustness(self, split: str | None = None, *, role: str = "model", seed: int = 0, progress=None):
        """The :class:`core.analysis.robustness.RobustnessReport` of ``split``: built once (model work),
        cached beside the analysis and memoised here.

        ``progress(done, total)`` is called while it is built (not when it is read back).
        """
        a = self.analysis(split, role)

        def build():
            from core.analysis.robustness import analysis_key, load_or_build_report
            from core.analysis.table import probs_of
            from core.classifier.model import BULK_OVERHEAD_TOKENS

            batch = self.settings.batch_size

            def predict(texts: list[str]) -> np.ndarray:  # a chunk of similar-length texts: few, full batches
                return a.classifier.predict(texts, batch_size=batch, overhead_tokens=BULK_OVERHEAD_TOKENS).probs

            report, _ = load_or_build_report(
                predict, a.table["text"].tolist(), probs_of(a.table, a.labels), a.labels,
                analysis_key=analysis_key(a.meta, a.classifier.max_length), cache_dir=self.settings.cache_dir,
                seed=seed, progress=progress, encode=lambda t: a.classifier.tokenize([t])[0][0],
                meta={"model": a.meta.get("model"), "data": a.meta.get("data"), "split": a.split, "role": role})
            return report

        return self._robustness.get((role, a.split, int(seed)), build)

    def robustness_cached(self, split: str | None = None, *, role: str = "model", seed: int = 0) -> bool:
        """Whether the robustness report of ``split`` is ready without model work (in memory or on disk)."""
        from core.analysis.robustness import analysis_key, report_path

        a = self.analysis(split, role)
        if (role, a.split, int(seed)) in self._robustness:
            return True
        key = analysis_key(a.meta, a.classifier.max_length)
        return report_path(self.settings.cache_dir, key, seed=seed).is_file()

    def forget_reports(self) -> None:
        """Drop the memoised reports (the disk caches stay); the next call reads or builds them again."""
        for memo in (self._calibration, self._robustness, self._compare):
            memo.clear()

    def compare_report(self, split: str | None = None, *, decisions: pd.DataFrame | None = None):
        """The :class:`core.analysis.compare.CompareReport` of the served model (A) against the compare model
        (B) on ``split``, from the two cached analyses (memoised per split). With review ``decisions``
        (:meth:`core.services.reviews.ReviewService.decisions`) it also holds the comparison on the
        corrected labels (built each time: decisions change)."""
        if not self.has_compare:
            raise InputError("no compare model loaded; start the app with --compare-model")
        a = self.analysis(split)
        if decisions is not None and len(decisions):
            from core.analysis.compare import compare_tables

            return compare_tables(a.table, self.analysis(a.split, "compare").table, list(a.labels),
                                  decisions=decisions)

        def build():
            from core.analysis.compare import compare_tables

            return compare_tables(a.table, self.analysis(a.split, "compare").table, list(a.labels))

        return self._compare.get(a.split, build)
