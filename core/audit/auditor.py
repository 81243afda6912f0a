"""The blind audit of one split: draw rows, record judgements as review decisions, read them back.

:class:`Auditor` hands out only a row's text and given label (:class:`~core.audit.design.Draw`); what the
model thinks of the row is returned by :meth:`Auditor.decide`, after the judgement is stored, never before.

>>> import tempfile, pandas as pd
>>> from core.review.store import ReviewStore
>>> folder = tempfile.TemporaryDirectory()
>>> table = pd.DataFrame({"text": ["a", "b", "c"], "label": ["joy"] * 3, "pred": ["joy"] * 3,
...                       "mislabel_score": [0.1, 0.9, 0.2]})
>>> auditor = Auditor(ReviewStore(folder.name + "/r.sqlite"), "fp:train", table, labels=["joy", "fear"])
>>> draw = auditor.next("uniform")[0]
>>> sorted(vars(draw))
['label', 'sample_id', 'sampling', 'stratum', 'text']
>>> reveal = auditor.decide(draw.sample_id, "uniform", "wrong", correct_label="fear", reason="fearful tone")
>>> reveal["judgement"], "pred" in reveal
('wrong', True)
>>> auditor.decisions()[["judgement", "correct_label", "sampling"]].values.tolist()
[['wrong', 'fear', 'uniform']]
>>> folder.cleanup()
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.audit.design import (
    DEFAULT_SEED,
    JUDGEMENTS,
    SAMPLINGS,
    Draw,
    action_judgement,
    judgement_action,
    next_ids,
    parse_audit,
    strata_of,
    stratum_sizes,
)
from core.audit.estimate import row_weights
from core.review.store import ReviewStore

#: Columns of :meth:`Auditor.decisions`, one row per audited sample.
DECISION_COLUMNS = ("sample_id", "judgement", "correct_label", "reason", "sampling", "stratum", "reviewer", "time")
#: What a reveal shows of the model, when the table has it.
REVEAL_COLUMNS = ("pred", "confidence", "loss", "mislabel_score", "label_quality", "suggested_label")


class AuditError(ValueError):
    """A judgement that cannot be recorded (the message says why)."""


class Auditor:
    """Blind audit of one analysed split.

    ``table`` is the split's analysis table (``text``, ``label`` and the model's columns, one row per
    sample id); ``stratify_by`` names the score whose ranks define the strata (higher = more suspect).
    """

    def __init__(self, store: ReviewStore, dataset_key: str, table: pd.DataFrame, *, labels: Sequence[str],
                 stratify_by: str = "mislabel_score", seed: int = DEFAULT_SEED,
                 text_hashes: Sequence[str] | None = None) -> None:
        self.store, self.dataset_key, self.table = store, dataset_key, table
        self.labels = list(labels)
        self.seed = seed
        self.text_hashes = text_hashes
        score = table[stratify_by].to_numpy(dtype=float) if stratify_by in table else np.zeros(len(table))
        self.strata = strata_of(score)
        self.sizes = stratum_sizes(len(table))

    def decisions(self) -> pd.DataFrame:
        """The latest audit judgement per audited sample, with its sampling, stratum and weight."""
        history = self.store.history(self.dataset_key)
        history = history[history["audit"].notna()]
        if history.empty:
            return pd.DataFrame(columns=[*DECISION_COLUMNS, "weight"])
        latest = history.drop_duplicates("sample_id", keep="last").sort_values("sample_id")
        parsed = [parse_audit(a) for a in latest["audit"]]
        out = pd.DataFrame({
            "sample_id": latest["sample_id"].astype("int64").to_numpy(),
            "judgement": [action_judgement(a) for a in latest["action"]],
            "correct_label": [n if a == "relabel" else None for a, n in zip(latest["action"], latest["new_label"],
                                                                              strict=True)],
            "reason": latest["note"].to_numpy(),
            "sampling": [p[0] for p in parsed],
            "stratum": [p[1] for p in parsed],
            "reviewer": latest["reviewer"].to_numpy(),
            "time": latest["time"].to_numpy(),
        })
        out["weight"] = row_weights(out["stratum"].to_numpy(dtype=object), self.sizes)
        return out.reset_index(drop=True)

    def next(self, sampling: str, n: int = 1) -> list[Draw]:
        """The next ``n`` rows to judge: text and given label only."""
        done = self.decisions()
        counts = done[done["sampling"] == "stratified"]["stratum"].value_counts().to_dict()
        ids = next_ids(self.strata, done["sample_id"].tolist(), counts, sampling=sampling, n=n, seed=self.seed)
        return [Draw(i, str(self.table["text"].iat[i]), str(self.table["label"].iat[i]), sampling,
                     str(self.strata[i])) for i in ids]

    def decide(self, sample_id: int, sampling: str, judgement: str, *, correct_label: str | None = None,
               reason: str = "", reviewer: str = "") -> dict:
        """Record one judgement; returns the reveal: what the model says of the row, now that it is judged."""
        sid = int(sample_id)
        if not 0 <= sid < len(self.table):
            raise AuditError(f"sample {sample_id} is not in 0..{len(self.table) - 1}")
        if sampling not in SAMPLINGS:
            raise AuditError(f"unknown sampling {sampling!r}; choose one of {list(SAMPLINGS)}")
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
        stratum = str(self.strata[sid])
        weight = self.sizes[stratum] / (1 + int((self.decisions()["stratum"] == stratum).sum()))
        self.store.record(
            self.dataset_key, sid, action=judgement_action(judgement), old_label=given,
            new_label=correct_label if judgement == "wrong" else None, reviewer=reviewer, note=reason.strip(),
            text_hash=None if self.text_hashes is None else str(self.text_hashes[sid]),
            model_pred=str(self.table["pred"].iat[sid]) if "pred" in self.table else None,
            audit=f"{sampling}:{stratum}", weight=weight,
        )
        return self.reveal(sid, judgement)

    def reveal(self, sample_id: int, judgement: str) -> dict:
        """What the model says of a judged row (only called after its decision is stored)."""
        row = self.table.iloc[int(sample_id)]
        out = {"sample_id": int(sample_id), "judgement": judgement, "label": str(row["label"])}
        for column in REVEAL_COLUMNS:
            if column in row.index:
                value = row[column]
                out[column] = value.item() if hasattr(value, "item") else value
        out["probs"] = {name: float(row[f"prob_{name}"]) for name in self.labels if f"prob_{name}" in row.index}
        return out

    def frame(self, split: str) -> pd.DataFrame:
        """The audit as the committed CSV's columns: split, sample id, text, given label, judgement,
        correct label, reason, sampling, stratum, weight."""
        d = self.decisions()
        return pd.DataFrame({
            "split": split, "sample_id": d["sample_id"], "text": self.table["text"].to_numpy()[d["sample_id"]],
            "given_label": self.table["label"].to_numpy()[d["sample_id"]], "judgement": d["judgement"],
            "correct_label": d["correct_label"], "reason": d["reason"], "sampling": d["sampling"],
            "stratum": d["stratum"], "weight": d["weight"].round(4),
        })
