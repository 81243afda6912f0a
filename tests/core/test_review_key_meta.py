"""A review key read from a cached analysis's meta.json is used only when well formed (issue 26 item 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.analysis.workspace import Analysis
from core.data.keys import content_key, text_hashes

TEXTS = ["i feel so happy today", "i am scared of the dark"]
COMPUTED = content_key(text_hashes(TEXTS), "validation")


@pytest.mark.parametrize(("stored", "expected"), [
    ("../../../tmp/evil:validation", COMPUTED),
    ("0123456789abcdef:validation/../../x", COMPUTED),
    ("0123456789abcdef:train", COMPUTED),  # another split's key
    (["not", "a", "string"], COMPUTED),
    (None, COMPUTED),
    ("0123456789abcdef:validation", "0123456789abcdef:validation"),  # well formed: the recorded key is used
])
def test_a_meta_review_key_is_checked_before_it_names_anything(stored, expected) -> None:
    table = pd.DataFrame({"text": TEXTS, "label": ["joy", "fear"]})
    analysis = Analysis("model", None, None, "validation", table, np.zeros((2, 4), np.float32),  # type: ignore[arg-type]
                        {"review_key": stored})
    assert analysis.review_key == expected
