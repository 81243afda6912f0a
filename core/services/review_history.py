"""A reviewer's own decisions: list them, withdraw one, undo the last; part of
:class:`core.services.reviews.ReviewService`.

Nothing is rewritten: a withdrawal is a new ``withdraw`` event (:mod:`core.review.decision`) that makes
the sample undecided again, so it is kept, synced and exported like any decision, and the withdrawn
decision stays in the history. Changing a decision is recording a new one
(:meth:`~core.services.reviews.ReviewService.decide`). Audit decisions (``audit`` set) belong to the
blind audit and are left out here.
"""

from __future__ import annotations

import pandas as pd

from core.data.text_input import InputError
from core.review.access import Caller
from core.review.store import Decision

#: The actions "my decisions" can be filtered by (a withdrawal is history, not a decision).
LISTED_ACTIONS: tuple[str, ...] = ("keep", "relabel", "ambiguous", "not_emotion")
HISTORY_COLUMNS = ["sample_id", "action", "old_label", "new_label", "time", "text"]


class DecisionHistory:
    """Methods of the reviews service over the caller's own decisions (mixed into ``ReviewService``)."""

    def my_decisions(self, split: str | None = None, *, caller: Caller | None = None, action: str | None = None
                     ) -> pd.DataFrame:
        """The caller's current decisions on ``split`` (audit decisions aside), newest first, optionally of one
        ``action``; columns :data:`HISTORY_COLUMNS` (``sample_id`` is the current row, -1 when its text is gone)."""
        who = self.authorize(caller)
        if action not in (None, "", "any") and action not in LISTED_ACTIONS:
            raise InputError(f"unknown action {action!r}; choose one of {['any', *LISTED_ACTIONS]}")
        frame = self.decisions(split)
        frame = frame[(frame["reviewer"] == who) & frame["audit"].isna()]
        if action not in (None, "", "any"):
            frame = frame[frame["action"] == action]
        frame = frame.sort_values("id", ascending=False).assign(sample_id=lambda f: f["row"])
        return frame[HISTORY_COLUMNS].reset_index(drop=True)

    def withdraw(self, sample_id: int, *, split: str | None = None, caller: Caller | None = None,
                 note: str = "") -> Decision:
        """Take back the current decision on row ``sample_id`` of ``split`` with a new ``withdraw`` event (its
        note names the withdrawn event); the row is back in the queue. :class:`InputError` when the row has no
        current decision, or only an audit one."""
        who = self.authorize(caller)
        a = self.analyses.analysis(split)
        current = self.decisions(a.split)
        current = current[current["row"] == int(sample_id)]
        if current.empty:
            raise InputError(f"sample {sample_id} of the {a.split} split has no decision to withdraw")
        last = current.iloc[-1]
        if last["audit"] is not None and not pd.isna(last["audit"]):
            raise InputError(f"sample {sample_id}'s decision is a blind-audit judgement; revise it in the audit")
        row = a.sample(int(sample_id))
        return self.store.record(
            a.review_key, int(last["sample_id"]), action="withdraw", old_label=str(last["old_label"]),
            reviewer=who or "", note=(note or f"withdraws {last['event_id']} ({last['action']})"),
            text_hash=str(a.text_hashes[row["sample_id"]]), model_fingerprint=str(a.meta.get("model_fingerprint", "")),
            model_pred=str(row["pred"]),
        )

    def undo(self, split: str | None = None, *, caller: Caller | None = None) -> Decision:
        """Withdraw the caller's latest decision on ``split`` that is still current (:meth:`withdraw`); called
        again, it withdraws the one before. Skips are not decisions and are not undone here.
        :class:`InputError` when there is nothing left to undo."""
        mine = self.my_decisions(split, caller=caller)
        mine = mine[mine["sample_id"] >= 0]
        if mine.empty:
            raise InputError("nothing to undo: you have no current decision on this split")
        return self.withdraw(int(mine["sample_id"].iloc[0]), split=split, caller=caller)
