"""The one interface the dashboard uses to reach the models, the analyses and the review store.

The service holds one or two classifiers (roles ``model`` and ``compare``) and an
:class:`~core.analysis.workspace.AnalysisRegistry` with one :class:`~core.analysis.workspace.Analysis` per analysed
(model, split). Review operations (queue, decide, export) live here so the UI and the API endpoints
share one code path, and a caller-side access check can sit in front of every write.

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
from pathlib import Path

import numpy as np
import pandas as pd

from core.analysis.crossval import find_oof
from core.analysis.order import sorted_positions
from core.analysis.precompute import analyse_split
from core.analysis.workspace import TRAINED_ON_DEFAULT, Analysis, AnalysisRegistry, is_training_split
from core.classifier.batcher import MicroBatcher
from core.classifier.model import Classifier, load_classifier
from core.classifier.pending_model import PendingClassifier, pending_classifier
from core.data.splits import load_splits
from core.data.text_input import CleanText, InputError, clean_text
from core.explanation.words import Explanation, explanation_from_attribution
from core.review.access import Caller, authorize
from core.review.keys import align
from core.review.store import Decision, ReviewStore
from core.review.trust import EventRules, ImportReport, import_upload, rules_for
from core.settings import Settings


@dataclass
class Classification:
    """The model's answer for one text."""

    text: str
    label: str
    probs: dict[str, float]
    n_tokens: int
    notes: list[str] = field(default_factory=list)


ANY = "any"
#: Review actions, in the order the UI offers them.
REVIEW_ACTIONS: tuple[str, ...] = ("keep", "relabel", "ambiguous", "not_emotion", "skip")
#: Export kinds of :meth:`EmotionService.review_export`.
EXPORT_KINDS: tuple[str, ...] = ("csv", "jsonl", "split")


def ranking_column(table: pd.DataFrame) -> str:
    """The column that ranks suspected mislabels (higher = more suspicious) in this table."""
    for column in ("mislabel_score", "suspicion", "loss"):
        if column in table.columns:
            return column
    raise KeyError("the analysis table has no ranking column")


def _default_source(setting: str) -> str:
    """The probability source a trained-on split ranks with by default (``--prob-source``)."""
    return TRAINED_ON_DEFAULT if setting == "auto" else setting


