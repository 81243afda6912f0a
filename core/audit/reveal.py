"""The reveal of a judged audit row: what the model says of it, each signal's rank, and where the row
fell in the ranking. Only :meth:`core.audit.auditor.Auditor.decide` and ``revise`` call it, after the
judgement is stored.

>>> import pandas as pd
>>> table = pd.DataFrame({"text": ["a", "b"], "label": ["joy", "joy"], "pred": ["fear", "joy"],
...                       "prob_joy": [0.2, 0.9], "prob_fear": [0.8, 0.1], "mislabel_score": [0.9, 0.1]})
>>> r = reveal_row(table, 0, "wrong", ["joy", "fear"], "mislabel_score")
>>> r["pred"], r["probs"], r["ranking"]["rank"], r["ranking"]["of"]
('fear', {'joy': 0.2, 'fear': 0.8}, 1, 2)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: What a reveal shows of the model, when the table has it.
REVEAL_COLUMNS = ("pred", "confidence", "loss", "label_quality", "suggested_label")
SIGNAL_PREFIX = "signal_"


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def rank_of(column: pd.Series, row: int) -> int:
    """1-based rank of ``row`` when ``column`` is sorted most suspect (highest) first; ties by row order."""
    values = column.to_numpy(dtype=float)
    return int((values > values[row]).sum() + (values[:row] == values[row]).sum() + 1)


def signal_names(table: pd.DataFrame) -> dict[str, str]:
    """Signal columns of the table (higher = more suspect) -> the name a reader sees."""
    from core.analysis.signals.shipped import SIGNAL_NAMES, WEIGHTS

    out = {c: SIGNAL_NAMES.get(c, c) for c in WEIGHTS if c in table}
    out.update({c: c[len(SIGNAL_PREFIX):] for c in table if c.startswith(SIGNAL_PREFIX)})
    if "loss" in table:
        out["loss"] = "loss"
    return out


def reveal_row(table: pd.DataFrame, sample_id: int, judgement: str, labels: Sequence[str],
               score_column: str | None) -> dict:
    """The reveal as a JSON-able dict: ``label``, ``pred``, ``probs``, ``ranking`` (rank, of, top share)
    and ``signals`` (each signal's rank)."""
    row = table.iloc[sample_id]
    out: dict = {"sample_id": sample_id, "judgement": judgement, "label": str(row["label"])}
    out.update({c: _plain(row[c]) for c in REVEAL_COLUMNS if c in row.index})
    out["probs"] = {name: float(row[f"prob_{name}"]) for name in labels if f"prob_{name}" in row.index}
    n = len(table)
    if score_column:
        rank = rank_of(table[score_column], sample_id)
        out["ranking"] = {"rank": rank, "of": n, "top_share": round(rank / n, 4)}
    out["signals"] = {name: {"rank": rank_of(table[c], sample_id), "of": n, "value": float(row[c])}
                      for c, name in signal_names(table).items() if np.isfinite(float(row[c]))}
    return out
