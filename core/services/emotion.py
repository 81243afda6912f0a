"""The object the app builds: the three services over one set of models, analyses and review store.

- :attr:`EmotionService.live` (:class:`core.services.live.LiveService`): classify, explain, probe;
- :attr:`EmotionService.analyses` (:class:`core.services.analyses.AnalysesService`): the analysed
  tables and their queries, calibration, robustness, compare;
- :attr:`EmotionService.reviews` (:class:`core.services.reviews.ReviewService`): queue, decide,
  export, sync and access (the one place that authorises a write);
- :attr:`EmotionService.audits` (:class:`core.services.audits.AuditService`): the blind audit of a
  split, recorded as review decisions under the same access rules.
- :attr:`EmotionService.ranking` (:class:`core.services.ranking.RankingService`): which model ranks a
  trained-on split (the learned error model once enough judgements exist), refitted from the judgements;
- :attr:`EmotionService.health` (:class:`core.services.health.HealthService`): the data-health report,
  similar training tweets and error slices.
- :attr:`EmotionService.patterns` (:class:`core.services.patterns.PatternService`): the suspects grouped by
  pattern, the spot check and the bulk action with its undo, recorded as review decisions.

The views call the services. The shortcuts below the facts (``classify``, ``explain``,
``review_decide``...) are one-line forwards kept for scripts and the README's "Use from Python".

Importing this module loads no model and no torch; :meth:`EmotionService.load` does the work.

Example
-------
>>> svc = EmotionService.load(Settings(model="../shared/models/emotion-minilm",
...                                    data="../shared/emotion"))          # doctest: +SKIP
>>> svc.classify(["i love my new phone"])[0].label                        # doctest: +SKIP
'joy'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from core.classifier.model import Classifier, load_classifier
from core.classifier.pending_model import PendingClassifier, pending_classifier
from core.data.splits import load_splits
from core.explanation.words import Explanation
from core.services.analyses import ANY, AnalysesService
from core.services.audits import AuditService
from core.services.health import HealthService
from core.services.live import Classification, LiveService
from core.services.patterns import PatternService
from core.services.ranking import RankingService
from core.services.reviews import EXPORT_KINDS, REVIEW_ACTIONS, ReviewService
from core.settings import Settings

__all__ = ["ANY", "EXPORT_KINDS", "REVIEW_ACTIONS", "Classification", "EmotionService", "Explanation"]


class EmotionService:
    """The live, analyses and reviews services of one app, and the facts they share."""

    def __init__(self, classifiers: Mapping[str, Classifier], analyses: AnalysesService, *, settings: Settings,
                 warnings: Sequence[str] = ()) -> None:
        self.settings = settings
        self.warnings = list(warnings)
        self.live = LiveService(classifiers, settings=settings)
        self.analyses = analyses
        self.reviews = ReviewService(analyses, settings=settings)
        self.audits = AuditService(analyses, self.reviews)
        self.health = HealthService(analyses, self.live, settings=settings)
        self.ranking = RankingService(analyses, self.reviews, self.audits)
        self.patterns = PatternService(analyses, self.reviews, self.audits, settings=settings)

    @classmethod
    def load(cls, settings: Settings, *, show_progress: bool = True, defer_model: bool = False,
             defer_splits: bool = False) -> EmotionService:
        """Load the data, the model(s) and the (cached) analysis of every split in ``settings.splits``.

        With ``defer_splits`` only the default split is analysed now; the others follow on
        ``analyses.analyse_rest()`` (or ``analyses.start_rest()``, a background thread), each served as soon
        as it is ready; until then a request on one gets :class:`core.services.progress.SplitNotReady`.

        With ``defer_model`` a model whose analyses are all cached is not loaded yet: its config is
        checked now, the weights load on first use or on :meth:`finish_loading`
        (:mod:`core.classifier.pending_model`), so the app serves its first page without waiting for them.
        The review store opens on first use and its sync starts on ``reviews.start_sync()``.

        Raises :class:`core.data.splits.DataError` or :class:`core.classifier.model.ModelError` with a message
        for people.
        """
        data = load_splits(settings.data, splits=settings.splits, text_column=settings.text_column,
                           label_column=settings.label_column)
        refs = {"model": settings.model}
        if settings.compare_model:
            refs["compare"] = settings.compare_model
        load = pending_classifier if defer_model else load_classifier
        classifiers = {
            role: load(ref, data_labels=data.label_names, max_length=settings.max_length,
                       label_origin=data.label_origin, backend=settings.backend, cache_dir=settings.cache_dir)
            for role, ref in refs.items()
        }
        analyses, notes = AnalysesService.load(settings, data, classifiers, show_progress=show_progress,
                                               defer=defer_splits)
        service = cls(classifiers, analyses, settings=settings, warnings=notes)
        analyses.on_ready = service.analysis_ready
        for analysis in analyses.registry:
            service.ranking.check(analysis.split)  # in the background: the first page does not wait
        return service

    def analysis_ready(self, analysis) -> None:
        """A split analysed after start-up: rekey its legacy decisions, then rank it from the judgements."""
        self.reviews.analysis_ready(analysis)
        self.ranking.check(analysis.split)

    def finish_loading(self) -> list[str]:
        """Load any model :meth:`load` deferred; returns each model's backend note.

        Raises :class:`core.classifier.model.ModelError` when the weights cannot be read.
        """
        notes = []
        for clf in self.live.classifiers.values():
            if isinstance(clf, PendingClassifier):
                clf = clf.loaded()
            notes.append(clf.backend_note)
        return notes

    # ---- facts ------------------------------------------------------------------------------

    @property
    def classifier(self) -> Classifier:
        """The served model."""
        return self.live.classifier

    @property
    def labels(self) -> list[str]:
        """Label names in model order."""
        return self.live.labels

    @property
    def splits(self) -> list[str]:
        """The analysed splits, in the order they were asked for."""
        return self.analyses.splits

    @property
    def has_compare(self) -> bool:
        """Whether a second checkpoint is loaded for comparison."""
        return "compare" in self.live.classifiers

    # ---- shortcuts (one-line forwards for scripts and tests) --------------------------------

    def classify(self, texts: Sequence[str]) -> list[Classification]:
        return self.live.classify(texts)

    def classify_one(self, text: str) -> Classification:
        return self.live.classify_one(text)

    def explain(self, text: str, *, target: str | None = None, role: str = "model",
                faithful: bool = False) -> Explanation:
        """:meth:`core.services.live.LiveService.explain`; the faithfulness line only with ``faithful``."""
        return self.live.explain(text, target=target, role=role, faithful=faithful)

    def probe(self, text: str, **kw):
        return self.live.probe(text, **kw)

    def similar(self, text: str, k: int = 8, **kw):
        """The ``k`` training tweets nearest to ``text`` (:meth:`core.services.health.HealthService.similar`)."""
        return self.health.similar(text, k, **kw)

    @property
    def explainer(self):
        return self.live.explainer_for("model")

    def analysis(self, split: str | None = None, role: str = "model"):
        return self.analyses.analysis(split, role)

    @property
    def table(self) -> pd.DataFrame:
        return self.analyses.table()

    @property
    def hidden(self) -> np.ndarray:
        return self.analyses.analysis().hidden

    @property
    def meta(self) -> dict:
        return self.analyses.analysis().meta

    @property
    def dataset_key(self) -> str:
        """The review key of the default split (see :mod:`core.data.keys`)."""
        return self.analyses.analysis().review_key

    def sample(self, sample_id: int, split: str | None = None) -> dict:
        return self.analyses.sample(sample_id, split)

    def neighbours(self, sample_id: int, *, k: int = 8, split: str | None = None) -> pd.DataFrame:
        return self.analyses.neighbours(sample_id, k=k, split=split)

    def calibration(self, split: str | None = None, *, role: str = "model"):
        return self.analyses.calibration(split, role=role)

    def robustness(self, split: str | None = None, **kw):
        return self.analyses.robustness(split, **kw)

    def robustness_cached(self, split: str | None = None, **kw) -> bool:
        return self.analyses.robustness_cached(split, **kw)

    def compare_report(self, split: str | None = None):
        return self.analyses.compare_report(split)

    def review_queue(self, split: str | None = None, **kw) -> pd.DataFrame:
        return self.reviews.queue(split, **kw)

    def review_decide(self, sample_id: int, action: str, **kw):
        return self.reviews.decide(sample_id, action, **kw)

    def review_decisions(self, split: str | None = None, *, which: str = "latest") -> pd.DataFrame:
        return self.reviews.decisions(split, which=which)

    def review_progress(self, split: str | None = None) -> tuple[int, int]:
        return self.reviews.progress(split)

    def review_export(self, kind: str, **kw):
        return self.reviews.export(kind, **kw)

    def audit_next(self, split: str | None = None, sampling: str = "uniform") -> dict | None:
        return self.audits.next(split, sampling)

    def audit_decide(self, token: str, judgement: str, **kw) -> dict:
        return self.audits.decide(token, judgement, **kw)

    def audit_report(self, split: str | None = None) -> dict:
        return self.audits.report(split)

    def audited(self, split: str | None = None) -> dict:
        """The served model on the split's audited labels (:meth:`core.services.audits.AuditService.audited`)."""
        return self.audits.audited(split)

    def retrain_command(self, split: str | None = None) -> str:
        return self.reviews.retrain_command(split)
