"""The health service: the data-health report, similar training tweets and error slices of the analysed splits.

It reads the analyses the app holds (:class:`core.services.analyses.AnalysesService`) and classifies a
typed text through the live service; each report is built once (memoised) and the data-health report
is also cached on disk beside the analyses (:mod:`core.datahealth`).

Example
-------
>>> health = HealthService(service.analyses, service.live, settings=settings)   # doctest: +SKIP
>>> health.counts()                                                             # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from core.analysis.workspace import TRAIN_SPLIT
from core.data.text_input import InputError
from core.services.analyses import AnalysesService, _Memo
from core.settings import Settings

#: Lists of the data-health report a view can show: name -> (report attribute, detail columns).
ISSUE_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "leakage between splits": ("leakage", ("kind", "other_split", "other_id", "other_label", "similarity")),
    "conflicting duplicates": ("conflicts", ("kind", "sample_ids", "labels")),
    "outliers": ("outliers", ("pred", "outlier_score")),
    "non-emotion text": ("non_emotion", ("reasons", "word_share")),
}
ISSUE_COLUMNS = ("sample_id", "split", "label", "detail", "text")
SLICE_VIEW_COLUMNS = ("rank", "kind", "name", "size", "accuracy", "f1_weighted", "gap", "p_adjusted", "significant")


class HealthService:
    """Data health, explanation by training examples and error slices."""

    def __init__(self, analyses: AnalysesService, live, *, settings: Settings) -> None:
        self.analyses = analyses
        self.live = live
        self.settings = settings
        self._memo = _Memo()

    # ---- data health ------------------------------------------------------------------------

    def report(self):
        """The :class:`core.datahealth.report.DataHealthReport` of the analysed splits (served model)."""
        def build():
            from core.datahealth.run import data_health

            items = {s: self.analyses.analysis(s) for s in self.analyses.splits}
            data = next(iter(items.values())).data
            return data_health(data, splits=list(items), analyses=items, cache_dir=self.settings.cache_dir)[0]

        return self._memo.get("report", build)

    def counts(self) -> pd.DataFrame:
        """Rows affected per kind of issue (rows) and split (columns; ``class_imbalance``: labels), and the
        finer counts (exact pairs, groups) in ``detail``."""
        report = self.report()
        out = []
        for kind, per in report.counts().items():
            row = {"issue": kind, **{s: per.get(s, 0) for s in report.splits}}
            row["detail"] = ", ".join(f"{k} {v}" for k, v in per.items() if k not in report.splits)
            out.append(row)
        return pd.DataFrame(out)

    def metrics(self) -> pd.DataFrame:
        """Each split's accuracy and weighted F1 on all rows and without its leaked rows."""
        m = self.report().metrics
        return pd.DataFrame([{"split": s, **v} for s, v in m.items()]).round(4)

    def rules(self) -> dict[str, str]:
        """The rule behind each kind of issue."""
        from core.datahealth.report import RULES

        return dict(RULES)

    def issues(self, kind: str) -> pd.DataFrame:
        """One list of the report, most severe first, as ``sample_id, split, label, detail, text`` (for a
        conflict group: its first sample). Raises :class:`ValueError` for an unknown kind."""
        if kind not in ISSUE_KINDS:
            raise ValueError(f"unknown issue kind {kind!r}; choose one of {list(ISSUE_KINDS)}")
        attr, details = ISSUE_KINDS[kind]
        frame = getattr(self.report(), attr)
        if frame.empty:
            return pd.DataFrame(columns=list(ISSUE_COLUMNS))
        frame = frame.copy()
        if "sample_id" not in frame:
            frame["sample_id"] = frame["sample_ids"].map(lambda ids: int(ids[0]))
            frame["label"] = frame["labels"].map(lambda x: " / ".join(x))
        have = [c for c in details if c in frame]
        frame["detail"] = frame[have].astype(str).agg(" · ".join, axis=1) if have else ""
        return frame[list(ISSUE_COLUMNS)].reset_index(drop=True)

    # ---- explain by training examples -------------------------------------------------------

    def _examples(self):
        if TRAIN_SPLIT not in self.analyses.splits:
            raise InputError("similar training tweets need the train split analysed: start the app with "
                             "--splits train,validation (or set EMOTION_SPLITS)")

        def build():
            from core.analysis.similar import TrainingExamples

            a = self.analyses.analysis(TRAIN_SPLIT)
            return TrainingExamples(a.hidden, a.ranked(a.prob_source))

        return self._memo.get("examples", build)

    def similar(self, text: str, k: int = 8):
        """The ``k`` training tweets nearest to a typed text (:func:`core.analysis.similar.similar`)."""
        from core.analysis.similar import similar

        try:
            return similar(text, int(k), classifier=self.live.classifier, examples=self._examples())
        except ValueError as exc:
            raise InputError(str(exc)) from exc

    def similar_to_sample(self, sample_id: int, split: str | None = None, k: int = 8):
        """The ``k`` training tweets nearest to an analysed sample (itself left out when it is a train row)."""
        a = self.analyses.analysis(split)
        row = a.sample(sample_id)
        exclude = int(sample_id) if a.split == TRAIN_SPLIT else None
        return self._examples().nearest(a.hidden[int(sample_id)], int(k), pred=str(row["pred"]), exclude=exclude)

    # ---- error slices -----------------------------------------------------------------------

    def slices(self, split: str | None = None) -> pd.DataFrame:
        """Every candidate error slice of ``split``, ranked (:func:`core.analysis.slices.find_slices`)."""
        a = self.analyses.analysis(split)

        def build():
            from core.analysis.slices import find_slices

            return find_slices(a.table, a.hidden, list(a.labels))

        return self._memo.get(("slices", a.split), build)

    def slice_samples(self, rank: int, split: str | None = None) -> pd.DataFrame:
        """The samples of the slice ranked ``rank`` in :meth:`slices` (index = sample id), highest loss first."""
        s = self.slices(split)
        hit = s[s["rank"] == int(rank)]
        if hit.empty:
            raise InputError(f"no slice ranked {rank}")
        return self.analyses.by_ids(split, hit["sample_ids"].iloc[0])
