"""The Compare tab's corrected-labels line (dashboard.tabs.compare.corrected_text) on real reports."""

from __future__ import annotations

import pandas as pd

from dashboard.tabs.compare import corrected_text
from tests.core.test_compare_corrected import LABELS, A, B


def test_corrected_text_says_when_there_are_no_decisions_and_warns_on_a_flip():
    from core.analysis.compare import compare_tables

    assert corrected_text(compare_tables(A, B, LABELS)).startswith("No review decisions")
    decisions = pd.DataFrame({"sample_id": [3, 5, 1], "action": ["relabel", "relabel", "ambiguous"],
                              "old_label": ["love", "fear", "joy"], "new_label": ["joy", "joy", None]})
    text = corrected_text(compare_tables(A, B, LABELS, decisions=decisions))
    assert "3 decisions: 2 relabelled, 1 left out; 5 rows" in text
    assert "**Warning:** The better model changes with the review: B on the original labels" in text
