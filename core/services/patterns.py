"""The patterns service: review a split's suspects by pattern, behind a spot check, in one bulk action.

:meth:`PatternService.patterns` groups the split's suspects (:mod:`core.review.patterns`; encoder clusters
from the cached sentence embeddings, :mod:`core.review.pattern_clusters`) and gives each pattern its
audited precision (the split's blind judgements: the review database's, else the committed audit,
:func:`core.audit.importer.audit_decisions`). :meth:`PatternService.spot_check` draws k rows of a pattern
for a reviewer to judge like any decision (:meth:`core.services.reviews.ReviewService.decide`);
:meth:`PatternService.apply` records the bulk action on the pattern's other undecided rows once the spot
check passes (:mod:`core.review.spotcheck`), and :meth:`PatternService.undo` reverts a batch
(:mod:`core.review.batches`). Every write is authorised by the reviews service.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.text_input import InputError
from core.review.access import AccessDenied, Caller
from core.review.batches import BULK_ACTIONS, BatchError, batch_status, record_batch, undo_batch
from core.review.patterns import Patterns, PatternSettings, build_patterns, pattern_table
from core.review.spotcheck import SpotCheck, spot_check
from core.services.analyses import AnalysesService
from core.services.reviews import ReviewService

__all__ = ["BULK_ACTIONS", "AccessDenied", "BatchError", "PatternService", "ROW_COLUMNS"]

ROW_COLUMNS = ["sample_id", "text", "label", "suggest", "cue", "marker", "score", "decision", "new_label", "spot",
               "batch"]


def split_embedder(texts: list[str], cache_dir: str | Path | None):
    """``embed(positions)``: the sentence embeddings of those rows, from the split's cached embeddings when the
    signals cached them (:class:`core.analysis.signals.context.SignalContext`), else computed for those rows
    (and cached under them); ``None`` when the encoder is not installed."""
    from core.analysis.signals.compute import SignalCache
    from core.analysis.signals.context import SignalContext, digest_parts, encoder_params

    cache = SignalCache(cache_dir)

    def context(rows: list[str]) -> SignalContext:
        return SignalContext(cache, [digest_parts(rows)], texts=rows, labels=[], names=[], y=np.zeros(0))

    def embed(positions: list[int]) -> np.ndarray | None:
        key = digest_parts(["encoder", encoder_params(), digest_parts(texts)])
        try:
            if cache.root is not None and (cache.root / f"{key}.npz").is_file():
                return context(texts).embeddings()[positions]
            return context([texts[i] for i in positions]).embeddings()
        except ModuleNotFoundError:
            return None

    return embed


class PatternService:
    """Patterns, spot checks, bulk actions and batch undo on the analysed splits."""

    def __init__(self, analyses: AnalysesService, reviews: ReviewService, audits, *, settings) -> None:
        self.analyses, self.reviews, self.audits, self.settings = analyses, reviews, audits, settings
        self._patterns: dict[tuple, Patterns] = {}
        self._audit: dict[tuple, pd.DataFrame] = {}
        self._lock = threading.Lock()

    # ---- reads ------------------------------------------------------------------------------

    def pattern_settings(self, top_share: float | None = None) -> PatternSettings:
        """The grouping settings (``settings.pattern_share`` unless ``top_share`` is given)."""
        share = float(top_share) if top_share not in (None, "", 0) else self.settings.pattern_share
        try:
            return PatternSettings(top_share=share)
        except ValueError as exc:
            raise InputError(str(exc)) from None

    def grouped(self, split: str | None = None, top_share: float | None = None) -> Patterns:
        """The split's :class:`~core.review.patterns.Patterns` (built once per split and share)."""
        a = self.analyses.analysis(split)
        conf = self.pattern_settings(top_share)
        key = (a.split, a.review_key, conf)
        with self._lock:
            if key not in self._patterns:
                embed = split_embedder(a.table["text"].astype(str).tolist(), self.settings.cache_dir)
                self._patterns[key] = build_patterns(a.table, settings=conf, embed=embed, labels=a.labels)
            return self._patterns[key]

    def audit(self, split: str | None = None) -> pd.DataFrame:
        """The split's blind judgements (``sample_id, judgement, correct_label``), the store's or the committed."""
        from core.audit.importer import audit_decisions

        a = self.analyses.analysis(split)
        history = self.reviews.store.history(a.review_key)
        key = (a.split, int(history["audit"].notna().sum()))  # new blind judgements: read them again
        with self._lock:
            if key not in self._audit:
                frame, _ = audit_decisions(self.audits.auditor(a.split), a.split)
                self._audit[key] = frame[["sample_id", "judgement", "correct_label"]]
            return self._audit[key]

    def patterns(self, split: str | None = None, *, top_share: float | None = None) -> pd.DataFrame:
        """The pattern table (:func:`core.review.patterns.pattern_table`) with each pattern's ``open`` rows (no
        current decision yet) and its last bulk action (``""``, or e.g. ``relabel`` / ``undone``)."""
        grouped = self.grouped(split, top_share)
        table = pattern_table(grouped, self.audit(split))
        decided = self._decided(split)
        table["open"] = [int((~grouped.of(p).index.isin(decided.index)).sum()) for p in table["pattern"]]
        last = self.batches(split).drop_duplicates("pattern")
        last = last[last["kind"] == "apply"].set_index("pattern")
        table["bulk"] = [(("undone" if last.at[p, "undone_by"] else last.at[p, "action"]) if p in last.index else "")
                         for p in table["pattern"]]
        return table

    def _decided(self, split: str | None) -> pd.DataFrame:
        """Current decisions on the split's current rows, indexed by row (``action, new_label, batch``)."""
        frame = self.reviews.decisions(split)
        frame = frame[frame["row"] >= 0].assign(sample_id=lambda f: f["row"])
        return frame.drop_duplicates("sample_id", keep="last").set_index("sample_id", drop=False)

    def pattern_rows(self, pattern_id: str, split: str | None = None, *, top_share: float | None = None,
                     k: int | None = None) -> pd.DataFrame:
        """A pattern's rows, most suspect first (:data:`ROW_COLUMNS`): the current decision, whether the row is
        in the spot check (``spot``) and the batch that decided it."""
        rows = self._rows(pattern_id, split, top_share)
        check = self.spot_check(pattern_id, split, top_share=top_share, k=k)
        decided = self._decided(split)
        out = rows.reset_index()
        hit = out["sample_id"].isin(decided.index)
        out["decision"] = [decided.at[s, "action"] if h else "" for s, h in zip(out["sample_id"], hit, strict=True)]
        out["new_label"] = [decided.at[s, "new_label"] if h else None for s, h in zip(out["sample_id"], hit,
                                                                                       strict=True)]
        out["batch"] = [decided.at[s, "batch"] if h else None for s, h in zip(out["sample_id"], hit, strict=True)]
        out["spot"] = out["sample_id"].isin(check.rows)
        return out[ROW_COLUMNS]

    def _rows(self, pattern_id: str, split: str | None, top_share: float | None) -> pd.DataFrame:
        try:
            return self.grouped(split, top_share).of(str(pattern_id))
        except KeyError as exc:
            raise InputError(str(exc.args[0])) from None

    def spot_check(self, pattern_id: str, split: str | None = None, *, action: str = "relabel",
                   k: int | None = None, threshold: float | None = None, top_share: float | None = None) -> SpotCheck:
        """The pattern's spot check for bulk ``action`` (k rows drawn for this pattern and split)."""
        rows = self._rows(pattern_id, split, top_share)
        a = self.analyses.analysis(split)
        k = int(k) if k not in (None, "", 0) else self.settings.spot_check_k
        threshold = float(threshold) if threshold not in (None, "") else self.settings.spot_check_threshold
        try:
            return spot_check(rows.index.tolist(), rows["suggest"].to_dict(), self._decided(split), action=action,
                              k=k, threshold=threshold, seed_text=f"{a.review_key}|{pattern_id}")
        except ValueError as exc:
            raise InputError(str(exc)) from None

    def next_spot(self, pattern_id: str, split: str | None = None, *, k: int | None = None,
                  top_share: float | None = None) -> dict | None:
        """The next row of the pattern's spot check with no judgement yet (``sample_id, text, label, suggest``),
        in draw order; ``None`` when all k are judged."""
        rows = self._rows(pattern_id, split, top_share)
        check = self.spot_check(pattern_id, split, k=k, top_share=top_share)
        decided = self._decided(split)
        judged = set(decided.index[decided["batch"].isna()])
        for sid in check.rows:
            if sid not in judged:
                r = rows.loc[sid]
                return {"sample_id": int(sid), "text": str(r["text"]), "label": str(r["label"]),
                        "suggest": str(r["suggest"])}
        return None

    def batches(self, split: str | None = None) -> pd.DataFrame:
        """Every batch on the split, newest first (:func:`core.review.batches.batch_status`)."""
        return batch_status(self.reviews.store, self.analyses.analysis(split).review_key)

    # ---- writes (authorised by the reviews service) ------------------------------------------

    def apply(self, pattern_id: str, action: str, split: str | None = None, *, k: int | None = None,
              threshold: float | None = None, top_share: float | None = None, caller: Caller | None = None,
              reviewer: str = "") -> dict:
        """Record bulk ``action`` (relabel to each row's suggested class, ambiguous, or skip) on the pattern's
        rows with no current decision, once its spot check passes (``skip`` needs none). Returns ``{batch, rows,
        action, left_out, spot_check}``; :class:`InputError` when the gate is shut or nothing is left."""
        who = self.reviews.authorize(caller or Caller(claimed=reviewer))
        if action not in BULK_ACTIONS:
            raise InputError(f"unknown bulk action {action!r}; choose one of {list(BULK_ACTIONS)}")
        rows = self._rows(pattern_id, split, top_share)
        check = self.spot_check(pattern_id, split, action="relabel" if action == "skip" else action, k=k,
                                threshold=threshold, top_share=top_share)
        if action != "skip" and not check.passes:
            raise InputError(f"the spot check does not allow a bulk {action} yet. {check.line()}")
        a = self.analyses.analysis(split)
        todo = rows[~rows.index.isin(self._decided(split).index)]
        usable = todo[(todo["suggest"] != "") & (todo["suggest"] != todo["label"])] if action == "relabel" else todo
        preds = a.table["pred"].astype(str)
        items = [{"sample_id": int(s), "old_label": r["label"], "new_label": r["suggest"],
                  "text_hash": str(a.text_hashes[int(s)]), "model_pred": preds.iat[int(s)]}
                 for s, r in usable.iterrows()]
        record = {"pattern": pattern_id, "name": self.grouped(split, top_share).names[pattern_id],
                  "spot_check": check.record() if action != "skip" else None}
        try:
            batch, stored = record_batch(self.reviews.store, a.review_key, items, action=action, reviewer=who or "",
                                         record=record, model_fingerprint=str(a.meta.get("model_fingerprint", "")),
                                         note=f"bulk {action}: {record['name']}")
        except BatchError as exc:
            raise InputError(str(exc)) from None
        return {"batch": batch, "rows": len(stored), "action": action, "left_out": len(todo) - len(usable),
                "spot_check": record["spot_check"]}

    def undo(self, batch: str, split: str | None = None, *, caller: Caller | None = None, reviewer: str = "") -> dict:
        """Revert ``batch`` (:func:`core.review.batches.undo_batch`): ``{batch (the undo's), undoes, rows, kept}``."""
        who = self.reviews.authorize(caller or Caller(claimed=reviewer))
        a = self.analyses.analysis(split)
        try:
            undo_id, stored, kept = undo_batch(self.reviews.store, a.review_key, str(batch), reviewer=who or "")
        except BatchError as exc:
            raise InputError(str(exc)) from None
        return {"batch": undo_id, "undoes": str(batch), "rows": len(stored), "kept": kept}

