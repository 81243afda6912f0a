"""The one interface the dashboard uses to reach the model, the analysis and the review store.

Importing this module loads no model and no torch; :meth:`EmotionService.load` does the work.

Example
-------
>>> svc = EmotionService.load(Settings(model="../shared/models/emotion-minilm",
...                                    data="../shared/emotion"))          # doctest: +SKIP
>>> svc.classify(["i love my new phone"])[0].label                        # doctest: +SKIP
'joy'
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from core.batcher import MicroBatcher
from core.data import EmotionData, load_splits
from core.model import Classifier, load_classifier
from core.precompute import analyse_split
from core.review_store import ReviewStore
from core.settings import Settings
from core.text_input import CleanText, InputError, clean_text


@dataclass
class Classification:
    """The model's answer for one text."""

    text: str
    label: str
    probs: dict[str, float]
    n_tokens: int
    notes: list[str] = field(default_factory=list)


@dataclass
class Explanation:
    """SHAP token attributions for one text and one target label."""

    text: str
    target: str
    predicted: str
    tokens: list[str]
    values: np.ndarray  # (T,) attributions toward ``target``, on probabilities
    all_values: np.ndarray  # (T, K)
    base_value: float
    probs: dict[str, float]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def top_tokens(self, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` tokens with the largest absolute attribution, largest first."""
        order = np.argsort(-np.abs(self.values), kind="stable")[:k]
        return [(self.tokens[i], float(self.values[i])) for i in order]


class EmotionService:
    """Classify and explain texts; read the cached analysis; record review decisions."""

    def __init__(
        self,
        classifier: Classifier,
        data: EmotionData,
        table: pd.DataFrame,
        hidden: np.ndarray,
        meta: dict,
        *,
        settings: Settings,
        warnings: Sequence[str] = (),
    ) -> None:
        self.classifier = classifier
        self.data = data
        self.table = table
        self.hidden = hidden
        self.meta = meta
        self.settings = settings
        self.warnings = list(warnings)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings, *, show_progress: bool = True) -> EmotionService:
        """Load data, model and the (cached) analysis of ``settings.split``.

        Raises :class:`core.data.DataError` or :class:`core.model.ModelError` with a message for people.
        """
        data = load_splits(settings.data, splits=(settings.split,))
        clf = load_classifier(settings.model, data_labels=data.label_names, max_length=settings.max_length,
                              label_origin=data.label_origin, backend=settings.backend)
        out = analyse_split(clf, data, settings.split, cache_dir=settings.cache_dir,
                            batch_size=settings.batch_size, show_progress=show_progress)
        notes = list(out.warnings)
        issues = data[settings.split].issue_summary()
        if issues:
            notes.append(issues)
        a = out.analysis
        return cls(clf, data, a.table, a.hidden, a.meta, settings=settings, warnings=notes)

    # ---- facts -------------------------------------------------------------------------------

    @property
    def labels(self) -> list[str]:
        """Label names in model order."""
        return list(self.classifier.labels)

    @property
    def dataset_key(self) -> str:
        """Identifies this model + data + split in the review database."""
        return f"{self.meta['model_fingerprint']}:{self.meta['data_fingerprint']}:{self.meta['split']}"

    @property
    def split_format(self) -> str:
        """The format the analysed split came in (txt, csv, parquet or hub)."""
        return self.data[self.settings.split].format

    # ---- model -------------------------------------------------------------------------------

    def classify(self, texts: Sequence[str]) -> list[Classification]:
        """Classify texts in one batch. Raises :class:`InputError` if any text is unusable."""
        cleaned = [clean_text(t) for t in texts]
        return self._classify_clean(cleaned) if cleaned else []

    @cached_property
    def _batcher(self) -> MicroBatcher:
        return MicroBatcher(self._classify_clean, max_batch=32)

    def _classify_clean(self, cleaned: list[CleanText]) -> list[Classification]:
        pred = self.classifier.predict([c.text for c in cleaned], batch_size=max(1, len(cleaned)))
        out = []
        for c, p, n, cut in zip(cleaned, pred.probs, pred.n_tokens, pred.truncated, strict=True):
            notes = list(c.notes)
            if cut:
                notes.append(f"the model read only the first {self.classifier.max_length} tokens")
            probs = {name: float(v) for name, v in zip(self.labels, p, strict=True)}
            out.append(Classification(c.text, self.labels[int(np.argmax(p))], probs, int(n), notes))
        return out

    def classify_one(self, text: str) -> Classification:
        """Classify one text; concurrent callers are batched together into one forward pass.

        Raises :class:`InputError` for unusable text (before it reaches the batch).
        """
        cleaned = clean_text(text)
        with self._lock:
            batcher = self._batcher
        return batcher.submit(cleaned)

    @cached_property
    def explainer(self):
        """The SHAP explainer (built on first use)."""
        from core.explain import TokenShapExplainer

        # never more tokens than the model has positions for (less [CLS] and [SEP])
        max_tokens = max(1, min(self.settings.explain_max_tokens, self.classifier.max_length - 2))
        return TokenShapExplainer(self.classifier.model, self.classifier.tokenizer, self.labels,
                                  max_tokens=max_tokens)

    def explain(self, text: str, *, target: str | None = None) -> Explanation:
        """SHAP attributions of ``text`` toward ``target`` (default: the predicted label)."""
        if target is not None and target not in self.labels:
            raise InputError(f"unknown label {target!r}; choose one of {self.labels}")
        c = clean_text(text)
        if not self.classifier.tokenizer(c.text, add_special_tokens=False)["input_ids"]:
            raise InputError("Nothing to explain: the tokenizer finds no words in this text "
                             "(only invisible or unsupported characters).")
        with self._lock:
            explainer = self.explainer
        att = explainer.explain(c.text)
        probs = {name: float(v) for name, v in zip(self.labels, att.probs, strict=True)}
        predicted = max(probs, key=probs.get)
        target = target or predicted
        notes = list(c.notes)
        if att.truncated:
            notes.append(f"explained the first {explainer.max_tokens} tokens only")
        k = self.labels.index(target)
        return Explanation(c.text, target, predicted, list(att.tokens), att.values[:, k], att.values,
                           float(att.base_values[k]), probs, notes, float(att.seconds))

    # ---- analysis ----------------------------------------------------------------------------

    def sample(self, sample_id: int) -> dict:
        """One analysis row as a dict, with ``sample_id``."""
        if not 0 <= int(sample_id) < len(self.table):
            raise IndexError(f"sample {sample_id} is not in 0..{len(self.table) - 1}")
        row = self.table.iloc[int(sample_id)].to_dict()
        row["sample_id"] = int(sample_id)
        return row

    @cached_property
    def _neighbours(self):
        from sklearn.neighbors import NearestNeighbors

        return NearestNeighbors(metric="cosine").fit(self.hidden)

    def neighbours(self, sample_id: int, *, k: int = 8) -> pd.DataFrame:
        """The ``k`` nearest samples in hidden-state space: sample_id, text, label, pred, similarity."""
        with self._lock:
            nn = self._neighbours
        k = max(0, min(k, len(self.table) - 1))
        dist, idx = nn.kneighbors(self.hidden[[int(sample_id)]], n_neighbors=k + 1)
        keep = idx[0] != int(sample_id)
        ids, sims = idx[0][keep][:k], 1.0 - dist[0][keep][:k]
        rows = self.table.iloc[ids][["text", "label", "pred"]].copy()
        rows.insert(0, "sample_id", ids)
        rows["similarity"] = np.round(sims, 3)
        return rows.reset_index(drop=True)

    # ---- review ------------------------------------------------------------------------------

    @cached_property
    def reviews(self) -> ReviewStore:
        """The review decisions database (opened on first use)."""
        return ReviewStore(self.settings.review_db_path)
