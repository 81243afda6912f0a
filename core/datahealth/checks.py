"""The data-health checks on texts and labels alone (no model): leakage, conflicting duplicates,
non-emotion text, class balance and label sets.

Texts are compared after :func:`normalise`: Unicode NFKC and case folding, the letters, marks and
digits of every script and other symbols (emoji) kept, every other run of characters made one space,
trimmed; two texts are *exact duplicates* when their normalised forms are equal and not empty (a text
of punctuation alone duplicates nothing).

Near duplicates (:data:`NEAR_THRESHOLD`): the cosine similarity of the texts' TF-IDF vectors of word
unigrams and bigrams (scikit-learn, sublinear term frequency, vocabulary and IDF fitted on all the
splits checked) is at least 0.9, and the texts are not exact duplicates. The threshold is a judgement
made by reading the emotion data's cross-split pairs from 0.8 up (15 pairs at 0.8, 8 at 0.85, 5 at
0.9): from 0.9 up they were one tweet with a word added or dropped or spelled apart ("didnt" /
"didn t"); just below, two tweets sharing a phrase ("i feel so emotional today" / "im feeling so
emotional today") begin to appear. Nothing was fitted; no other data was read.

Example
-------
>>> frames = {"train": pd.DataFrame({"text": ["I feel GREAT!", "so sad"], "label": ["joy", "sadness"]}),
...           "test": pd.DataFrame({"text": ["i feel great", "hello"], "label": ["joy", "joy"]})}
>>> exact_leaks(frames)[["split", "sample_id", "other_split", "other_id"]].to_dict("records")
[{'split': 'test', 'sample_id': 0, 'other_split': 'train', 'other_id': 0}]
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd

NEAR_THRESHOLD = 0.9
#: The TF-IDF of the near-duplicate check (word unigrams and bigrams, sublinear term frequency).
TFIDF = {"ngram_range": (1, 2), "sublinear_tf": True, "token_pattern": r"(?u)\b\w+\b"}
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
LEAK_COLUMNS = ("kind", "split", "sample_id", "text", "label", "other_split", "other_id", "other_text",
                "other_label", "similarity", "same_label")


#: Unicode categories :func:`normalise` keeps (by first letter, or whole): letters, marks, numbers, emoji.
KEPT_CATEGORIES = ("L", "M", "N", "So")


def normalise(text: str) -> str:
    """The form exact duplicates are found on (module docstring); ``""`` for a text with nothing kept.

    >>> normalise("  I'm   SO happy!! ")
    'i m so happy'
    >>> normalise("ＳＴRASSE straße"), normalise("Привет, МИР!"), normalise("😭😭 ...")
    ('strasse strasse', 'привет мир', '😭😭')
    """
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    if folded.isascii():  # the common case, at regular-expression speed
        return _NON_ALNUM.sub(" ", folded).strip()
    kept = (c if unicodedata.category(c)[0] in "LMN" or unicodedata.category(c) == "So" else " " for c in folded)
    return " ".join("".join(kept).split())


def _pairs_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(LEAK_COLUMNS))
    return frame.astype({"sample_id": "int64", "other_id": "int64", "similarity": "float64", "same_label": "bool"})


def _split_order(frames: Mapping[str, pd.DataFrame]) -> list[str]:
    """Splits in the order given; a leak is reported on the later split, pointing at the earlier one."""
    return list(frames)


def exact_leaks(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Pairs of rows in two different splits whose normalised texts are equal.

    ``frames``: split name -> ``text, label`` frame (row position = sample id), earlier splits first
    (train, validation, test). Each pair is listed once, on the later split (``split``) with the
    earlier one as ``other_split``. Columns :data:`LEAK_COLUMNS`; ``similarity`` is 1. Pairs whose
    labels differ come first.
    """
    order = _split_order(frames)
    keys = {s: frames[s]["text"].map(normalise) for s in order}
    rows: list[dict] = []
    for early, late in combinations(order, 2):
        where: dict[str, list[int]] = {}
        for oid, key in enumerate(keys[early].to_numpy()):
            if key:  # an empty key (punctuation alone) is no text to leak
                where.setdefault(key, []).append(oid)
        for sid, key in enumerate(keys[late].to_numpy()):
            for oid in where.get(key, []):
                rows.append(_pair("exact", frames, late, sid, early, oid, 1.0))
    return _sorted(_pairs_frame(rows))


def _pair(kind: str, frames, split: str, sid: int, other: str, oid: int, sim: float) -> dict:
    a, b = frames[split].iloc[sid], frames[other].iloc[oid]
    return {"kind": kind, "split": split, "sample_id": int(sid), "text": a["text"], "label": a["label"],
            "other_split": other, "other_id": int(oid), "other_text": b["text"], "other_label": b["label"],
            "similarity": float(sim), "same_label": bool(a["label"] == b["label"])}


