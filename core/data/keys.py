"""Row identity: text hashes, the content key of a split, and matching stored decisions to rows.

Review decisions belong to the data, not to a model, so their keys are data identity and live here.

A decision is stored under a *review key* ``"<content fingerprint>:<split>"`` where the content
fingerprint hashes the split's sorted text hashes, so it ignores row order, labels and the model:
retraining, switching model, re-exporting the split in another format or re-ordering it keeps the
key. Each decision also stores its row's ``text_hash``; :func:`align` matches decisions to the rows
of the split as it is now:

- ``same row``: the stored ``sample_id`` still holds that text;
- ``moved``: the text now sits at another row (the file was re-ordered), and the decision follows it;
- ``text changed``: no row has that text any more; the decision is flagged, never silently matched;
- ``unverified``: a decision migrated from the model-keyed schema, which stored no text hash; it is
  matched by ``sample_id`` alone.

Example
-------
>>> h = text_hashes(["i am happy", "i am sad"])
>>> len(h[0]), content_key(h, "train") == content_key(h[::-1], "train")
(16, True)
>>> d = pd.DataFrame({"sample_id": [0, 1], "text_hash": [h[1], "0" * 16]})
>>> align(d, h)[["row", "match"]].to_dict("list")
{'row': [1, -1], 'match': ['moved', 'text changed']}
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pandas as pd

MATCHES: tuple[str, ...] = ("same row", "moved", "text changed", "unverified")


def text_hash(text: str) -> str:
    """The first 16 hex digits of the text's SHA-256 (UTF-8)."""
    return hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def text_hashes(texts: Sequence[str]) -> np.ndarray:
    """(N,) :func:`text_hash` of every text, as an object array."""
    return np.array([text_hash(t) for t in texts], dtype=object)


def content_key(hashes: Sequence[str], split: str) -> str:
    """``"<fingerprint>:<split>"``; the fingerprint ignores row order (sorted hashes)."""
    digest = hashlib.sha256("\n".join(sorted(str(h) for h in hashes)).encode()).hexdigest()[:16]
    return f"{digest}:{split}"


_KEY = re.compile(r"[0-9a-f]{16}:[A-Za-z0-9_-]{1,64}")


def is_review_key(key: object, split: str | None = None) -> bool:
    """Whether ``key`` is a review key as :func:`content_key` makes them (for ``split`` when given); safe
    in a file name. A key read from a file (a cached analysis's ``meta.json``) is checked with this first.

    >>> is_review_key("0123456789abcdef:train", "train"), is_review_key("../../x:train"), is_review_key(None)
    (True, False, False)
    """
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        return False
    return split is None or key.endswith(f":{split}")


def align(decisions: pd.DataFrame, hashes: Sequence[str]) -> pd.DataFrame:
    """Add ``row`` (the current sample id, -1 when unmatched) and ``match`` (one of :data:`MATCHES`).

    ``decisions`` needs ``sample_id`` and ``text_hash`` (``None`` for migrated rows). Where the same
    text occurs more than once, a moved decision takes the first such row no other decision holds.
    """
    n = len(hashes)
    out = decisions.copy()
    rows = np.full(len(out), -1, dtype=np.int64)
    match = np.empty(len(out), dtype=object)
    taken: set[int] = set()
    ids = out["sample_id"].astype("int64").to_numpy()
    stored = out["text_hash"].to_numpy() if "text_hash" in out else np.full(len(out), None, dtype=object)
    pending = []
    for j, (sid, h) in enumerate(zip(ids, stored, strict=True)):
        if h is None or (isinstance(h, float) and np.isnan(h)) or h == "":
            rows[j], match[j] = (sid, "unverified") if 0 <= sid < n else (-1, "text changed")
        elif 0 <= sid < n and hashes[sid] == h:
            rows[j], match[j] = sid, "same row"
        else:
            pending.append(j)
            continue
        if rows[j] >= 0:
            taken.add(int(rows[j]))
    where: dict[str, list[int]] = defaultdict(list)
    if pending:  # moved decisions only: index every row's hash (O(N)) when some decision needs it
        for i, h in enumerate(hashes):
            where[h].append(i)
    for j in pending:
        free = [i for i in where.get(stored[j], []) if i not in taken]
        if free:
            rows[j], match[j] = free[0], "moved"
            taken.add(free[0])
        else:
            rows[j], match[j] = -1, "text changed"
    out["row"] = rows
    out["match"] = match
    return out