class EmotionService:
    """Classify and explain texts; read the cached analyses; record and export review decisions."""

    def __init__(
        self,
        classifiers: dict[str, Classifier],
        analyses: AnalysisRegistry,
        *,
        settings: Settings,
        warnings: Sequence[str] = (),
    ) -> None:
        self.classifiers = dict(classifiers)
        self.analyses = analyses
        self.settings = settings
        self.warnings = list(warnings)
        self._lock = threading.Lock()
        self._explainers: dict[str, object] = {}

    @classmethod
    def load(cls, settings: Settings, *, show_progress: bool = True, defer_model: bool = False) -> EmotionService:
        """Load the data, the model(s) and the (cached) analysis of every split in ``settings.splits``.

        With ``defer_model`` a model whose analyses are all cached is not loaded yet: its config is
        checked now, the weights load on first use or on :meth:`finish_loading`
        (:mod:`core.classifier.pending_model`), so the app serves its first page without waiting for them.

        Raises :class:`core.data.splits.DataError` or :class:`core.classifier.model.ModelError` with a message
        for people.
        """
        data = load_splits(settings.data, splits=settings.splits, text_column=settings.text_column,
                           label_column=settings.label_column)
        refs = {"model": settings.model}
        if settings.compare_model:
            refs["compare"] = settings.compare_model
        load = pending_classifier if defer_model else load_classifier
        classifiers = {
            role: load(ref, data_labels=data.label_names, max_length=settings.max_length,
                       label_origin=data.label_origin, backend=settings.backend, cache_dir=settings.cache_dir)
            for role, ref in refs.items()
        }
        registry = AnalysisRegistry({}, default_split=settings.split)
        notes: list[str] = []
        for split in settings.splits:
            issues = data[split].issue_summary()
            if issues:
                notes.append(issues)
            oof = find_oof(settings.cache_dir, data, split) if is_training_split(split) else None
            for role, clf in classifiers.items():
                out = analyse_split(clf, data, split, cache_dir=settings.cache_dir, batch_size=settings.batch_size,
                                    show_progress=show_progress, precomputed_url=settings.review_sync)
                a = out.analysis
                registry.add(Analysis(role, clf, data, split, a.table, a.hidden, a.meta, list(out.warnings),
                                      trained_on=is_training_split(split), oof=oof[0] if oof else None,
                                      oof_meta=oof[1] if oof else None,
                                      default_source=_default_source(settings.prob_source)))
                notes.extend(out.warnings)
        return cls(classifiers, registry, settings=settings, warnings=notes)

    def finish_loading(self) -> list[str]:
        """Load any model :meth:`load` deferred; returns each model's backend note.

        Raises :class:`core.classifier.model.ModelError` when the weights cannot be read.
        """
        notes = []
        for clf in self.classifiers.values():
            if isinstance(clf, PendingClassifier):
                clf = clf.loaded()
            notes.append(clf.backend_note)
        return notes

    # ---- facts -------------------------------------------------------------------------------

    @property
    def classifier(self) -> Classifier:
        """The served model."""
        return self.classifiers["model"]

    @property
    def labels(self) -> list[str]:
        """Label names in model order."""
        return list(self.classifier.labels)

    @property
    def splits(self) -> list[str]:
        """The analysed splits, in the order they were asked for."""
        return self.analyses.splits

    @property
    def has_compare(self) -> bool:
        """Whether a second checkpoint is loaded for comparison."""
        return "compare" in self.classifiers

    def analysis(self, split: str | None = None, role: str = "model") -> Analysis:
        """The analysis of ``split`` (default: the default split) by the model in ``role``."""
        return self.analyses.get(split or None, role)

    # Shortcuts to the default analysis (the first views and many tests read these).

    @property
    def table(self) -> pd.DataFrame:
        return self.analysis().table

    @property
    def hidden(self) -> np.ndarray:
        return self.analysis().hidden

    @property
    def meta(self) -> dict:
        return self.analysis().meta

    @property
    def data(self):
        return self.analysis().data

    @property
    def split_format(self) -> str:
        return self.analysis().split_format

    @property
    def dataset_key(self) -> str:
        """The review key of the default split (see :mod:`core.review.keys`)."""
        return self.analysis().review_key

    def sample(self, sample_id: int, split: str | None = None) -> dict:
        """One analysis row as a dict, with ``sample_id``."""
        return self.analysis(split).sample(sample_id)

    def neighbours(self, sample_id: int, *, k: int = 8, split: str | None = None) -> pd.DataFrame:
        """The ``k`` nearest samples in hidden-state space: sample_id, text, label, pred, similarity."""
        return self.analysis(split).neighbours(sample_id, k=k)

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

    def explainer_for(self, role: str = "model"):
        """The SHAP explainer of the model in ``role`` (built on first use)."""
        with self._lock:
            if role not in self._explainers:
                from core.explanation.explain import TokenShapExplainer

                clf = self.classifiers[role]
                # never more tokens than the model has positions for (less [CLS] and [SEP])
                max_tokens = max(1, min(self.settings.explain_max_tokens, clf.max_length - 2))
                self._explainers[role] = TokenShapExplainer(clf.model, clf.tokenizer, list(clf.labels),
                                                            max_tokens=max_tokens)
            return self._explainers[role]

    @property
    def explainer(self):
        """The served model's SHAP explainer."""
        return self.explainer_for("model")

    def explain(self, text: str, *, target: str | None = None, role: str = "model") -> Explanation:
        """SHAP attributions of ``text`` toward ``target`` (default: the predicted label)."""
        if target is not None and target not in self.labels:
            raise InputError(f"unknown label {target!r}; choose one of {self.labels}")
        c = clean_text(text)
        clf = self.classifiers[role]
        if not clf.tokenizer(c.text, add_special_tokens=False)["input_ids"]:
            raise InputError("Nothing to explain: the tokenizer finds no words in this text "
                             "(only invisible or unsupported characters).")
        explainer = self.explainer_for(role)
        att = explainer.explain(c.text)
        notes = list(c.notes)
        if att.truncated:
            notes.append(f"explained the first {explainer.max_tokens} tokens only")
        return explanation_from_attribution(att, clf.tokenizer, target=target, notes=notes)

    # ---- what-if probes, robustness and calibration (the analyst's views) --------------------

    def probe(self, text: str, *, seed: int = 0, role: str = "model", top_word: bool = True):
        """What-if edits of ``text`` classified in one batched forward pass (:func:`core.explanation.robustness.probe`).

        With ``top_word`` the word with the largest attribution toward the predicted class is
        removed as one more edit (its explanation comes from the explainer's cache when the text
        was just explained). Raises :class:`InputError` for unusable text.
        """
        from core.explanation.robustness import probe

        c = clean_text(text)
        clf = self.classifiers[role]
        span = None
        if top_word:
            try:
                exp = self.explain(c.text, role=role)
            except InputError:
                exp = None
            ranked = exp.explained_words() if exp is not None else []
            if ranked:
                best = max(ranked, key=lambda i: abs(exp.word_values[i, exp.labels.index(exp.predicted)]))
                span = (exp.words[best].start, exp.words[best].end)

        def predict(texts: list[str]) -> np.ndarray:
            return clf.predict(texts, batch_size=max(1, len(texts))).probs

        return probe(predict, c.text, clf.labels, seed=seed, top_word=span)

    def robustness(self, split: str | None = None, *, role: str = "model", seed: int = 0, progress=None):
        """The :class:`core.explanation.robustness.RobustnessReport` of ``split``: built once, cached beside
        the analysis.

        ``progress(done, total)`` is called while it is built (not when it is read back).
        """
        from core.analysis.table import probs_of
        from core.explanation.robustness import analysis_key, load_or_build_report

        a = self.analysis(split, role)
        memo_key = (role, a.split, int(seed))
        with self._lock:
            memo = self.__dict__.setdefault("_robustness", {})
            if memo_key in memo:
                return memo[memo_key]
        key = analysis_key(a.meta, a.classifier.max_length)
        batch = self.settings.batch_size

        def predict(texts: list[str]) -> np.ndarray:
            return a.classifier.predict(texts, batch_size=batch).probs

        report, _ = load_or_build_report(
            predict, a.table["text"].tolist(), probs_of(a.table, a.labels), a.labels, analysis_key=key,
            cache_dir=self.settings.cache_dir, seed=seed, progress=progress,
            meta={"model": a.meta.get("model"), "data": a.meta.get("data"), "split": a.split, "role": role})
        with self._lock:
            memo[memo_key] = report
        return report

    def robustness_cached(self, split: str | None = None, *, role: str = "model", seed: int = 0) -> bool:
        """Whether the robustness report of ``split`` is ready without model work (in memory or on disk)."""
        from core.explanation.robustness import analysis_key, report_path

        a = self.analysis(split, role)
        if (role, a.split, int(seed)) in self.__dict__.get("_robustness", {}):
            return True
        key = analysis_key(a.meta, a.classifier.max_length)
        return report_path(self.settings.cache_dir, key, seed=seed).is_file()

    def calibration(self, split: str | None = None, *, role: str = "model"):
        """The :class:`core.analysis.calibration.CalibrationReport` of ``split`` (memoised; no model work)."""
        from core.analysis.calibration import calibration_report
        from core.analysis.table import probs_of

        a = self.analysis(split, role)
        with self._lock:
            memo = self.__dict__.setdefault("_calibration", {})
            if (role, a.split) not in memo:
                ids = a.table["label"].map({name: i for i, name in enumerate(a.labels)})
                keep = ids.notna().to_numpy()
                memo[(role, a.split)] = calibration_report(probs_of(a.table, a.labels)[keep],
                                                           ids[keep].astype(int).to_numpy(), a.labels)
            return memo[(role, a.split)]

    # ---- compare -----------------------------------------------------------------------------

    def compare_report(self, split: str | None = None):
        """The :class:`core.analysis.compare.CompareReport` of the served model (A) against the compare model
        (B) on ``split``, from the two cached analyses (memoised per split)."""
        from core.analysis.compare import compare_tables

        if not self.has_compare:
            raise InputError("no compare model loaded; start the app with --compare-model")
        a = self.analysis(split)
        with self._lock:
            cache = self.__dict__.setdefault("_compare_reports", {})
            if a.split not in cache:
                cache[a.split] = compare_tables(a.table, self.analysis(a.split, "compare").table, self.labels)
            return cache[a.split]

    # ---- review ------------------------------------------------------------------------------

    review_sync = None  # a core.review.sync.ReviewSync once reviews is opened with settings.review_sync

    @cached_property
    def reviews(self) -> ReviewStore:
        """The review decisions database (opened on first use; legacy model-keyed rows re-keyed).

        With ``settings.review_sync`` the decisions at the sync target are restored first and a
        :class:`core.review.sync.ReviewSync` keeps appending new ones (``review_sync``).
        """
        store = ReviewStore(self.settings.review_db_path)
        if self.settings.review_sync:
            from core.review.sync import ReviewSync

            self.review_sync = ReviewSync(store, self.settings.review_sync, self.settings.review_sync_every,
                                          rules=self.review_rules())
            self.review_sync.start()
        for a in self.analyses:
            store.rekey(a.legacy_review_key, a.review_key)
        return store

    def review_rules(self, uploader: str | None = None) -> EventRules:
        """What an event from elsewhere must satisfy here (:mod:`core.review.trust`): this data's labels,
        the review keys (and legacy keys) of every analysed split, and the access settings' reviewers;
        ``uploader`` is the checked name an upload is recorded under."""
        rows: dict[str, int] = {}
        for a in self.analyses:
            rows[a.review_key] = rows[a.legacy_review_key] = len(a.table)
        return rules_for(self.settings, labels=self.labels, rows=rows, uploader=uploader)

    def review_import(self, data: bytes | str | Path, *, caller: Caller | None = None) -> ImportReport:
        """Import uploaded decisions (JSON Lines bytes or a file path) behind the same check as a decision.

        In ``login`` and ``password`` access every event is recorded under the caller's checked name and
        one naming another reviewer is refused; see :mod:`core.review.trust` for every rule. Raises
        :class:`core.review.access.AccessDenied` when the caller may not write.
        """
        who = authorize(self.settings.access, caller or Caller(), allowlist=self.settings.reviewers)
        return import_upload(self.reviews, data, rules=self.review_rules(uploader=who))

    def review_decisions(self, split: str | None = None, *, which: str = "latest") -> pd.DataFrame:
        """Decisions on ``split`` matched to its current rows (columns of the store, plus ``row``,
        ``match`` and ``text``); ``which`` is ``latest`` (current decision per sample) or ``history``."""
        a = self.analysis(split)
        frame = self.reviews.latest(a.review_key) if which == "latest" else self.reviews.history(a.review_key)
        out = align(frame, a.text_hashes)
        texts = a.table["text"]  # only the decided rows' texts are read (not all N)
        out["text"] = [texts.iat[r] if r >= 0 else None for r in out["row"]]
        return out

    def reviewed_rows(self, split: str | None = None) -> set[int]:
        """Current rows of ``split`` with a current (non-skip) decision."""
        rows = self.review_decisions(split)["row"]
        return {int(r) for r in rows if r >= 0}

    def review_progress(self, split: str | None = None) -> tuple[int, int]:
        """(reviewed rows, all rows) of ``split``."""
        return len(self.reviewed_rows(split)), len(self.analysis(split).table)

    def review_queue(
        self,
        split: str | None = None,
        *,
        given: str = ANY,
        predicted: str = ANY,
        min_confidence: float = 0.0,
        max_confidence: float = 1.0,
        exclude: Sequence[int] = (),
        source: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Unreviewed rows of ``split``, most suspicious first, filtered by given and predicted
        label and by confidence (the model's top probability) in ``[min_confidence, max_confidence]``;
        the first ``limit`` of them where given (the queue's head without copying every row).

        ``source`` picks the probabilities that rank it (``held-out``, ``in-sample`` or
        ``out-of-fold``; default: the split's default). The index is the sample id; ``rank_by`` and
        ``source`` in ``attrs`` name the ranking column and the probabilities.
        """
        a = self.analysis(split)
        source = source or a.sources[0]
        table = a.ranked(source)
        for name, value in (("given", given), ("predicted", predicted)):
            if value not in (None, "", ANY) and value not in self.labels:
                raise InputError(f"unknown {name} label {value!r}; choose one of {[ANY, *self.labels]}")
        column = ranking_column(table)
        mask = table["confidence"].between(float(min_confidence), float(max_confidence)).to_numpy(dtype=bool)
        if given not in (None, "", ANY):
            mask = mask & (table["label"] == given).to_numpy(dtype=bool)
        if predicted not in (None, "", ANY):
            mask = mask & (table["pred"] == predicted).to_numpy(dtype=bool)
        done = self.reviewed_rows(split) | {int(i) for i in exclude}
        if done:
            mask = mask & ~table.index.isin(sorted(done))
        order = sorted_positions(table, column, ascending=False)  # computed once per table, NaN last
        rows = table.iloc[order[mask[order]][:limit]]
        rows.attrs.update(rank_by=column, source=source)
        return rows

    def review_decide(
        self,
        sample_id: int,
        action: str,
        *,
        split: str | None = None,
        new_label: str | None = None,
        note: str = "",
        reviewer: str = "",
        caller: Caller | None = None,
    ) -> Decision:
        """Record one decision on a row of ``split`` and return it as stored.

        ``relabel`` to the row's own label is recorded as ``keep``. The decision stores the row's text
        hash, and the served model's fingerprint and prediction for the audit trail. Raises
        :class:`InputError` for an unknown action, label or row, and :class:`core.review.access.AccessDenied`
        when ``caller`` (default: anonymous, named ``reviewer``) may not write under ``settings.access``;
        the reviewer recorded is the one the check returns (the signed-in or logged-in name).
        """
        caller = caller or Caller(claimed=reviewer)
        reviewer = authorize(self.settings.access, caller, allowlist=self.settings.reviewers)
        if action not in REVIEW_ACTIONS:
            raise InputError(f"unknown action {action!r}; choose one of {list(REVIEW_ACTIONS)}")
        a = self.analysis(split)
        try:
            row = a.sample(int(sample_id))
        except (TypeError, ValueError, IndexError) as exc:
            raise InputError(str(exc)) from None
        new_label = new_label or None
        if action == "relabel":
            if new_label not in self.labels:
                raise InputError(f"relabel needs new_label, one of {self.labels} (got {new_label!r})")
            if new_label == row["label"]:
                action, new_label = "keep", None
        elif new_label is not None and not (action == "keep" and new_label == row["label"]):
            raise InputError(f"action {action!r} takes no new_label (got {new_label!r})")
        return self.reviews.record(
            a.review_key, row["sample_id"], action=action, old_label=row["label"], new_label=new_label,
            reviewer=reviewer or "", note=note or "", text_hash=str(a.text_hashes[row["sample_id"]]),
            model_fingerprint=str(a.meta.get("model_fingerprint", "")), model_pred=str(row["pred"]),
        )

    def corrected_folder(self, split: str | None = None) -> Path:
        """Where :meth:`review_export` writes the corrected data folder for ``split`` by default."""
        a = self.analysis(split)
        return Path(self.settings.cache_dir).expanduser() / "corrected" / a.review_key.replace(":", "-")

    def review_export(
        self, kind: str, *, split: str | None = None, drop_ambiguous: bool = True, folder: str | Path | None = None
    ) -> tuple[Path, str]:
        """Write decisions (``csv``, ``jsonl``) or the corrected split (``split``) into ``folder``.

        ``split`` writes a whole data folder that ``python -m core.classifier.train --data FOLDER`` reads: the
        corrected split, and the data's other splits unchanged (default folder:
        :meth:`corrected_folder`). Decisions whose text is no longer in the split, and decisions the
        data already carries (its label is the decision's), are left out and counted. Returns the
        file and a one-line summary.
        """
        import tempfile

        from core.review.export import corrected_split, write_decisions

        if kind not in EXPORT_KINDS:
            raise InputError(f"unknown export kind {kind!r}; choose one of {list(EXPORT_KINDS)}")
        a = self.analysis(split)
        decisions = self.review_decisions(a.split)
        if kind in ("csv", "jsonl"):
            folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="review-export-"))
            path = write_decisions(decisions, folder / f"decisions-{a.split}.{kind}", fmt=kind)
            return path, f"{len(decisions)} decisions on the {a.split} split"
        folder = Path(folder) if folder is not None else self.corrected_folder(a.split)
        usable = decisions[decisions["row"] >= 0]
        table_labels = a.table["label"].astype(object).to_numpy()
        applied = usable["old_label"].to_numpy() != table_labels[usable["row"].to_numpy()]
        usable = usable[~applied].assign(sample_id=lambda f: f["row"])
        fmt = a.split_format if a.split_format in ("txt", "csv", "parquet") else "parquet"
        columns = {"text_column": a.data.text_column, "label_column": a.data.label_column}
        summary = corrected_split(a.table, usable, fmt=fmt, label_names=self.labels,
                                  drop_ambiguous=bool(drop_ambiguous), path=folder / f"{a.split}.{fmt}", **columns)
        copied = self._copy_other_splits(a, folder, fmt)
        lost = int((decisions["row"] < 0).sum())
        line = (f"{summary.n_relabelled} relabelled, {summary.n_dropped} dropped, {summary.n_rows} rows"
                + (f"; {int(applied.sum())} decisions already in the data" if applied.any() else "")
                + (f"; {lost} decisions on texts no longer in the split (not applied)" if lost else "")
                + (f"; copied {', '.join(copied)} unchanged" if copied else ""))
        return summary.path, line

    def _copy_other_splits(self, a: Analysis, folder: Path, fmt: str) -> list[str]:
        """Write the data's other splits into ``folder`` unchanged, so it is a whole data folder."""
        from core.data.splits import SPLITS, DataError, write_split

        copied = []
        for other in SPLITS:
            if other == a.split:
                continue
            columns = {"text_column": a.data.text_column, "label_column": a.data.label_column}
            try:
                frame = load_splits(self.settings.data, splits=(other,), **columns).frame(other)
            except DataError:
                continue  # the data has no such split
            write_split(frame, folder / f"{other}.{fmt}", fmt=fmt, label_names=self.labels, **columns)
            copied.append(other)
        return copied

    def retrain_command(self, split: str | None = None) -> str:
        """The exact command that fine-tunes a new model on the corrected data of ``split``."""
        import json
        import shlex

        from core.classifier.train import DEFAULT_BASE

        a = self.analysis(split)
        base = DEFAULT_BASE
        metrics = Path(a.classifier.model_dir) / "metrics.json"
        try:
            base = json.loads(metrics.read_text())["recipe"]["base"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        folder = self.corrected_folder(a.split)
        return (f"python -m core.classifier.train --data {shlex.quote(str(folder))} --base {shlex.quote(str(base))} "
                f"--output-dir outputs/retrained-{a.split}")
