"""How the views page and show rows of an analysis table (the filtering is the analyses service's)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.services.analyses import ANY, ORDERS

__all__ = ["ANY", "LIST_COLUMNS", "ORDERS", "as_list", "label_choices", "page"]

LIST_COLUMNS = ["sample_id", "loss", "label", "pred", "confidence", "mislabel_score", "text"]


def page(rows: pd.DataFrame, *, page_number: int = 1, page_size: int = 20) -> tuple[pd.DataFrame, int]:
    """One page of rows (1-based ``page_number``, clamped) and the number of pages."""
    page_size = max(1, int(page_size))
    n_pages = max(1, int(np.ceil(len(rows) / page_size)))
    number = min(max(1, int(page_number)), n_pages)
    start = (number - 1) * page_size
    return rows.iloc[start:start + page_size], n_pages


def as_list(rows: pd.DataFrame) -> pd.DataFrame:
    """The columns shown in sample lists, with ``sample_id`` first and numbers rounded."""
    out = rows.assign(sample_id=rows.index.to_numpy())
    out = out[[c for c in LIST_COLUMNS if c in out.columns]].copy()
    for col in ("loss", "confidence", "mislabel_score"):
        if col in out:
            out[col] = out[col].astype(float).round(3)
    return out.reset_index(drop=True)


def label_choices(labels: Sequence[str]) -> list[str]:
    """Dropdown choices: ``any`` then every label."""
    return [ANY, *labels]
