"""The ranking of a trained-on split: the learned error model when enough judgements exist, else the fixed mix.

:class:`RankingService` fits :mod:`core.audit.error_model` on every judgement the review store holds for a
split the model trained on (blind audit judgements and queue decisions), sets the split's stored
``mislabel_score`` to its output (the fixed mix stays in ``fixed_mix_score``), and refits in the background
once :data:`~core.audit.error_model.REFIT_EVERY` new judgements are stored (checked whenever the queue or its
header is read) or on demand. A restart refits from the store. :meth:`RankingService.state` says which
model ranks the split and how well it ranks uniform audit rows it did not see.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pandas as pd

from core.audit import error_model as em
from core.audit.evidence import evidence_columns, evidence_matrix, reasons
from core.audit.suggest import fit_suggester, vote_suggestion

log = logging.getLogger(__name__)
FIXED = "fixed mix"
#: Audited-wrong rows with their correct class before the suggestion is learned rather than voted.
MIN_SUGGEST = 20
LEARNED = "learned error model"


class RankingService:
    """Which model ranks each trained-on split, refitted from the judgements in the review store."""

    def __init__(self, analyses, reviews, audits) -> None:
        self.analyses, self.reviews, self.audits = analyses, reviews, audits
        self._state: dict[str, dict] = {}
        self._models: dict[str, em.ErrorModel] = {}
        self._evidence: dict[str, pd.DataFrame] = {}
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._suggesters: dict[str, object] = {}
        self._records: dict[str, str] = {}

    def applies(self, split: str | None = None) -> bool:
        """Whether ``split`` is ranked by signals (a split the model trained on, with signal columns)."""
        a = self.analyses.analysis(split)
        return bool(a.trained_on) and bool(evidence_columns(a.table))

    def judgements(self, split: str | None = None) -> pd.DataFrame:
        """The split's training rows for the error model (:func:`core.audit.error_model.judgements_frame`)."""
        audit = self.audits.auditor(split).decisions()
        queue = self.reviews.decisions(split)
        if len(queue) and "audit" in queue:
            queue = queue[queue["audit"].isna()]
        if len(queue) and "row" in queue:  # matched to the current rows by text (a row id, not a stored id)
            queue = queue[queue["row"] >= 0].assign(sample_id=lambda f: f["row"].astype(int))
        return em.judgements_frame(audit, queue)

    def _evidence_of(self, split: str) -> pd.DataFrame:
        a = self.analyses.analysis(split)
        if split not in self._evidence:
            self._evidence[split] = evidence_matrix(a.table, a.labels, evidence_columns(a.table))
        return self._evidence[split]

    def refit(self, split: str | None = None) -> dict:
        """Fit (or fall back to the fixed mix) now, apply the ranking to the split, and return :meth:`state`."""
        a = self.analyses.analysis(split)
        split = a.split
        if not self.applies(split):
            return {"ranker": "the analysis's own score", "why": "not a split the model trained on, or no signals"}
        start = time.perf_counter()
        judged = self.judgements(split)
        evidence = self._evidence_of(split)
        judged = judged[judged["sample_id"].isin(evidence.index)]
        why = em.enough(judged)
        count = self.reviews.store.reviewed_count(a.review_key)
        if why:
            self._apply(a, None)
            state = {"ranker": FIXED, "why": why, "judgements": len(judged), "count": count}
        else:
            model = em.fit_error_model(evidence, judged)
            quality = em.held_out_quality(evidence, judged)
            model.quality = quality
            self._apply(a, model.score(evidence))
            with self._lock:
                self._models[split] = model
            state = {"ranker": LEARNED, "kind": model.kind, "judgements": len(judged), "wrong": model.n_wrong,
                     "audit": int((judged["source"] == "audit").sum()),
                     "queue": int((judged["source"] == "queue").sum()),
                     "queue_weight": em.QUEUE_WEIGHT, "quality": quality, "count": count, "weights": model.weights()}
        state["seconds"] = round(time.perf_counter() - start, 2)
        self._fit_suggester(a)
        with self._lock:
            self._state[split] = state
        return state

    def _fit_suggester(self, analysis) -> None:
        """The learned suggestion (:func:`core.audit.suggest.fit_suggester`) once enough audited-wrong rows
        name their correct class; the judges' vote until then."""
        audit = self.audits.auditor(analysis.split).decisions()
        wrong = audit[(audit["judgement"] == "wrong") & audit["correct_label"].notna()] if len(audit) else audit
        suggester = None
        if len(wrong) >= MIN_SUGGEST:
            suggester = fit_suggester(analysis.table, wrong.assign(sample_id=wrong["sample_id"].astype(int)),
                                      analysis.labels)
        with self._lock:
            self._suggesters[analysis.split] = suggester
        record = self._suggestion_record(analysis.split, wrong)
        with self._lock:
            self._records[analysis.split] = record

    def suggest(self, rows: pd.DataFrame, split: str) -> np.ndarray:
        """The suggested class of each of ``rows`` (the learned suggester where fitted, else the vote)."""
        with self._lock:
            suggester = self._suggesters.get(split)
        return suggester(rows) if suggester is not None else vote_suggestion(rows)

    def _apply(self, analysis, score: np.ndarray | None) -> None:
        table = analysis.table
        if score is None and "fixed_mix_score" not in table:
            return  # the fixed mix ranks it already
        fixed = table["fixed_mix_score"] if "fixed_mix_score" in table else table["mislabel_score"]
        new = table.copy()
        new["fixed_mix_score"] = fixed.to_numpy()
        new["mislabel_score"] = fixed.to_numpy() if score is None else score.astype(np.float64)
        analysis.table = new  # a new object: cached row orders are rebuilt

    def check(self, split: str | None = None) -> None:
        """Refit in the background when the split has :data:`REFIT_EVERY` judgements more than the last fit."""
        try:
            a = self.analyses.analysis(split)
        except Exception:  # noqa: BLE001 - a split not ready yet: nothing to refit
            return
        if not self.applies(a.split):
            return
        with self._lock:
            last = self._state.get(a.split, {}).get("count")
            busy = a.split in self._running
        if busy:
            return
        try:
            due = last is None or self.reviews.store.reviewed_count(a.review_key) - last >= em.REFIT_EVERY
        except Exception:  # noqa: BLE001 - a store that cannot open: the queue says why, the ranking stays
            return
        if due:
            self.start(a.split)  # the first fit (a start or a restart) reads the store in the background

    def start(self, split: str) -> threading.Thread:
        """Refit ``split`` in a background thread."""
        with self._lock:
            self._running.add(split)

        def run() -> None:
            try:
                self.refit(split)
            except Exception:  # noqa: BLE001 - a failed fit keeps the ranking it had, and says so in the log
                log.exception("refitting the ranking of %s failed", split)
            finally:
                with self._lock:
                    self._running.discard(split)

        thread = threading.Thread(target=run, name=f"ranking-{split}", daemon=True)
        thread.start()
        return thread

    def state(self, split: str | None = None) -> dict:
        """Which model ranks the split, on how many judgements, and its held-out quality."""
        split = self.analyses.analysis(split).split
        with self._lock:
            state = dict(self._state.get(split, {}))
            state["refitting"] = split in self._running
        return state

    def header(self, split: str | None = None) -> str:
        """One line for the queue: the ranking, its judgements and its held-out ROC AUC and top-5% precision."""
        s = self.state(split)
        busy = " · refitting…" if s.get("refitting") else ""
        if s.get("ranker") != LEARNED:
            why = s.get("why", "not fitted yet")
            return f"Ranked by the {FIXED} of signals ({why}){busy}"
        q = s["quality"]
        auc = (f"ROC AUC {q['roc_auc']:.2f} ({q['roc_auc_ci'][0]:.2f}–{q['roc_auc_ci'][1]:.2f})"
               if "roc_auc" in q else "ROC AUC: too few uniform rows")
        top = (f"top 5% precision {q['top_precision']:.0%} ({q['top_precision_ci'][0]:.0%}–"
               f"{q['top_precision_ci'][1]:.0%}, {q['top_rows']} rows)" if "top_precision" in q
               else "top 5%: no held-out row there")
        return (f"Ranked by the {LEARNED} ({s['kind']}; {s['audit']} audit judgements and {s['queue']} queue "
                f"decisions, each weighing {s['queue_weight']:g} of an audit row as the queue is drawn from the top; "
                f"{s['wrong']} wrong) · held out on {q['uniform_rows']} uniform audit rows: {auc}, {top}{busy}")

    def evidence(self, sample_id: int, split: str | None = None) -> dict:
        """Why this row is suspect: each signal's reason (with its weight in the learned score) and the
        suggested class."""
        a = self.analyses.analysis(split)
        row = a.table.iloc[int(sample_id)]
        ranks = self._evidence_of(a.split).iloc[int(sample_id)]
        with self._lock:
            model = self._models.get(a.split)
        contrib = model.contributions(ranks) if model is not None else None
        listed = reasons(row, ranks, contrib)
        line = next((r["says"] for r in listed if r["signal"] == "suggest"), "")
        rows = a.table.iloc[[int(sample_id)]]
        suggested = self.suggest(rows, a.split)[0]
        if suggested and suggested != vote_suggestion(rows)[0]:
            line = f"learned from the audit's corrections; {line or 'no judge reads another class'}"
        return {"reasons": listed, "suggested": suggested,
                "suggest_line": line, "suggestion_right": self.suggestion_record(a.split),
                "ranker": LEARNED if model is not None else FIXED}

    def suggestion_record(self, split: str) -> str:
        """How often the suggested class equalled the audited correct class on the split's audited-wrong rows
        (computed at each fit, not on every sample shown)."""
        with self._lock:
            return self._records.get(split, "")

    def _suggestion_record(self, split: str, wrong: pd.DataFrame) -> str:
        if not len(wrong):
            return ""
        table = self.analyses.analysis(split).table
        got = self.suggest(table.iloc[wrong["sample_id"].astype(int).to_numpy()], split)
        hits = int((got == wrong["correct_label"].to_numpy()).sum())
        fitted = self._suggesters.get(split) is not None
        how = " (in-sample: the suggester learned from these rows)" if fitted else ""
        return f"{hits} of {len(wrong)} audited wrong labels ({hits / len(wrong):.0%}){how}"
