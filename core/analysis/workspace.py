"""Analyses the app holds: one :class:`Analysis` per analysed (model, split), and a small registry.

A *role* names a model: ``"model"`` is the one the app serves (``--model``), ``"compare"`` the
optional second checkpoint (``--compare-model``). Each (role, split) pair has its own cached
analysis (:func:`core.analysis.precompute.analyse_split`), so switching split or model in the app is a
dictionary lookup.

Example
-------
>>> reg = AnalysisRegistry({}, default_split="validation")
>>> reg.splits, reg.roles
([], [])
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from core.classifier.model import Classifier
from core.data.keys import content_key, is_review_key, text_hashes
from core.data.splits import EmotionData

ROLES: tuple[str, ...] = ("model", "compare")
TRAIN_SPLIT = "train"

#: How each kind of probability is named in the views.
PROB_SOURCES: dict[str, str] = {
    "held-out": "held-out: the model never trained on this split",
    "in-sample": ("in-sample: the model trained on these rows, and a model can memorise labels it trained on; "
                  "the mislabel score is the one stored in the analysis: the shipped ranking of signals that do not "
                  "trust the labels (word lists, a sentence encoder, the parse), or cleanlab's in-sample score where "
                  "it cannot rank the data"),
    "out-of-fold": ("out-of-fold: each row scored by a model trained without it (cross-validation); "
                    "the mislabel score is re-ranked from these probabilities with cleanlab, not the shipped ranking"),
}
#: The default source for a split the model trained on (``--prob-source auto``): the stored table, whose
#: ``mislabel_score`` is the shipped ranking (:mod:`core.analysis.signals.shipped`; chosen and reported on
#: the two halves of the blind train audit, ``bench/noise/real_noise.py``); out-of-fold stays one click away.
TRAINED_ON_DEFAULT = "in-sample"


@dataclass
class Analysis:
    """One analysed (model, split): the per-sample table, the [CLS] states and the meta record.

    ``table`` has a RangeIndex equal to the sample id (the row position in the split).
    ``trained_on`` says the model was trained on this split, so its probabilities are in-sample.
    """

    role: str
    classifier: Classifier
    data: EmotionData
    split: str
    table: pd.DataFrame
    hidden: np.ndarray
    meta: dict
    warnings: list[str] = field(default_factory=list)
    trained_on: bool = False
    oof: pd.DataFrame | None = None
    oof_meta: dict | None = None
    default_source: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ranked: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)  # per source, built once

    @property
    def labels(self) -> list[str]:
        """Label names in model order."""
        return list(self.classifier.labels)

    @property
    def split_format(self) -> str:
        """The format the split came in (txt, csv, parquet or hub)."""
        return self.data[self.split].format

    @property
    def prob_source(self) -> str:
        """Which probabilities the table holds: ``held-out`` or ``in-sample``."""
        return "in-sample" if self.trained_on else "held-out"

    @property
    def sources(self) -> list[str]:
        """The probability sources a ranking of this split can use, the default first."""
        have = [self.prob_source] + (["out-of-fold"] if self.oof is not None else [])
        first = self.default_source if self.default_source in have else have[0]
        return [first] + [s for s in have if s != first]

    def ranked(self, source: str | None = None) -> pd.DataFrame:
        """The table with its probability columns, loss, confidence and ranking columns taken from
        ``source`` (default: :attr:`sources`' first). The split's own probabilities (held-out or
        in-sample) are the stored table itself, ranked as cached (for a split the model trained on: the
        shipped ranking). Out-of-fold is re-ranked from its probabilities; rows an out-of-fold run did not
        cover have no probabilities there (NaN) and rank last."""
        source = source or self.sources[0]
        if source not in self.sources:
            raise KeyError(f"no {source!r} probabilities for the {self.split} split (have {self.sources})")
        if source == self.prob_source:
            return self.table
        with self._lock:
            if source not in self._ranked:
                self._ranked[source] = out_of_fold_table(self.table, self.oof, self.labels, self.hidden)
            return self._ranked[source]

    @cached_property
    def text_hashes(self) -> np.ndarray:
        """(N,) text hash per row, the row identity review decisions are checked against."""
        return text_hashes(self.table["text"].tolist())

    @cached_property
    def review_key(self) -> str:
        """The data-keyed review key: content fingerprint of the split's texts, and the split name
        (recorded in the cached analysis's meta when it was computed; computed here for older entries, and
        for a meta whose key is not a well-formed key of this split, since the key names files and folders)."""
        stored = self.meta.get("review_key")
        if is_review_key(stored, self.split):
            return stored
        return content_key(self.text_hashes, self.split)

    @property
    def legacy_review_key(self) -> str:
        """The model-keyed review key of schema version 1 (``model:data:split``)."""
        return f"{self.meta['model_fingerprint']}:{self.meta['data_fingerprint']}:{self.split}"

    def _check_id(self, sample_id: int) -> int:
        sid = int(sample_id)
        if not 0 <= sid < len(self.table):
            raise IndexError(f"sample {sample_id} is not in 0..{len(self.table) - 1} of the {self.split} split")
        return sid

    def sample(self, sample_id: int) -> dict:
        """One row as a dict, with ``sample_id``, ranked as the split's own probabilities rank (so its
        mislabel score is the one the lists show). Raises :class:`IndexError` outside the split."""
        sid = self._check_id(sample_id)
        row = self.ranked(self.prob_source).iloc[sid].to_dict()
        row["sample_id"] = sid
        return row

    @cached_property
    def _norms(self) -> np.ndarray:
        """(N,) L2 norm of every hidden state, read once in blocks (the states may be memory-mapped)."""
        h = self.hidden
        out = np.empty(len(h), dtype=np.float64)
        for start in range(0, len(h), 65_536):
            block = np.asarray(h[start:start + 65_536])
            out[start:start + len(block)] = np.sqrt(np.einsum("ij,ij->i", block, block).astype(np.float64))
        return out

    def neighbours(self, sample_id: int, *, k: int = 8) -> pd.DataFrame:
        """The ``k`` nearest other samples in hidden-state space: sample_id, text, label, pred, similarity.

        Nearest by cosine similarity, exact (one pass over the states: a matrix-vector product, no
        N x N work, no copy of the states), ties broken by sample id.
        """
        sid = self._check_id(sample_id)
        with self._lock:
            norms = self._norms
        k = max(0, min(k, len(self.table) - 1))
        states = np.asarray(self.hidden)
        dots = (states @ np.array(states[sid])).astype(np.float64)  # in the states' dtype: no upcast copy
        with np.errstate(invalid="ignore", divide="ignore"):
            sims = dots / (norms * (norms[sid] or 1.0))
        sims = np.nan_to_num(sims, nan=-1.0)
        sims[sid] = -np.inf
        top = np.argpartition(-sims, k)[:k] if k < len(sims) else np.arange(len(sims))
        ids = top[np.lexsort((top, -sims[top]))][:k]
        rows = self.table.iloc[ids][["text", "label", "pred"]].copy()
        rows.insert(0, "sample_id", ids)
        rows["similarity"] = np.round(sims[ids], 3)
        return rows.reset_index(drop=True)


_UNSCORED = {"label_quality": np.nan, "is_label_issue": False, "suggested_label": None, "mislabel_score": np.nan,
             "dup_group": -1, "dup_label_conflict": False}


def out_of_fold_table(table: pd.DataFrame, oof: pd.DataFrame, labels: list[str], hidden: np.ndarray) -> pd.DataFrame:
    """``table`` with probabilities, loss, confidence, margin and the cleanlab ranking columns
    recomputed from out-of-fold probabilities (``oof``: ``row_id`` and ``prob_<label>`` columns);
    ``pred`` stays the served model's prediction, ``oof_pred`` is the out-of-fold one."""
    from core.analysis.mislabels import COLUMNS, label_issue_columns
    from core.analysis.table import per_sample_loss, top2_margin

    cols = [f"prob_{x}" for x in labels]
    rows = oof["row_id"].to_numpy(dtype=np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= len(table)):
        raise ValueError(f"out-of-fold rows outside the split's {len(table)} rows")
    probs = oof[cols].to_numpy(dtype=np.float64)
    label_ids = pd.Categorical(table["label"], categories=labels).codes[rows].astype(np.int64)
    out = table.copy()
    for c in (*cols, "loss", "confidence", "margin"):
        out[c] = np.nan
    out.loc[rows, cols] = probs
    out.loc[rows, "loss"] = per_sample_loss(probs, label_ids)
    out.loc[rows, "confidence"] = probs.max(axis=1)
    out.loc[rows, "margin"] = top2_margin(probs)
    out["oof_pred"] = None
    out.loc[rows, "oof_pred"] = np.asarray(labels, dtype=object)[probs.argmax(axis=1)]
    ranking = label_issue_columns(probs, label_ids, labels, features=hidden[rows], source="out-of-fold")
    for c in COLUMNS:  # rows the out-of-fold run did not cover get "no value" (NaN, False, None, -1)
        dtype = ranking[c].dtype if isinstance(ranking[c].dtype, np.dtype) else object
        column = np.full(len(out), _UNSCORED[c], dtype=dtype)
        column[rows] = ranking[c].to_numpy()
        out[c] = column
    out.attrs["source"] = "out-of-fold"
    return out