def _sorted(pairs: pd.DataFrame) -> pd.DataFrame:
    """Most severe first: exact before near, label conflicts first, then most similar."""
    if pairs.empty:
        return pairs.reset_index(drop=True)
    rank = pairs["kind"].map({"exact": 0, "near": 1})
    return (pairs.assign(_r=rank).sort_values(["_r", "same_label", "similarity", "split", "sample_id"],
                                              ascending=[True, True, False, True, True], kind="stable")
            .drop(columns="_r").reset_index(drop=True))


def near_leaks(frames: Mapping[str, pd.DataFrame], *, threshold: float = NEAR_THRESHOLD,
               block: int = 1024) -> pd.DataFrame:
    """Pairs of rows in two different splits whose TF-IDF cosine similarity is at least ``threshold``
    but whose normalised texts differ (module docstring). Same layout and order as :func:`exact_leaks`.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    order = _split_order(frames)
    keys = {s: frames[s]["text"].map(normalise).to_numpy() for s in order}
    vec = TfidfVectorizer(**TFIDF, dtype=np.float32)
    every = vec.fit_transform(np.concatenate([keys[s] for s in order])).tocsr()
    ends = np.cumsum([0] + [len(keys[s]) for s in order])
    mats = {s: every[ends[i]:ends[i + 1]] for i, s in enumerate(order)}
    rows: list[dict] = []
    for early, late in combinations(order, 2):
        for sid, oid, sim in zip(*_cosine_at_least(mats[late], mats[early], threshold, block), strict=True):
            if keys[late][sid] != keys[early][oid]:
                rows.append(_pair("near", frames, late, int(sid), early, int(oid), min(1.0, float(sim))))
    return _sorted(_pairs_frame(rows))


#: Terms in more than this share of the texts are multiplied as dense columns (:func:`_cosine_at_least`).
DENSE_TERM_SHARE = 0.01


def _cosine_at_least(a, b, threshold: float, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows of a, rows of b, similarity)`` of the pairs of L2-normalised sparse rows whose dot
    product is at least ``threshold``. Common terms (in more than :data:`DENSE_TERM_SHARE` of the rows)
    are multiplied densely, the rest sparsely: a sparse product of texts that all share "i" and
    "feel" is nearly dense and many times slower than BLAS."""
    df = np.asarray((a > 0).sum(axis=0)).ravel() + np.asarray((b > 0).sum(axis=0)).ravel()
    common = np.flatnonzero(df > DENSE_TERM_SHARE * (a.shape[0] + b.shape[0]))
    rare = np.setdiff1d(np.arange(a.shape[1]), common)
    a_rare, b_rare_t = a[:, rare].tocsr(), b[:, rare].T.tocsc()
    a_common, b_common_t = a[:, common].toarray(), np.ascontiguousarray(b[:, common].toarray().T)
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, a.shape[0], block):
        sims = a_common[start:start + block] @ b_common_t
        part = (a_rare[start:start + block] @ b_rare_t).tocoo()
        sims[part.row, part.col] += part.data  # a product's entries are unique
        r, c = np.nonzero(sims >= threshold)
        out.append((r + start, c, sims[r, c]))
    if not out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return tuple(np.concatenate(x) for x in zip(*out, strict=True))  # type: ignore[return-value]


def conflicting_duplicates(frame: pd.DataFrame, split: str) -> pd.DataFrame:
    """Groups of rows of one split with the same normalised text and more than one label.

    One row per group: ``split, group, sample_ids, labels, text, n_rows, n_labels``; most labels
    first, then most rows, then the first sample id.
    """
    rows = pd.DataFrame({"key": frame["text"].map(normalise).to_numpy(), "label": frame["label"].to_numpy(),
                         "sid": np.arange(len(frame))})
    rows = rows[rows["key"] != ""]  # texts with nothing kept are not duplicates of each other
    n_labels = rows.groupby("key")["label"].transform("nunique")
    out = []
    for _, g in rows[n_labels > 1].groupby("key", sort=False):
        ids = g["sid"].tolist()
        labels = sorted(set(g["label"]))
        out.append({"split": split, "sample_ids": ids, "labels": labels, "text": frame["text"].iloc[ids[0]],
                    "n_rows": len(ids), "n_labels": len(labels)})
    cols = ["split", "sample_ids", "labels", "text", "n_rows", "n_labels"]
    groups = pd.DataFrame(out, columns=cols)
    if groups.empty:
        return groups.assign(group=pd.Series(dtype="int64"))
    groups["first"] = groups["sample_ids"].map(min)
    groups = groups.sort_values(["n_labels", "n_rows", "first"], ascending=[False, False, True]).drop(columns="first")
    groups.insert(1, "group", np.arange(len(groups)))
    return groups.reset_index(drop=True)


