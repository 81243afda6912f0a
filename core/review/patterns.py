"""Review by pattern: the suspect rows of a split grouped by the reason they are suspect.

The suspects are the top :attr:`PatternSettings.top_share` of a split's rows by ``mislabel_score``. Each
suspect gets one reason, the first that applies (:func:`row_reasons`):

1. ``negated``: the given label's cue word is negated ("i didnt feel angry"): the word rules
   (:func:`core.analysis.signals.negation.rule_reason`, kinds ``negated``/``softened``) or spaCy's parse
   (``neg_parse`` of at least :data:`NEGATED_AT`);
2. ``contrast``: the cue is overturned by a contrast marker after it ("but", "now"), a denial ("anymore") or
   came before "used to";
3. ``wish``: the cue is only wished for or modal ("want to feel happy");
4. ``other target``: the cue is about a thing or someone else (``cue_target``, where the table has it);
5. ``lexicon``: the negation-aware lexicon votes for another class (``lex_suggest``, with ``lex_not_given`` of
   at least :data:`LEXICON_AT`);
6. none of these: the row is left to the encoder clusters (:mod:`core.review.pattern_clusters`).

Rows of one reason are grouped by the word that names it (the cue word of a negation, the marker of a
contrast or a wish, the lexicon's class), within the given class; a group smaller than
:attr:`PatternSettings.min_size` joins its reason's group for that class ("negated anger words"). Each
row's suggested class (:func:`row_suggestions`) is the first of the judges' suggestions that differs from
its given label.

:func:`pattern_table` summarises each pattern: size, given-label mix, suggested-class mix, and the audited
precision (the share of audited rows judged wrong) with its Wilson interval.

>>> table = pd.DataFrame({"text": ["i dont feel angry", "i didnt feel angry at all", "i feel angry"],
...                       "label": ["anger"] * 3, "mislabel_score": [0.9, 0.8, 0.1],
...                       "lex_suggest": ["", "", "anger"]})
>>> reasons = row_reasons(table.iloc[:2])
>>> reasons[["cue", "reason", "key"]].values.tolist()
[['angry', 'negated', 'angry'], ['angry', 'negated', 'angry']]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.analysis.signals.negation import rule_reason

#: Reasons in the order they are tried.
REASONS: tuple[str, ...] = ("negated", "contrast", "wish", "other target", "lexicon", "cluster")
NEGATED_AT = 0.8
TARGET_AT = 0.5
LEXICON_AT = 0.5
#: Columns that suggest a class, tried in order (the first that differs from the given label wins).
SUGGEST_COLUMNS: tuple[str, ...] = ("lex_suggest", "zs_suggest", "oof_embed_suggest", "oof_tfidf_suggest",
                                    "suggested_label")
_RULE_REASON = {"negated": "negated", "softened": "negated", "contrast": "contrast", "contrast_other": "contrast",
                "used_to": "contrast", "wish": "wish"}


@dataclass(frozen=True)
class PatternSettings:
    """How suspects are chosen and grouped: ``top_share`` of rows by ``mislabel_score``; a word's group needs
    ``min_size`` rows (else it joins its class's group); encoder clusters need ``cluster_min_size`` rows."""

    top_share: float = 0.10
    min_size: int = 8
    cluster_min_size: int = 6

    def __post_init__(self) -> None:
        if not 0 < self.top_share <= 1:
            raise ValueError(f"top_share must be in (0, 1], got {self.top_share!r}")
        if self.min_size < 1 or self.cluster_min_size < 2:
            raise ValueError("min_size must be at least 1 and cluster_min_size at least 2")


def suspects(table: pd.DataFrame, top_share: float) -> pd.DataFrame:
    """The top ``top_share`` of ``table``'s rows by ``mislabel_score`` (at least one), most suspect first."""
    if "mislabel_score" not in table:
        raise ValueError("the analysis table has no mislabel_score column")
    n = max(1, int(round(len(table) * float(top_share))))
    order = np.argsort(-table["mislabel_score"].to_numpy(dtype=np.float64), kind="stable")[:n]
    return table.iloc[order]


def row_suggestions(rows: pd.DataFrame, labels: Sequence[str] = ()) -> np.ndarray:
    """Each row's suggested class: the first of :data:`SUGGEST_COLUMNS` (then the model's most probable other
    class, where ``prob_<label>`` columns exist) that names a class other than the given one; ``""`` if none."""
    given = rows["label"].astype(str).to_numpy()
    out = np.full(len(rows), "", dtype=object)
    for col in SUGGEST_COLUMNS:
        if col in rows:
            values = rows[col].fillna("").astype(str).to_numpy()
            take = (out == "") & (values != "") & (values != given)
            out[take] = values[take]
    probs = [c for c in (f"prob_{name}" for name in labels) if c in rows]
    if probs and (out == "").any():
        p = rows[probs].to_numpy(dtype=np.float64).copy()
        names = np.array([c[len("prob_"):] for c in probs], dtype=object)
        p[names[None, :] == given[:, None]] = -np.inf
        best = names[p.argmax(axis=1)]
        out[out == ""] = best[out == ""]
    return out


def _one_reason(text: str, label: str, row: pd.Series) -> tuple[str, str, str, str]:
    """``(cue, reason, key, marker)`` of one row (module docstring); reason ``cluster`` when none applies."""
    why = rule_reason(text, label)
    cue = why.cue or ""
    reason = _RULE_REASON.get(why.kind or "")
    if reason is None and float(row.get("neg_parse", 0.0) or 0.0) >= NEGATED_AT and cue:
        reason = "negated"
    if reason == "negated":
        return cue, reason, cue, why.marker
    if reason in ("contrast", "wish"):
        return cue, reason, why.marker, why.marker
    if float(row.get("cue_target", 0.0) or 0.0) >= TARGET_AT and cue:
        return cue, "other target", cue, ""
    lex = str(row.get("lex_suggest", "") or "")
    if lex and lex != label and float(row.get("lex_not_given", 0.0) or 0.0) >= LEXICON_AT:
        return cue, "lexicon", lex, ""
    return cue, "cluster", "", ""


def row_reasons(rows: pd.DataFrame, labels: Sequence[str] = ()) -> pd.DataFrame:
    """Per row (same index): ``cue`` (the given label's cue word), ``reason`` (:data:`REASONS`), ``key`` (the
    word or class naming its group), ``marker`` (the negator, contrast or wish word) and ``suggest``."""
    parts = [_one_reason(str(t), str(y), r) for (_, r), t, y in zip(rows.iterrows(), rows["text"], rows["label"],
                                                                       strict=True)]
    out = pd.DataFrame(parts, index=rows.index, columns=["cue", "reason", "key", "marker"])
    out["suggest"] = row_suggestions(rows, labels)
    return out


def group_ids(reasons: pd.DataFrame, given: pd.Series, min_size: int) -> pd.Series:
    """Each non-cluster row's pattern id, ``"<reason>:<given>:<key>"``, or ``"<reason>:<given>:*"`` where its
    key has fewer than ``min_size`` rows; ``""`` for rows left to the clusters."""
    reason, key = reasons["reason"], reasons["key"]
    full = reason + ":" + given.astype(str) + ":" + key
    sizes = full.map(full.value_counts())
    ids = full.where(sizes >= min_size, reason + ":" + given.astype(str) + ":*")
    return ids.where(reason != "cluster", "")


def pattern_name(pattern_id: str) -> str:
    """A person's name for a rule pattern id, e.g. ``negated "angry" (anger)``."""
    reason, given, key = pattern_id.split(":", 2)
    if key == "*":
        return {"negated": f"negated {given} words", "contrast": f"{given} words overturned by a contrast",
                "wish": f"{given} words only wished for", "other target": f"{given} words about something else",
                "lexicon": f"lexicon reads another class, given {given}"}.get(reason, pattern_id)
    return {"negated": f'negated "{key}" ({given})', "contrast": f'{given} word, then "{key}"',
            "wish": f'{given} word after "{key}"', "other target": f'"{key}" about something else ({given})',
            "lexicon": f"lexicon reads {key}, given {given}"}.get(reason, pattern_id)


def mix(values: pd.Series, most: int = 3) -> str:
    """``"joy 12, sadness 3"``: the commonest values and their counts."""
    counts = values[values.astype(str) != ""].astype(str).value_counts()
    shown = ", ".join(f"{k} {v}" for k, v in counts.head(most).items())
    return shown + (f", +{len(counts) - most} more" if len(counts) > most else "")


def wilson(hits: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson interval of ``hits`` out of ``n`` (statsmodels); ``(nan, nan)`` when ``n`` is 0.

    >>> [round(x, 3) for x in wilson(9, 10)]
    [0.596, 0.982]
    """
    if n <= 0:
        return float("nan"), float("nan")
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(int(hits), int(n), alpha=alpha, method="wilson")
    return float(low), float(high)


def audited_precision(sample_ids: Sequence[int], suggest: Sequence[str], audit: pd.DataFrame | None) -> dict:
    """How the audit judged the rows among ``sample_ids``: ``audited`` rows, ``wrong`` (the label judged wrong),
    ``precision`` = wrong / audited with its Wilson ``low``-``high``, and ``suggest_right`` (the correct class
    is the row's suggested one). ``audit``: ``sample_id, judgement, correct_label`` (one row per sample)."""
    if audit is None or not len(audit):
        return {"audited": 0, "wrong": 0, "suggest_right": 0, "precision": float("nan"), "low": float("nan"),
                "high": float("nan")}
    judged = audit.drop_duplicates("sample_id").set_index("sample_id")
    ids = pd.Index(sample_ids)
    hit = ids.isin(judged.index)
    rows = judged.loc[ids[hit]]
    wrong = int((rows["judgement"] == "wrong").sum())
    right_class = int((rows["correct_label"].astype(object).to_numpy() == np.asarray(suggest, dtype=object)[hit]).sum())
    low, high = wilson(wrong, len(rows))
    return {"audited": int(len(rows)), "wrong": wrong, "suggest_right": right_class,
            "precision": wrong / len(rows) if len(rows) else float("nan"), "low": low, "high": high}


@dataclass
class Patterns:
    """The suspects of one split, each with its pattern: ``rows`` (index = sample id, most suspect first;
    columns ``score, label, text, cue, reason, key, marker, suggest, pattern``, pattern ``""`` for a row in no
    pattern) and ``names`` (pattern id -> name)."""

    rows: pd.DataFrame
    names: dict[str, str]

    def of(self, pattern_id: str) -> pd.DataFrame:
        """The rows of one pattern, most suspect first; ``KeyError`` naming the known ids when it is unknown."""
        if pattern_id not in self.names:
            shown = ", ".join(list(self.names)[:8])
            raise KeyError(f"unknown pattern {pattern_id!r}; patterns: {shown}{' ...' if len(self.names) > 8 else ''}")
        return self.rows[self.rows["pattern"] == pattern_id]


def build_patterns(table: pd.DataFrame, *, settings: PatternSettings = PatternSettings(),
                   embed: Callable[[list[int]], np.ndarray | None] | None = None, labels: Sequence[str] = ()
                   ) -> Patterns:
    """Group the split's suspects (:func:`suspects`) into rule patterns (:func:`row_reasons`, :func:`group_ids`)
    and, where ``embed`` is given, encoder clusters of the rest: ``embed(positions)`` returns the sentence
    embeddings of those rows of ``table`` (or ``None`` when there is no encoder)."""
    from core.review.pattern_clusters import distinctive_words, encoder_clusters

    top = suspects(table, settings.top_share)
    reasons = row_reasons(top, labels)
    rows = pd.concat([top[["text", "label"]].astype(str), reasons], axis=1)
    rows.insert(0, "score", top["mislabel_score"].to_numpy(dtype=np.float64))
    rows["pattern"] = group_ids(reasons, top["label"], settings.min_size)
    names = {pid: pattern_name(pid) for pid in dict.fromkeys(rows["pattern"]) if pid}
    rest = np.flatnonzero((rows["pattern"] == "").to_numpy())
    vectors = embed(table.index.get_indexer(top.index[rest]).tolist()) if embed is not None and len(rest) else None
    if vectors is not None:
        found = encoder_clusters(np.asarray(vectors), min_size=settings.cluster_min_size)
        words = distinctive_words(rows["text"].iloc[rest].tolist(), found, table["text"].astype(str).tolist())
        ids = np.array([f"cluster:{c}" if c >= 0 else "" for c in found], dtype=object)
        rows.iloc[rest, rows.columns.get_loc("pattern")] = ids
        rows.iloc[rest, rows.columns.get_loc("key")] = [", ".join(words.get(c, [])) for c in found]
        names.update({f"cluster:{c}": f"texts about {', '.join(w) or 'no distinctive word'}" for c, w in words.items()})
    rows.index.name = "sample_id"
    return Patterns(rows, names)


TABLE_COLUMNS = ["pattern", "name", "reason", "size", "given", "suggested", "suggest", "audited", "wrong",
                 "precision", "low", "high"]


def pattern_table(patterns: Patterns, audit: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per pattern, largest first (:data:`TABLE_COLUMNS`): its id, name, reason, size, given-label and
    suggested-class mixes, its commonest suggested class, and its audited precision (:func:`audited_precision`)."""
    out = []
    for pid, name in patterns.names.items():
        rows = patterns.of(pid)
        suggest = rows["suggest"]
        counts = suggest[suggest != ""].value_counts()
        prec = audited_precision(rows.index.tolist(), suggest.tolist(), audit)
        out.append({"pattern": pid, "name": name, "reason": rows["reason"].iat[0], "size": len(rows),
                    "given": mix(rows["label"]), "suggested": mix(suggest),
                    "suggest": str(counts.index[0]) if len(counts) else "",
                    **{k: prec[k] for k in ("audited", "wrong", "precision", "low", "high")}})
    frame = pd.DataFrame(out, columns=TABLE_COLUMNS)
    return frame.sort_values(["size", "pattern"], ascending=[False, True], kind="stable").reset_index(drop=True)
