"""The audit service: the blind audit of a split (:mod:`core.audit`) behind the reviews' access rules.

:meth:`AuditService.next` draws on the server and sends a draw token, the row's sample id, text and
given label, and nothing of the model (not even the stratum, which would tell how the ranking sees the
row); :meth:`AuditService.decide` authorises the caller like any review write, accepts only a token the
server issued, once, stores the judgement, and only then returns what the model says of the row.
:meth:`AuditService.revise` corrects a revealed judgement with a reason (the estimates keep the blind
one); :meth:`AuditService.report` estimates the split's share of wrong labels and rates every signal.
"""

from __future__ import annotations

import threading

from core.audit.auditor import AuditError, Auditor
from core.audit.design import JUDGEMENTS, SAMPLINGS
from core.audit.importer import AUDIT_DATA, ImportResult, audit_decisions, committed_audit, import_audit_csv
from core.audit.report import audit_report, format_report
from core.audit.verdict import format_p
from core.review.access import Caller
from core.services.analyses import AnalysesService
from core.services.reviews import ReviewService, ReviewStoreError

__all__ = ["AUDIT_DATA", "JUDGEMENTS", "SAMPLINGS", "AuditError", "AuditService", "committed_audit", "format_p"]

class AuditService:
    """Blind audits of the analysed splits, recorded in the reviews' store."""

    def __init__(self, analyses: AnalysesService, reviews: ReviewService) -> None:
        self.analyses, self.reviews = analyses, reviews
        self._auditors: dict[str, Auditor] = {}
        self._judged: dict[tuple, tuple] = {}
        self._lock = threading.Lock()

    def auditor(self, split: str | None = None) -> Auditor:
        """The split's :class:`~core.audit.auditor.Auditor` (built once; strata from the shown ranking)."""
        analysis = self.analyses.analysis(split)
        with self._lock:
            if analysis.split not in self._auditors:
                table = self.analyses.ranked(analysis.split)
                # strata of the fixed mix, never of the learned ranking that judgements refit
                score = "fixed_mix_score" if "fixed_mix_score" in table else "mislabel_score"
                self._auditors[analysis.split] = Auditor(
                    self.reviews.store, analysis.review_key, table, labels=analysis.labels,
                    text_hashes=analysis.text_hashes, stratify_by=score)
            return self._auditors[analysis.split]

    def next(self, split: str | None = None, sampling: str = "uniform") -> dict | None:
        """The next row to judge, as ``{token, sample_id, text, label, sampling}``; ``None`` when none is left."""
        draws = self.auditor(split).next(sampling)
        if not draws:
            return None
        d = draws[0]
        return {"token": d.token, "sample_id": d.sample_id, "text": d.text, "label": d.label, "sampling": d.sampling}

    def decide(self, token: str, judgement: str, *, split: str | None = None, correct_label: str | None = None,
               reason: str = "", caller: Caller | None = None, reviewer: str = "") -> dict:
        """Authorise, store the judgement of the draw ``token`` names, and return the reveal.

        Raises :class:`~core.review.access.AccessDenied` for a caller who may not write, and
        :class:`~core.audit.auditor.AuditError` for a judgement that does not fit, a token this server did
        not issue or that was used, or a row judged already.
        """
        name = self.reviews.authorize(caller or Caller(claimed=reviewer))
        return self.auditor(split).decide(token, judgement, correct_label=correct_label, reason=reason,
                                          reviewer=name)

    def revise(self, sample_id: int, judgement: str, *, reason: str, split: str | None = None,
               correct_label: str | None = None, caller: Caller | None = None, reviewer: str = "") -> dict:
        """Authorise and record a revision of a revealed judgement (kept and shown; never estimated from)."""
        name = self.reviews.authorize(caller or Caller(claimed=reviewer))
        return self.auditor(split).revise(sample_id, judgement, correct_label=correct_label, reason=reason,
                                          reviewer=name)

    def import_committed(self, split: str | None = None, *, caller: Caller | None = None,
                         reviewer: str = "") -> ImportResult:
        """Import this project's committed audit of the split (refused rows are reported, never forced)."""
        self.reviews.authorize(caller or Caller(claimed=reviewer))
        auditor = self.auditor(split)
        name = self.analyses.analysis(split).split
        path = committed_audit(name)
        if path is None:
            raise AuditError(f"no committed audit of the {name} split (looked for {AUDIT_DATA.name}/"
                             f"emotion_{name}_audit.csv)")
        return import_audit_csv(auditor, path, split=name)

    def has_committed(self, split: str | None = None) -> bool:
        """Whether a committed audit exists for the split."""
        return committed_audit(self.analyses.analysis(split).split) is not None

    def judgements(self, split: str | None = None) -> tuple:
        """The split's blind judgements and their source: the review database's, else the committed audit's
        (read, never written); memoised until the review database's decision count changes."""
        auditor = self.auditor(split)
        name = self.analyses.analysis(split).split
        key = (name, self.reviews.store.count())
        if key not in self._judged:
            self._judged = {k: v for k, v in self._judged.items() if k[0] != name}
            self._judged[key] = audit_decisions(auditor, name)
        return (*self._judged[key], auditor)

    def audited(self, split: str | None = None) -> dict:
        """The served model on the audited labels (:func:`core.audit.verdict.audited_metrics`), with
        ``source`` (where the judgements came from), the per-class table and the confusion on audited rows."""
        from core.audit.verdict import audited_confusion, audited_metrics, audited_per_class

        try:
            decisions, source, auditor = self.judgements(split)
        except ReviewStoreError as exc:  # the views say so; the given-label metrics stand
            return {"rows": 0, "source": "none", "problem": str(exc)}
        table, labels = auditor.table, auditor.labels
        out = audited_metrics(table["pred"], table, decisions, labels)
        out["source"] = source
        if out["rows"]:
            out["per_class"] = audited_per_class(table["pred"], table, decisions, labels)
            out["confusion"] = audited_confusion(table["pred"], table, decisions, labels)
        return out

    def audited_compare(self, split: str | None = None) -> dict:
        """The served model (A) and the compare model (B) on the audited labels, paired."""
        from core.audit.verdict import audited_comparison

        try:
            decisions, source, auditor = self.judgements(split)
        except ReviewStoreError as exc:
            return {"rows": 0, "source": "none", "problem": str(exc)}
        b = self.analyses.analysis(split, "compare").table
        return {"source": source, **audited_comparison(auditor.table["pred"], b["pred"], auditor.table, decisions,
                                                       auditor.labels)}

    def report(self, split: str | None = None) -> dict:
        """The audit report (:func:`core.audit.report.audit_report`) of the split."""
        return audit_report(self.auditor(split))

    def report_text(self, split: str | None = None) -> str:
        """The report as Markdown."""
        return format_report(self.report(split))