#: Tokens of web addresses and markup, as left in dair-ai/emotion after its punctuation was removed.
URL_TOKENS = frozenset({"http", "https", "www", "href", "com", "src", "img", "html", "url", "rel"})
#: A token is a word when it is alphabetic and occurs in at least this many texts of all splits checked.
WORD_MIN_TEXTS = 3
#: Rows with fewer than this share of words are *mostly non-words*.
MIN_WORD_SHARE = 0.5
#: A row whose most frequent token makes up at least this share of at least 4 tokens is *repetitive*.
REPEAT_SHARE = 0.5
NON_EMOTION_RULE = (
    "url: the text holds a web-address or markup token (" + ", ".join(sorted(URL_TOKENS)) + "); "
    f"non_words: under {MIN_WORD_SHARE:.0%} of its tokens are words (alphabetic, in at least {WORD_MIN_TEXTS} texts "
    f"of the splits checked); repetitive: one token makes up at least {REPEAT_SHARE:.0%} of 4 or more tokens"
)


def non_emotion_text(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows that look like no tweet about an emotion, by :data:`NON_EMOTION_RULE`.

    Columns ``split, sample_id, text, label, reasons, word_share``; rows hitting more rules first,
    then the lowest word share.
    """
    tokens = {s: f["text"].map(lambda t: normalise(t).split()) for s, f in frames.items()}
    doc_freq: dict[str, int] = {}
    for toks in tokens.values():
        for row in toks:
            for t in set(row):
                doc_freq[t] = doc_freq.get(t, 0) + 1
    out = []
    for split, toks in tokens.items():
        for sid, row in enumerate(toks):
            reasons, share = _rules(row, doc_freq)
            if reasons:
                out.append({"split": split, "sample_id": sid, "text": frames[split]["text"].iloc[sid],
                            "label": frames[split]["label"].iloc[sid], "reasons": ", ".join(reasons),
                            "word_share": round(share, 3), "_n": len(reasons)})
    frame = pd.DataFrame(out, columns=["split", "sample_id", "text", "label", "reasons", "word_share", "_n"])
    frame = frame.sort_values(["_n", "word_share", "split", "sample_id"], ascending=[False, True, True, True])
    return frame.drop(columns="_n").reset_index(drop=True).astype({"sample_id": "int64"})


def _rules(tokens: list[str], doc_freq: Mapping[str, int]) -> tuple[list[str], float]:
    if not tokens:
        return ["non_words"], 0.0
    words = sum(t.isalpha() and doc_freq.get(t, 0) >= WORD_MIN_TEXTS for t in tokens)
    share = words / len(tokens)
    reasons = []
    if URL_TOKENS.intersection(tokens):
        reasons.append("url")
    if share < MIN_WORD_SHARE:
        reasons.append("non_words")
    if len(tokens) >= 4 and Counter(tokens).most_common(1)[0][1] / len(tokens) >= REPEAT_SHARE:
        reasons.append("repetitive")
    return reasons, share


#: A class is under-represented in a split when it has fewer than this share of an even split's rows.
IMBALANCE_SHARE = 0.5


def class_balance(frames: Mapping[str, pd.DataFrame], label_names: Sequence[str]) -> pd.DataFrame:
    """Rows per label per split: ``label, <split>...`` counts, ``<split>_share`` and ``under``, the
    splits where the label has fewer than :data:`IMBALANCE_SHARE` of ``N / K`` rows."""
    k = len(label_names)
    table = pd.DataFrame({"label": list(label_names)})
    under: list[list[str]] = [[] for _ in range(k)]
    for split, f in frames.items():
        counts = f["label"].value_counts().reindex(label_names, fill_value=0).to_numpy()
        table[split] = counts
        table[f"{split}_share"] = np.round(counts / max(1, len(f)), 4)
        for i, c in enumerate(counts):
            if c < IMBALANCE_SHARE * len(f) / k:
                under[i].append(split)
    table["under"] = [", ".join(u) for u in under]
    return table


def label_set_problems(frames: Mapping[str, pd.DataFrame], label_names: Sequence[str]) -> list[str]:
    """One sentence per label that occurs in some splits but not in others, or in none."""
    problems = []
    for name in label_names:
        have = [s for s, f in frames.items() if (f["label"] == name).any()]
        lack = [s for s in frames if s not in have]
        if not have:
            problems.append(f"label {name!r} occurs in no split")
        elif lack:
            problems.append(f"label {name!r} occurs in {', '.join(have)} but not in {', '.join(lack)}")
    return problems
