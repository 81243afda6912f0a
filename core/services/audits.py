"""The audit service: the blind audit of a split (:mod:`core.audit`) behind the reviews' access rules.

:meth:`AuditService.next` sends a row's sample id, text and given label, and nothing of the model (not
even the stratum, which would tell how the shipped ranking sees the row); :meth:`AuditService.decide`
authorises the caller like any review write, stores the judgement, and only then returns what the
model says of the row. :meth:`AuditService.report` estimates the split's share of wrong labels and
rates every ranking signal.
"""

from __future__ import annotations

import threading

from core.audit.auditor import AuditError, Auditor
from core.audit.design import JUDGEMENTS, SAMPLINGS
from core.audit.report import audit_report, format_report
from core.review.access import Caller
from core.services.analyses import AnalysesService
from core.services.reviews import ReviewService

__all__ = ["JUDGEMENTS", "SAMPLINGS", "AuditError", "AuditService"]


class AuditService:
    """Blind audits of the analysed splits, recorded in the reviews' store."""

    def __init__(self, analyses: AnalysesService, reviews: ReviewService) -> None:
        self.analyses, self.reviews = analyses, reviews
        self._auditors: dict[str, Auditor] = {}
        self._lock = threading.Lock()

    def auditor(self, split: str | None = None) -> Auditor:
        """The split's :class:`~core.audit.auditor.Auditor` (built once; strata from the shown ranking)."""
        analysis = self.analyses.analysis(split)
        with self._lock:
            if analysis.split not in self._auditors:
                self._auditors[analysis.split] = Auditor(
                    self.reviews.store, analysis.review_key, self.analyses.ranked(analysis.split),
                    labels=analysis.labels, text_hashes=analysis.text_hashes)
            return self._auditors[analysis.split]

    def next(self, split: str | None = None, sampling: str = "uniform") -> dict | None:
        """The next row to judge, as ``{sample_id, text, label, sampling}``; ``None`` when none is left."""
        draws = self.auditor(split).next(sampling)
        if not draws:
            return None
        d = draws[0]
        return {"sample_id": d.sample_id, "text": d.text, "label": d.label, "sampling": d.sampling}

    def decide(self, sample_id: int, sampling: str, judgement: str, *, split: str | None = None,
               correct_label: str | None = None, reason: str = "", caller: Caller | None = None,
               reviewer: str = "") -> dict:
        """Authorise, store one judgement, and return the reveal (prediction, probabilities, scores).

        Raises :class:`~core.review.access.AccessDenied` for a caller who may not write, and
        :class:`~core.audit.auditor.AuditError` for a judgement that does not fit.
        """
        name = self.reviews.authorize(caller or Caller(claimed=reviewer))
        return self.auditor(split).decide(sample_id, sampling, judgement, correct_label=correct_label,
                                          reason=reason, reviewer=name)

    def report(self, split: str | None = None) -> dict:
        """The audit report (:func:`core.audit.report.audit_report`) of the split."""
        return audit_report(self.auditor(split))

    def report_text(self, split: str | None = None) -> str:
        """The report as Markdown."""
        return format_report(self.report(split))
