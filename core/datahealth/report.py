"""The data-health report of a dataset's splits: one list of rows per kind of issue, most severe first.

Kinds (:data:`KINDS`): ``leakage`` (exact and near-duplicate pairs across splits,
:mod:`core.datahealth.checks`), ``conflicting_duplicates`` (same text, other label, inside a split; and,
with a model, the analysis's near-duplicate groups), ``outliers`` (with a model: Datalab ``outlier``),
``non_emotion`` (:data:`core.datahealth.checks.NON_EMOTION_RULE`), ``class_imbalance`` and ``label_set``.

With a model's analyses, ``metrics`` gives each split's accuracy and weighted F1 on all rows and on
the rows that have no exact or near copy in another split checked (``*_kept``).

The report is cached as ``<cache_dir>/datahealth/<key>.json`` beside the analyses (``<cache_dir>/analysis``);
the key hashes everything that shapes the report (:func:`report_key`): the checks' parameters
(:func:`health_params`), the splits in order with their data fingerprints, the label names, and per analysis
its model, backend, truncation and analysis parameters.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.datahealth import checks, model_checks
from core.files import write_atomic

DATAHEALTH_VERSION = 4  # 2: outlier scores unrounded (they reach 1e-29); 3: Unicode normalisation;
# 4: near-duplicate conflicts by the sentence encoder's meaning, not the classifier's [CLS] states
KINDS: tuple[str, ...] = ("leakage", "conflicting_duplicates", "outliers", "non_emotion", "class_imbalance",
                          "label_set")
RULES: dict[str, str] = {
    "leakage": ("exact: equal texts after Unicode NFKC and case folding, keeping the letters, marks and digits of "
                "every script and emoji and collapsing the rest (a text with nothing kept leaks nothing); near: "
                f"TF-IDF (word 1-2 grams) cosine >= {checks.NEAR_THRESHOLD}; a pair per two rows of different splits"),
    "conflicting_duplicates": ("exact: equal texts (as for leakage) with more than one label in a split; near: "
                               "texts the sentence encoder (all-MiniLM-L6-v2, which never saw the labels) puts at "
                               f"cosine >= {model_checks.MEANING_THRESHOLD}, linked in chains, holding more than one "
                               "label (without the encoder: the analysis's Datalab near_duplicate groups on the "
                               "classifier's [CLS] states)"),
    "outliers": model_checks.OUTLIER_RULE,
    "non_emotion": checks.NON_EMOTION_RULE,
    "class_imbalance": f"a label with fewer than {checks.IMBALANCE_SHARE:.0%} of N/K rows in a split",
    "label_set": "a label that occurs in some splits but not in others",
}


@dataclass
class DataHealthReport:
    """Rows per kind of issue (frames), summary counts and, with a model, metrics without leaked rows."""

    splits: list[str]
    label_names: list[str]
    rows: dict[str, int]
    leakage: pd.DataFrame
    conflicts: pd.DataFrame
    outliers: pd.DataFrame
    non_emotion: pd.DataFrame
    balance: pd.DataFrame
    label_sets: list[str]
    metrics: dict[str, dict] = field(default_factory=dict)
    model: str | None = None
    seconds: float = 0.0

    def leaked_ids(self, split: str) -> list[int]:
        """Sample ids of ``split`` with an exact or near copy in another split checked."""
        lk = self.leakage
        ids = set(lk.loc[lk["split"] == split, "sample_id"]) | set(lk.loc[lk["other_split"] == split, "other_id"])
        return sorted(int(i) for i in ids)

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows affected per kind and split (for ``class_imbalance`` and ``label_set``: labels)."""
        out: dict[str, dict[str, int]] = {k: {} for k in KINDS}
        for s in self.splits:
            lk = self.leakage
            out["leakage"][s] = len(self.leaked_ids(s))
            out["leakage"][f"{s} exact"] = len(set(lk.loc[(lk["split"] == s) & (lk["kind"] == "exact"), "sample_id"])
                                               | set(lk.loc[(lk["other_split"] == s) & (lk["kind"] == "exact"),
                                                            "other_id"]))
            cf = self.conflicts[self.conflicts["split"] == s]
            out["conflicting_duplicates"][s] = int(len({i for ids in cf["sample_ids"] for i in ids}))
            for kind in ("exact", "near"):
                out["conflicting_duplicates"][f"{s} {kind} groups"] = int((cf["kind"] == kind).sum())
            out["outliers"][s] = int((self.outliers["split"] == s).sum())
            out["non_emotion"][s] = int((self.non_emotion["split"] == s).sum())
            out["class_imbalance"][s] = int(self.balance["under"].str.contains(rf"\b{s}\b", regex=True).sum())
        out["label_set"]["all"] = len(self.label_sets)
        return out

    def to_json(self) -> dict:
        """A JSON-able dict holding every list (texts included)."""
        def records(f: pd.DataFrame) -> list[dict]:
            return json.loads(f.to_json(orient="records"))

        return {"version": DATAHEALTH_VERSION, "splits": self.splits, "label_names": self.label_names,
                "rows": self.rows, "model": self.model, "seconds": self.seconds, "rules": RULES,
                "counts": self.counts(), "metrics": self.metrics, "label_sets": self.label_sets,
                "leakage": records(self.leakage), "conflicts": records(self.conflicts),
                "outliers": records(self.outliers), "non_emotion": records(self.non_emotion),
                "balance": records(self.balance)}

    @classmethod
    def from_json(cls, d: dict) -> DataHealthReport:
        """The report :meth:`to_json` wrote."""
        frames = {k: pd.DataFrame(d[k]) for k in ("leakage", "conflicts", "outliers", "non_emotion", "balance")}
        empty = {"leakage": list(checks.LEAK_COLUMNS), "conflicts": ["split", "kind", "group", "sample_ids"],
                 "outliers": ["split", "sample_id"], "non_emotion": ["split", "sample_id"],
                 "balance": ["label", "under"]}
        for k, cols in empty.items():
            if frames[k].empty:
                frames[k] = pd.DataFrame(columns=cols)
        return cls(d["splits"], d["label_names"], d["rows"], frames["leakage"], frames["conflicts"],
                   frames["outliers"], frames["non_emotion"], frames["balance"], d["label_sets"],
                   d.get("metrics", {}), d.get("model"), d.get("seconds", 0.0))


