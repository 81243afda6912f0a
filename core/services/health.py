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

import numpy as np
import pandas as pd

from core.analysis.similar import SPACES as SIMILAR_SPACES
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
__all__ = ["ISSUE_COLUMNS", "ISSUE_KINDS", "SIMILAR_SPACES", "SLICE_VIEW_COLUMNS", "HealthService"]
ISSUE_COLUMNS = ("sample_id", "split", "label", "detail", "text")
SLICE_VIEW_COLUMNS = ("rank", "kind", "name", "size", "accuracy", "f1_weighted", "gap", "p_adjusted", "significant")


def _detail(row: pd.Series) -> str:
    """One issue's detail in words: "rows 364, 6563 · labels anger, sadness", "outlier score 0.918"."""
    from core.services.formatting import percent, sig, words

    names = {"sample_ids": "rows", "labels": "labels", "other_split": "other split", "other_id": "other row",
             "other_label": "other label", "pred": "predicted", "outlier_score": "outlier score",
             "word_share": "share of words", "similarity": "similarity"}
    parts = []
    for col, value in row.items():
        if col == "word_share":
            text = percent(value)
        elif isinstance(value, (float, np.floating)):
            text = sig(value)
        elif isinstance(value, (list, tuple, np.ndarray)):
            text = words(value)
        else:
            text = str(value)
        parts.append(f"{names[col]} {text}" if col in names else text)
    return " · ".join(parts)


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
        """Each split's accuracy and weighted F1 (as percentages) on all rows and without its leaked rows."""
        from core.services.formatting import readable

        m = self.report().metrics
        frame = pd.DataFrame([{"split": s, **v} for s, v in m.items()])
        shares = [c for c in frame.columns if c.startswith(("accuracy", "f1"))]
        return readable(frame, percents=shares).rename(columns=lambda c: c.replace("_", " "))

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
        frame["detail"] = frame[have].apply(_detail, axis=1) if have else ""
        return frame[list(ISSUE_COLUMNS)].reset_index(drop=True)

    # ---- explain by training examples -------------------------------------------------------

    def _examples(self, space: str):
        if TRAIN_SPLIT not in self.analyses.splits:
            raise InputError("similar training tweets need the train split analysed: start the app with "
                             "--splits train,validation (or set EMOTION_SPLITS)")

        def build():
            from core.analysis.similar import TrainingExamples

            a = self.analyses.analysis(TRAIN_SPLIT)
            vectors = a.hidden if space == "classifier" else self._sentences(TRAIN_SPLIT)
            return TrainingExamples(vectors, a.ranked(a.prob_source))

        return self._memo.get(("examples", space), build)

    def _space(self, space: str) -> str:
        from core.analysis.similar import check_space

        try:
            return check_space(space)
        except ValueError as exc:
            raise InputError(str(exc)) from exc

    def _encoder(self):
        def build():
            from core.analysis.signals.encoder import load_encoder

            try:
                return load_encoder()
            except ModuleNotFoundError as exc:
                raise InputError(f"the sentence encoder is not installed ({exc}); search the classifier's "
                                 "space instead") from exc

        return self._memo.get("encoder", build)

    def _sentences(self, split: str):
        """The sentence embeddings of an analysed split's texts (cached on disk with the signals')."""
        def build():
            from core.analysis.similar import sentence_embeddings

            texts = self.analyses.analysis(split).table["text"].astype(str).tolist()
            return sentence_embeddings(texts, cache_dir=self.settings.cache_dir, encoder=self._encoder())

        return self._memo.get(("sentences", split), build)

    def similar(self, text: str, k: int = 8, *, space: str = "sentence"):
        """The ``k`` training tweets nearest to a typed text (:func:`core.analysis.similar.similar`) in ``space``:
        ``sentence`` (the sentence encoder, which never saw the labels) or ``classifier`` ([CLS] states)."""
        from core.analysis.similar import similar

        space = self._space(space)
        examples = self._examples(space)
        encoder = self._encoder() if space == "sentence" else None
        try:
            return similar(text, int(k), classifier=self.live.classifier, examples=examples, encoder=encoder)
        except ValueError as exc:
            raise InputError(str(exc)) from exc

    def similar_to_sample(self, sample_id: int, split: str | None = None, k: int = 8, *, space: str = "sentence"):
        """The ``k`` training tweets nearest to an analysed sample in ``space`` (itself left out when it is a
        train row)."""
        space = self._space(space)
        a = self.analyses.analysis(split)
        row = a.sample(sample_id)
        exclude = int(sample_id) if a.split == TRAIN_SPLIT else None
        vector = a.hidden[int(sample_id)] if space == "classifier" else self._sentences(a.split)[int(sample_id)]
        return self._examples(space).nearest(vector, int(k), pred=str(row["pred"]), exclude=exclude)

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
