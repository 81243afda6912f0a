"""The spot check that gates a bulk action on a pattern: k random rows judged one by one like any decision.

:func:`spot_rows` draws the k rows of a pattern (the same k for the same pattern and split on every replica:
the draw is seeded by both). :func:`spot_check` reads the reviewers' current decisions on those rows (a
bulk decision is not a judgement) and counts the *hits* of the bulk action it would gate:

- ``relabel``: the reviewer relabelled the row to the row's suggested class;
- ``ambiguous``: the reviewer found the given label wrong or unclear (relabel, ambiguous or not emotion).

The gate opens when all k rows are judged and the lower end of the 95% Wilson interval of hits / k
(statsmodels' ``proportion_confint``) reaches the threshold. At k = 10, 9 hits give a lower bound of 0.596
and 10 hits 0.722.

>>> check = spot_check([1, 2, 3], {1: "joy", 2: "joy", 3: "joy"}, pd.DataFrame({"sample_id": [1, 2, 3],
...     "action": ["relabel"] * 3, "new_label": ["joy"] * 3, "batch": [None] * 3}), action="relabel", k=3,
...     threshold=0.4, seed_text="x")
>>> check.hits, check.passes, round(check.lower, 3)
(3, True, 0.439)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.review.patterns import wilson

#: Bulk actions a spot check can gate (``skip`` needs none).
GATED_ACTIONS: tuple[str, ...] = ("relabel", "ambiguous")
DEFAULT_K = 10
DEFAULT_THRESHOLD = 0.55
WRONG_ACTIONS = frozenset({"relabel", "ambiguous", "not_emotion"})


@dataclass(frozen=True)
class SpotCheck:
    """A pattern's spot check for one bulk action: the drawn ``rows``, how many are ``judged``, the ``hits``,
    ``precision`` = hits / judged, the Wilson ``lower``/``upper`` bounds, the ``threshold`` and whether the
    gate ``passes`` (every drawn row judged and ``lower >= threshold``)."""

    action: str
    k: int
    rows: tuple[int, ...]
    judged: int
    hits: int
    precision: float
    lower: float
    upper: float
    threshold: float
    passes: bool

    def record(self) -> dict:
        """What a bulk decision stores of the spot check (JSON-able, rounded)."""
        out = asdict(self)
        del out["rows"]
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}

    def line(self) -> str:
        """One sentence for a person."""
        if self.judged < len(self.rows):
            return (f"Spot check: {self.judged} of {len(self.rows)} rows judged; judge the rest to see whether the "
                    f"bulk {self.action} may run (threshold {self.threshold:.2f}).")
        verdict = "passes" if self.passes else "does not pass"
        return (f"Spot check: {self.hits} of {self.judged} right for a bulk {self.action} "
                f"(precision {self.precision:.2f}, 95% lower bound {self.lower:.3f}) {verdict} the threshold "
                f"{self.threshold:.2f}.")


def spot_rows(sample_ids: Sequence[int], k: int, seed_text: str) -> tuple[int, ...]:
    """``k`` of ``sample_ids`` drawn at random (all of them when fewer), seeded by ``seed_text``, in draw order."""
    ids = np.asarray(sorted(int(i) for i in sample_ids), dtype=np.int64)
    seed = int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:8], "big")
    picked = np.random.default_rng(seed).permutation(len(ids))[:max(0, int(k))]
    return tuple(int(i) for i in ids[picked])


def is_hit(action: str, decision_action: str, new_label: object, suggested: str) -> bool:
    """Whether a reviewer's decision agrees with the bulk ``action`` on one row (module docstring)."""
    if action == "relabel":
        return decision_action == "relabel" and new_label == suggested
    if action == "ambiguous":
        return decision_action in WRONG_ACTIONS
    raise ValueError(f"a spot check gates {GATED_ACTIONS}, not {action!r}")


def spot_check(sample_ids: Sequence[int], suggest: Mapping[int, str], decisions: pd.DataFrame, *, action: str,
               k: int = DEFAULT_K, threshold: float = DEFAULT_THRESHOLD, seed_text: str) -> SpotCheck:
    """The spot check of the pattern holding ``sample_ids`` for a bulk ``action``.

    ``suggest``: each row's suggested class; ``decisions``: the current decisions (``sample_id, action,
    new_label, batch``; one per sample), bulk ones ignored.
    """
    if action not in GATED_ACTIONS:
        raise ValueError(f"a spot check gates {GATED_ACTIONS}, not {action!r}")
    if int(k) < 1:
        raise ValueError(f"k must be at least 1, got {k!r}")
    rows = spot_rows(sample_ids, k, seed_text)
    own = decisions[decisions["batch"].isna()] if "batch" in decisions else decisions
    by_id = own.drop_duplicates("sample_id", keep="last").set_index("sample_id")
    judged = [r for r in rows if r in by_id.index]
    hits = sum(is_hit(action, by_id.at[r, "action"], by_id.at[r, "new_label"], suggest.get(r, "")) for r in judged)
    low, high = wilson(hits, len(judged))
    complete = len(judged) == len(rows) and len(rows) > 0
    return SpotCheck(action=action, k=int(k), rows=rows, judged=len(judged), hits=int(hits),
                     precision=hits / len(judged) if judged else float("nan"), lower=low, upper=high,
                     threshold=float(threshold), passes=bool(complete and low >= threshold))
