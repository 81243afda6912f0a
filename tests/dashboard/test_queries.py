"""Table queries select by sample id (the table's index), never by position."""

from __future__ import annotations

import pandas as pd

from core.analysis import queries
from dashboard.queries import as_list


def shuffled_table() -> pd.DataFrame:
    """Five samples whose index (sample id) is not their position, as after a filter or a sort."""
    return pd.DataFrame(
        {"loss": [0.5, 0.1, 0.9, 0.3, 0.7], "label": ["joy", "fear", "joy", "love", "fear"],
         "pred": ["joy", "joy", "fear", "love", "fear"], "text": list("abcde")},
        index=[40, 7, 13, 2, 21],
    )


def test_by_ids_selects_by_sample_id_not_position():
    table = shuffled_table()
    picked = queries.by_ids(table, [2, 13, 0])  # 0 is a position in range but no sample id
    assert sorted(picked.index) == [2, 13]
    assert picked.loc[13, "text"] == "c" and picked.loc[2, "text"] == "d"
    assert picked.index.tolist() == [13, 2]  # highest loss first


def test_by_ids_ignores_unknown_and_missing_ids_and_keeps_the_order():
    table = shuffled_table()
    assert queries.by_ids(table, [None, -1, 999]).empty
    picked = queries.by_ids(table, [7, 40, 21], order="lowest loss")
    assert picked.index.tolist() == [7, 40, 21]


def test_as_list_reports_the_sample_id_of_each_row():
    rows = as_list(queries.by_ids(shuffled_table(), [21, 7]))
    assert rows["sample_id"].tolist() == [21, 7]
    assert rows["text"].tolist() == ["e", "b"]
