"""Import a committed audit CSV (``bench/data/emotion_<split>_audit.csv``) as blind judgements.

Each row is checked against the analysed split: the split's name, the sample id in range, the same
text and given label at that id, a known judgement (a ``wrong`` with a correct class other than the
given one and a reason), and a known sampling and stratum. A row that fails is refused with its reason;
a row whose sample already has a blind judgement is refused too. Event ids come from the row's content,
so importing the same file twice adds nothing. Imported rows carry no ranking digest: their strata are
the ones recorded in the file.

>>> import tempfile, pandas as pd
>>> from core.audit.auditor import Auditor
>>> from core.review.store import ReviewStore
>>> folder = tempfile.TemporaryDirectory()
>>> table = pd.DataFrame({"text": ["i am not sad at all", "so happy"], "label": ["sadness", "joy"]})
>>> auditor = Auditor(ReviewStore(folder.name + "/r.sqlite"), "fp:validation", table, labels=["sadness", "joy"])
>>> csv = folder.name + "/a.csv"
>>> pd.DataFrame({"split": ["validation"] * 3, "sample_id": [0, 1, 5], "text": ["i am not sad at all", "so happy", "x"],
...               "given_label": ["sadness", "joy", "joy"], "judgement": ["wrong", "right", "right"],
...               "correct_label": ["joy", None, None], "reason": ["negated", None, None],
...               "sampling": ["uniform"] * 3, "stratum": ["all"] * 3}).to_csv(csv, index=False)
>>> result = import_audit_csv(auditor, csv, split="validation")
>>> result.added, result.refused
(2, [(4, 'sample 5 is not in 0..1')])
>>> import_audit_csv(auditor, csv, split="validation").added
0
>>> folder.cleanup()
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from core.audit.auditor import Auditor
from core.audit.design import ALL, JUDGEMENTS, SAMPLINGS, STRATA, audit_tag, judgement_action

#: Where this project commits its blind audits (``emotion_<split>_audit.csv``).
AUDIT_DATA = Path(__file__).resolve().parents[2] / "bench" / "data"
REQUIRED = ("split", "sample_id", "text", "given_label", "judgement", "correct_label", "reason", "sampling", "stratum")
_STRATA = {name for name, _ in STRATA} | {ALL}


@dataclass
class ImportResult:
    """What an import did: decisions added, rows already present, rows refused as ``(file line, reason)``."""

    added: int = 0
    already: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)

    def line(self) -> str:
        """One sentence for a person."""
        why = "; ".join(f"line {n}: {r}" for n, r in self.refused[:5]) + (" ..." if len(self.refused) > 5 else "")
        return (f"{self.added} judgements imported, {self.already} already present, {len(self.refused)} refused"
                + (f" ({why})" if why else ""))


def committed_audit(split: str, folder: Path = AUDIT_DATA) -> Path | None:
    """The committed audit CSV of ``split`` for this project's dataset, if there is one."""
    path = folder / f"emotion_{split}_audit.csv"
    return path if path.is_file() else None


def audit_decisions(auditor: Auditor, split: str, csv: str | Path | None = None) -> tuple[pd.DataFrame, str]:
    """The split's blind judgements and where they come from: the review database's when it holds any,
    else those of ``csv`` (default: the committed audit), imported into an in-memory copy, never written."""
    own = auditor.decisions()
    if len(own):
        return own, "the review database"
    path = Path(csv) if csv else committed_audit(split)
    if path is None or not path.is_file():
        return own, "none"
    import tempfile

    from core.review.store import ReviewStore

    with tempfile.TemporaryDirectory() as folder:
        copy = Auditor(ReviewStore(Path(folder) / "audit.sqlite"), auditor.dataset_key, auditor.table,
                       labels=auditor.labels, text_hashes=auditor.text_hashes)
        result = import_audit_csv(copy, path, split=split)
        decisions = copy.decisions()
        copy.store.close()
    return decisions, f"{path.name} ({result.line()})"


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _problem(row: dict, auditor: Auditor, split: str) -> str | None:
    """Why a CSV row cannot be imported, or ``None``."""
    if _text(row["split"]) != split:
        return f"split {row['split']!r} is not {split!r}"
    try:
        sid = int(row["sample_id"])
    except (TypeError, ValueError):
        return f"sample_id {row['sample_id']!r} is not a number"
    if not 0 <= sid < len(auditor.table):
        return f"sample {sid} is not in 0..{len(auditor.table) - 1}"
    if _text(row["text"]).strip() != str(auditor.table["text"].iat[sid]).strip():
        return f"sample {sid}'s text differs from the split's"
    given = str(auditor.table["label"].iat[sid])
    if _text(row["given_label"]) != given:
        return f"sample {sid}'s given label is {given!r} here, not {row['given_label']!r}"
    judgement, correct = _text(row["judgement"]), _text(row["correct_label"])
    if judgement not in JUDGEMENTS:
        return f"unknown judgement {judgement!r}"
    if judgement == "wrong" and (correct not in auditor.labels or correct == given or not _text(row["reason"])):
        return "a wrong label needs a correct class other than the given one, and a reason"
    if judgement != "wrong" and correct:
        return f"only a wrong label takes a correct class (judgement {judgement!r})"
    if _text(row["sampling"]) not in SAMPLINGS or _text(row["stratum"]) not in _STRATA:
        return f"sampling {row['sampling']!r} or stratum {row['stratum']!r} is not known"
    return None


def _event(row: dict, auditor: Auditor, reviewer: str, now: str) -> dict:
    sid, judgement = int(row["sample_id"]), _text(row["judgement"])
    correct = _text(row["correct_label"]) or None
    content = "|".join(map(str, (auditor.dataset_key, sid, judgement, correct, _text(row["reason"]), row["sampling"],
                                 row["stratum"])))
    return {"event_id": hashlib.sha256(content.encode()).hexdigest()[:32], "time": now,
            "dataset_key": auditor.dataset_key, "sample_id": sid, "action": judgement_action(judgement),
            "old_label": _text(row["given_label"]), "new_label": correct if judgement == "wrong" else None,
            "reviewer": _text(row.get("reviewer")) or reviewer, "note": _text(row["reason"]),
            "audit": audit_tag(_text(row["sampling"]), _text(row["stratum"]), None),
            "text_hash": None if auditor.text_hashes is None else str(auditor.text_hashes[sid])}


def import_audit_csv(auditor: Auditor, path: str | Path, *, split: str, reviewer: str = "audit import") -> ImportResult:
    """Import the CSV's rows into ``auditor``'s store (see the module docstring)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    result = ImportResult()
    judged = set(auditor.decisions()["sample_id"].tolist())
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    events = []
    for line, row in enumerate(frame.to_dict("records"), start=2):
        why = _problem(row, auditor, split)
        if why is None:
            event = _event(row, auditor, reviewer, now)
            if auditor.store.stored_events([event["event_id"]]):
                result.already += 1
                continue
            if event["sample_id"] in judged:
                why = f"sample {event['sample_id']} has a blind judgement already"
            else:
                judged.add(event["sample_id"])
                events.append(event)
                continue
        result.refused.append((line, why))
    result.added = auditor.store.import_events(events)
    return result