class AnalysisRegistry:
    """Analyses by (role, split); the dashboard asks it for the one a view shows."""

    def __init__(self, analyses: Mapping[tuple[str, str], Analysis], *, default_split: str) -> None:
        self._items = dict(analyses)
        self.default_split = default_split

    @property
    def splits(self) -> list[str]:
        """Analysed splits of the served model, in the order they were asked for."""
        return [s for r, s in list(self._items) if r == "model"]  # a snapshot: splits may be added while serving

    @property
    def roles(self) -> list[str]:
        """Roles with at least one analysis (``model`` first)."""
        keys = list(self._items)
        return [r for r in ROLES if any(k[0] == r for k in keys)]

    def get(self, split: str | None = None, role: str = "model") -> Analysis:
        """The analysis of ``split`` (default: the default split) by the model in ``role``.

        Raises :class:`KeyError` with the available choices.
        """
        key = (role, split or self.default_split)
        if key not in self._items:
            have = ", ".join(f"{r}/{s}" for r, s in list(self._items)) or "none"
            raise KeyError(f"no analysis of the {key[1]!r} split for the {role!r} model (have: {have})")
        return self._items[key]

    def add(self, analysis: Analysis) -> None:
        """Register (or replace) an analysis."""
        self._items[(analysis.role, analysis.split)] = analysis

    def __iter__(self):
        return iter(list(self._items.values()))  # a snapshot: an analysis may be added while this is read

    def __len__(self) -> int:
        return len(self._items)


def is_training_split(split: str) -> bool:
    """Whether a split is the one fine-tuned models are trained on (``train``)."""
    return split == TRAIN_SPLIT