def compute_report(frames: Mapping[str, pd.DataFrame], label_names: list[str], *,
                   analyses: Mapping[str, object] | None = None, model: str | None = None,
                   embeddings: Mapping[str, object] | None = None) -> DataHealthReport:
    """Run every check on ``frames`` (split -> ``text, label`` frame, train first).

    ``analyses``: split -> an object with ``table`` and ``hidden`` (a cached analysis of that split by
    one model, rows in the frame's order), for outliers, near-duplicate conflicts and metrics.
    ``embeddings``: split -> (N, D) unit sentence embeddings of its texts; near duplicates are found in that
    space where given (:func:`core.datahealth.model_checks.meaning_duplicate_conflicts`).
    """
    start = time.perf_counter()
    frames = dict(frames)
    leakage = pd.concat([checks.exact_leaks(frames), checks.near_leaks(frames)], ignore_index=True)
    parts = []
    for s, f in frames.items():
        parts.append(checks.conflicting_duplicates(f, s).assign(kind="exact"))
        if embeddings and s in embeddings:
            parts.append(model_checks.meaning_duplicate_conflicts(f, embeddings[s], s).assign(kind="near"))
        elif analyses and s in analyses:
            parts.append(model_checks.near_duplicate_conflicts(analyses[s].table, s).assign(kind="near"))
    conflicts = pd.concat(parts, ignore_index=True)
    report = DataHealthReport(
        list(frames), list(label_names), {s: len(f) for s, f in frames.items()}, leakage, conflicts,
        pd.DataFrame(columns=["split", "sample_id", "text", "label", "pred", "outlier_score"]),
        checks.non_emotion_text(frames), checks.class_balance(frames, label_names),
        checks.label_set_problems(frames, label_names), model=model)
    if analyses:
        report.outliers = pd.concat([model_checks.outliers(a.table, a.hidden, s) for s, a in analyses.items()],
                                    ignore_index=True)
        report.metrics = {s: model_checks.metrics_without(a.table, report.leaked_ids(s), list(label_names))
                          for s, a in analyses.items()}
    report.seconds = round(time.perf_counter() - start, 2)
    return report


#: What of an analysis's ``meta.json`` shapes the report (its outliers, near-duplicate groups and metrics).
ANALYSIS_META_KEYS = ("model_fingerprint", "backend", "max_length", "analysis_params", "labels")


def health_params() -> dict[str, object]:
    """Every parameter of the checks that shapes the report (read now, so an edited constant is seen)."""
    return {"version": DATAHEALTH_VERSION, "rules": RULES, "kept_categories": list(checks.KEPT_CATEGORIES),
            "near_threshold": checks.NEAR_THRESHOLD, "tfidf": checks.TFIDF, "url_tokens": sorted(checks.URL_TOKENS),
            "word_min_texts": checks.WORD_MIN_TEXTS, "min_word_share": checks.MIN_WORD_SHARE,
            "repeat_share": checks.REPEAT_SHARE, "imbalance_share": checks.IMBALANCE_SHARE,
            "neighbours_k": model_checks.NEIGHBOURS_K, "exact_neighbours_max": model_checks.EXACT_NEIGHBOURS_MAX}


def report_key(data_fps: Mapping[str, str], analyses: Mapping[str, Mapping] | None, labels: list[str], *,
               params: Mapping[str, object] | None = None) -> str:
    """The cache key of a report: ``params`` (default :func:`health_params`), the splits in order (the later
    split of a leak is the one it is reported on) with their data fingerprints, the label names, and per
    analysed split the :data:`ANALYSIS_META_KEYS` of its analysis's ``meta``."""
    metas = {s: {k: m.get(k) for k in ANALYSIS_META_KEYS} for s, m in (analyses or {}).items()}
    raw = json.dumps([health_params() if params is None else params, list(data_fps.items()), list(labels),
                      sorted(metas.items())], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def load_cached(cache_dir: str | Path, key: str) -> DataHealthReport | None:
    """The cached report, or ``None`` when absent or unreadable (then it is recomputed)."""
    path = Path(cache_dir).expanduser() / "datahealth" / f"{key}.json"
    try:
        return DataHealthReport.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError):
        return None


def save_cached(cache_dir: str | Path, key: str, report: DataHealthReport) -> Path:
    """Write the report atomically beside the analyses; returns its path."""
    final = Path(cache_dir).expanduser() / "datahealth" / f"{key}.json"
    return write_atomic(final, lambda tmp: tmp.write_text(json.dumps(report.to_json())))
