"""The blind audit of one split: the server draws rows, judgements are recorded against its draw tokens,
and the estimates read them back.

:class:`Auditor` hands out only a row's text and given label with a draw token
(:class:`~core.audit.design.Draw`). :meth:`Auditor.decide` accepts a token it issued, once, and only
while the row has no blind judgement; it then returns the reveal, what the model says of the row. A
judgement is final once revealed: :meth:`Auditor.revise` records a correction with its reason as a
revision event, shown and exported, while the estimates keep the blind judgement.

>>> import tempfile, pandas as pd
>>> from core.review.store import ReviewStore
>>> folder = tempfile.TemporaryDirectory()
>>> table = pd.DataFrame({"text": ["a", "b", "c"], "label": ["joy"] * 3, "pred": ["joy"] * 3,
...                       "mislabel_score": [0.1, 0.9, 0.2]})
>>> auditor = Auditor(ReviewStore(folder.name + "/r.sqlite"), "fp:train", table, labels=["joy", "fear"])
>>> draw = auditor.next("uniform")[0]
>>> sorted(vars(draw))
['label', 'sample_id', 'sampling', 'text', 'token']
>>> reveal = auditor.decide(draw.token, "wrong", correct_label="fear", reason="fearful tone")
>>> reveal["judgement"], reveal["pred"]
('wrong', 'joy')
>>> _ = auditor.revise(draw.sample_id, "ambiguous", reason="reread: could be either")
>>> auditor.decisions()[["judgement", "correct_label", "revised_judgement"]].values.tolist()
[['wrong', 'fear', 'ambiguous']]
>>> folder.cleanup()
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.audit.design import (
    ALL,
    DEFAULT_SEED,
    JUDGEMENTS,
    SAMPLINGS,
    Design,
    Draw,
    action_judgement,
    audit_tag,
    design_digest,
    judgement_action,
    next_ids,
    parse_audit,
    resolve_design,
    strata_of,
)
from core.audit.estimate import row_weights
from core.audit.reveal import reveal_row
from core.review.draws import DrawError, DrawLedger
from core.review.store import ReviewStore

#: Columns of :meth:`Auditor.decisions`, one row per audited sample (its blind judgement).
DECISION_COLUMNS = ("sample_id", "judgement", "correct_label", "reason", "sampling", "stratum", "design",
                    "reviewer", "time", "revised_judgement", "revised_label", "revision_reason", "used", "weight")
REVISION = "revision"


class AuditError(ValueError):
    """A judgement that cannot be recorded (the message says why)."""


class Auditor:
    """Blind audit of one analysed split.

    ``table`` is the split's analysis table (``text``, ``label`` and, where a model was analysed, its
    columns; one row per sample id). ``stratify_by`` names the score whose ranks define the strata
    (higher = more suspect); a table without it (the data alone) allows uniform draws only.
    """

    def __init__(self, store: ReviewStore, dataset_key: str, table: pd.DataFrame, *, labels: Sequence[str],
                 stratify_by: str = "mislabel_score", seed: int = DEFAULT_SEED,
                 text_hashes: Sequence[str] | None = None) -> None:
        self.store, self.dataset_key, self.table = store, dataset_key, table
        self.labels = list(labels)
        self.seed = seed
        self.text_hashes = text_hashes
        self.ledger = DrawLedger(store)
        self.score_column = stratify_by if stratify_by in table else None
        if self.score_column:
            self.strata = strata_of(table[stratify_by].to_numpy(dtype=float))
            self.digest: str | None = design_digest(self.strata)
        else:
            self.strata, self.digest = np.full(len(table), ALL, dtype=object), None

    def _audit_history(self) -> pd.DataFrame:
        history = self.store.history(self.dataset_key)
        history = history[history["audit"].notna()].copy()
        parsed = []
        for tag in history["audit"]:
            try:
                parsed.append(parse_audit(tag))
            except ValueError:
                parsed.append((None, None, None))  # a tag the trust check would refuse: never estimated
        history["sampling"] = [p[0] for p in parsed]
        history["stratum"] = [p[1] for p in parsed]
        history["design"] = [p[2] for p in parsed]
        return history[history["sampling"].notna()]

    def decisions(self) -> pd.DataFrame:
        """Each audited sample's blind judgement (the first recorded), its latest revision, and whether and
        with what weight the estimates use it (:meth:`design`)."""
        history = self._audit_history()
        blind = history[history["sampling"] != REVISION].drop_duplicates("sample_id", keep="first")
        if blind.empty:
            return pd.DataFrame(columns=list(DECISION_COLUMNS))
        blind = blind.sort_values("sample_id")
        out = pd.DataFrame({
            "sample_id": blind["sample_id"].astype("int64").to_numpy(),
            "judgement": [action_judgement(a) for a in blind["action"]],
            "correct_label": [n if a == "relabel" else None for a, n in zip(blind["action"], blind["new_label"],
                                                                              strict=True)],
            "reason": blind["note"].to_numpy(), "sampling": blind["sampling"].to_numpy(),
            "stratum": blind["stratum"].to_numpy(), "design": blind["design"].to_numpy(),
            "reviewer": blind["reviewer"].to_numpy(), "time": blind["time"].to_numpy(),
        })
        revisions = history[history["sampling"] == REVISION].drop_duplicates("sample_id", keep="last")
        revised = revisions.set_index("sample_id")
        out["revised_judgement"] = [action_judgement(revised.at[s, "action"]) if s in revised.index else None
                                    for s in out["sample_id"]]
        out["revised_label"] = [revised.at[s, "new_label"] if s in revised.index and
                                revised.at[s, "action"] == "relabel" else None for s in out["sample_id"]]
        out["revision_reason"] = [revised.at[s, "note"] if s in revised.index else None for s in out["sample_id"]]
        design = self.design(out)
        out["used"] = design.used
        out["weight"] = np.nan
        if design.used.any():
            out.loc[design.used, "weight"] = row_weights(design.strata[design.used], design.sizes)
        out.attrs["design"] = design
        return out.reset_index(drop=True)

    def design(self, decisions: pd.DataFrame) -> Design:
        """How the estimates use ``decisions`` (:func:`core.audit.design.resolve_design`)."""
        ids = decisions["sample_id"].to_numpy(dtype=int)
        current = self.strata[ids] if self.score_column else None
        return resolve_design(len(self.table), decisions["sampling"].tolist(), decisions["stratum"].tolist(),
                              decisions["design"].tolist(), current, self.digest)

    def next(self, sampling: str, n: int = 1) -> list[Draw]:
        """The next ``n`` rows to judge (draws issued earlier and not judged come first): text and given label
        with a draw token, nothing of the model."""
        if sampling not in SAMPLINGS:
            raise AuditError(f"unknown sampling {sampling!r}; choose one of {list(SAMPLINGS)}")
        if sampling == "stratified" and self.digest is None:
            raise AuditError("a stratified draw needs a ranking: audit an analysed split (give the model)")
        open_draws = self.ledger.outstanding(self.dataset_key, sampling)[:n]
        pairs = [(d.token, d.sample_id) for d in open_draws]
        if len(pairs) < n:
            done = self.decisions()
            waiting = [d.sample_id for d in self.ledger.outstanding(self.dataset_key)]
            mine = done[(done["sampling"] == "stratified") & (done["design"] == self.digest)]
            counts = pd.Series([*mine["stratum"], *(self.strata[waiting] if sampling == "stratified" else [])])
            ids = next_ids(self.strata, [*done["sample_id"].tolist(), *waiting], counts.value_counts().to_dict(),
                           sampling=sampling, n=n - len(pairs), seed=self.seed)
            tokens = self.ledger.issue(self.dataset_key, [(i, audit_tag(sampling, str(self.strata[i]), self.digest))
                                                          for i in ids])
            pairs += list(zip(tokens, ids, strict=True))
        return [Draw(t, int(i), str(self.table["text"].iat[i]), str(self.table["label"].iat[i]), sampling)
                for t, i in pairs]

    def _fields(self, sid: int, judgement: str, correct_label: str | None, reason: str, reviewer: str) -> dict:
        """A judgement's decision fields, checked (raises :class:`AuditError`)."""
        if judgement not in JUDGEMENTS:
            raise AuditError(f"unknown judgement {judgement!r}; choose one of {list(JUDGEMENTS)}")
        given = str(self.table["label"].iat[sid])
        if judgement == "wrong":
            if correct_label not in self.labels or correct_label == given:
                raise AuditError(f"a wrong label needs the correct class, one of {self.labels} other than {given!r}")
            if not reason.strip():
                raise AuditError("a wrong label needs a one-line reason")
        elif correct_label not in (None, ""):
            raise AuditError(f"only a wrong label takes a correct class (judgement {judgement!r})")
        return {"action": judgement_action(judgement), "old_label": given,
                "new_label": correct_label if judgement == "wrong" else None, "reviewer": reviewer,
                "note": reason.strip(), "text_hash": None if self.text_hashes is None else str(self.text_hashes[sid]),
                "model_pred": str(self.table["pred"].iat[sid]) if "pred" in self.table else None}

    def decide(self, token: str, judgement: str, *, correct_label: str | None = None, reason: str = "",
               reviewer: str = "") -> dict:
        """Record the judgement of the draw ``token`` names; returns the reveal (:func:`reveal_row`).

        Raises :class:`AuditError` for a judgement that does not fit, a token not issued here or used
        already, or a row judged blind already.
        """
        try:
            decision = self.ledger.redeem(str(token), self.dataset_key, lambda draw: self._fields(
                draw.sample_id, judgement, correct_label, reason, reviewer))
        except DrawError as exc:
            raise AuditError(str(exc)) from None
        return self.reveal(decision.sample_id, judgement)

    def revise(self, sample_id: int, judgement: str, *, correct_label: str | None = None, reason: str = "",
               reviewer: str = "") -> dict:
        """Record a correction of a revealed judgement, with its reason; the estimates keep the blind one."""
        sid = int(sample_id)
        if sid not in set(self.decisions()["sample_id"].tolist()):
            raise AuditError(f"sample {sample_id} has no blind judgement to revise")
        if not reason.strip():
            raise AuditError("a revision needs its reason")
        fields = self._fields(sid, judgement, correct_label, reason, reviewer)
        self.store.record(self.dataset_key, sid, audit=REVISION, **fields)
        return self.reveal(sid, judgement)

    def reveal(self, sample_id: int, judgement: str) -> dict:
        """What the model says of a judged row (only called after its judgement is stored)."""
        return reveal_row(self.table, int(sample_id), judgement, self.labels, self.score_column)

    def frame(self, split: str) -> pd.DataFrame:
        """The audit as the committed CSVs' columns (blind judgements; revisions in their own columns)."""
        d = self.decisions()
        ids = d["sample_id"].to_numpy(dtype=int)
        return pd.DataFrame({
            "split": split, "sample_id": ids, "text": self.table["text"].to_numpy()[ids],
            "given_label": self.table["label"].to_numpy()[ids], "judgement": d["judgement"],
            "correct_label": d["correct_label"], "reason": d["reason"], "sampling": d["sampling"],
            "stratum": d["stratum"], "weight": d["weight"].astype(float).round(4), "reviewer": d["reviewer"],
            "revised_judgement": d["revised_judgement"], "revised_label": d["revised_label"],
            "revision_reason": d["revision_reason"],
        })
