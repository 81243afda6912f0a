"""The reviews service: the review queue, decisions, access, sync and exports, over one review store.

This is the one place that authorises a write: :meth:`ReviewService.decide` and
:meth:`ReviewService.import_events` run :func:`core.review.access.authorize` before anything is
recorded, and the views only pass the :class:`~core.review.access.Caller` they were given.

The store opens on first use (or on :meth:`ReviewService.open`); the sync to ``settings.review_sync``
starts only when :meth:`ReviewService.start_sync` is called (the app does, at start-up).

Why :mod:`core.review.sync` and not ``huggingface_hub``'s ``CommitScheduler`` for the ``hf://`` push:
the scheduler only pushes a folder to one Hub repository; it neither restores the decisions on
start-up nor reads other replicas' files (both still to write), it speaks only to the Hub (the sync
takes any fsspec URL: ``file://`` in the tests, a mounted bucket), and its recommended interval of
five minutes or more is decisions lost on a Space restart, against one minute here. The sync already
follows its rules: append-only event files, never one overwritten, restored on start.

Example
-------
>>> reviews = ReviewService(analyses, settings=settings)            # doctest: +SKIP
>>> reviews.queue(None, limit=1).index[0]                            # doctest: +SKIP
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from core.analysis.order import sorted_positions
from core.analysis.queries import order_spec
from core.data.keys import align
from core.data.text_input import InputError
from core.review.access import AccessDenied, Caller, authorize, parse_users, profile_org_names, startup_problem
from core.review.store import ACTIONS, Decision, ReviewStore, ReviewStoreError
from core.review.trust import EventRules, ImportReport, import_checked, import_upload, rules_for
from core.services.analyses import ANY, AnalysesService
from core.services.review_history import DecisionHistory
from core.settings import Settings

__all__ = ["ANY", "DEFAULT_RANKING", "EXPORT_KINDS", "REVIEW_ACTIONS", "AccessDenied", "Caller", "Decision",
           "ReviewService", "ReviewStoreError", "caller_of", "password_users"]

#: Review actions, in the order the UI offers them (the store's own list; a ``withdraw`` is
#: :meth:`ReviewService.withdraw`, which checks there is a decision to take back).
REVIEW_ACTIONS: tuple[str, ...] = tuple(a for a in ACTIONS if a != "withdraw")
#: Export kinds of :meth:`ReviewService.export`.
EXPORT_KINDS: tuple[str, ...] = ("csv", "jsonl", "split", "data")


#: The queue's default order (:data:`core.analysis.queries.ORDERS`): ``mislabel_score``, highest first (every
#: cached analysis has it).
DEFAULT_RANKING = "most suspicious"


def caller_of(profile: dict | None = None, *, password_user: str | None = None, claimed: str = "") -> Caller:
    """A :class:`Caller` from a Hugging Face OAuth profile (a dict), a logged-in name and a typed name."""
    username = profile.get("preferred_username") if isinstance(profile, dict) else None
    username = getattr(profile, "username", None) or username
    return Caller(profile_username=username if isinstance(username, str) and username else None,
                  profile_orgs=profile_org_names(profile) if profile is not None else (),
                  password_user=password_user or None, claimed=str(claimed or "").strip())


def password_users(settings: Settings) -> list[tuple[str, str]] | None:
    """The ``(name, password)`` pairs for ``password`` access, else ``None``.

    Raises ``ValueError`` when ``password`` access has no (or malformed) users.
    """
    if settings.access != "password":
        return None
    if problem := startup_problem(settings):
        raise ValueError(problem)
    return parse_users(settings.review_users)


class ReviewService(DecisionHistory):
    """Queue, decide, export and sync review decisions on the analysed splits; list, withdraw and undo the
    caller's own (:class:`~core.services.review_history.DecisionHistory`).

    Parameters
    ----------
    analyses : the analyses the decisions are about (rows, text hashes, review keys).
    settings : ``review_db_path``, ``access``, ``reviewers``, ``review_sync`` and ``cache_dir`` are read.
    """

    def __init__(self, analyses: AnalysesService, *, settings: Settings) -> None:
        self.analyses = analyses
        self.settings = settings
        self.sync = None  # a core.review.sync.ReviewSync once start_sync() ran with settings.review_sync
        self._store: ReviewStore | None = None
        self._lock = threading.Lock()

    # ---- the store and its sync -------------------------------------------------------------

    def open(self) -> ReviewStore:
        """Open the review database (once; legacy model-keyed rows re-keyed). Raises ``ReviewStoreError``."""
        with self._lock:
            if self._store is None:
                store = ReviewStore(self.settings.review_db_path)
                self._rekey(store)
                self._store = store
            return self._store

    @property
    def store(self) -> ReviewStore:
        """The review database (:meth:`open`)."""
        return self._store if self._store is not None else self.open()

    def _rekey(self, store: ReviewStore) -> None:
        for a in self.analyses:
            store.rekey(a.legacy_review_key, a.review_key)

    def analysis_ready(self, analysis) -> None:
        """A split analysed after the store opened (the app serves first): its legacy decisions are rekeyed too."""
        with self._lock:
            if self._store is not None:
                self._store.rekey(analysis.legacy_review_key, analysis.review_key)

    def start_sync(self):
        """With ``settings.review_sync``: restore the decisions at the target, then keep appending new ones
        in the background. Returns the :class:`core.review.sync.ReviewSync` (``None`` without a target)."""
        if not self.settings.review_sync:
            return None
        store = self.open()
        with self._lock:
            if self.sync is None:
                from core.review.sync import ReviewSync

                self.sync = ReviewSync(store, self.settings.review_sync, self.settings.review_sync_every,
                                       rules=self.rules()).start()
                self._rekey(store)  # restored decisions may carry legacy keys
            return self.sync

    def sync_status(self) -> str:
        """Where decisions are kept, and the sync status when there is a target."""
        if self.sync is not None:
            return self.sync.status()
        return f"Decisions are kept in {self.settings.review_db_path} (no sync target)."

    def ephemeral_warning(self) -> str:
        """The warning shown when decisions would be lost on a restart (``""`` when they are kept)."""
        from core.review.sync import ephemeral_warning

        return ephemeral_warning(self.settings)

    # ---- access -----------------------------------------------------------------------------

    def authorize(self, caller: Caller | None) -> str:
        """The reviewer name to record for ``caller`` (``None``: anonymous), or :class:`AccessDenied`."""
        return authorize(self.settings.access, caller, allowlist=self.settings.reviewers)

    # ---- reads ------------------------------------------------------------------------------

    def count(self) -> int:
        """Decisions stored (every event, all splits)."""
        return self.store.count()

    def events(self) -> list[dict]:
        """Every stored decision as a sync event, oldest first."""
        return self.store.events()

    def decisions(self, split: str | None = None, *, which: str = "latest") -> pd.DataFrame:
        """Decisions on ``split`` matched to its current rows (columns of the store, plus ``row``,
        ``match`` and ``text``); ``which`` is ``latest`` (current decision per sample) or ``history``."""
        if which not in ("latest", "history"):
            raise ValueError(f"unknown which {which!r}; choose one of ['latest', 'history']")
        a = self.analyses.analysis(split)
        frame = self.store.latest(a.review_key) if which == "latest" else self.store.history(a.review_key)
        out = align(frame, a.text_hashes)
        texts = a.table["text"]  # only the decided rows' texts are read (not all N)
        out["text"] = [texts.iat[r] if r >= 0 else None for r in out["row"]]
        return out

    def reviewed_rows(self, split: str | None = None) -> set[int]:
        """Current rows of ``split`` with a current decision."""
        rows = self.decisions(split)["row"]
        return {int(r) for r in rows if r >= 0}

    def progress(self, split: str | None = None) -> tuple[int, int]:
        """(reviewed rows, all rows) of ``split``."""
        return len(self.reviewed_rows(split)), self.analyses.info(split).n_rows

    def queue(
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
        rank_by: str | None = None,
    ) -> pd.DataFrame:
        """Unreviewed rows of ``split``, most suspicious first, filtered by given and predicted
        label and by confidence (the model's top probability) in ``[min_confidence, max_confidence]``;
        the first ``limit`` of them where given (the queue's head without copying every row).

        ``source`` picks the probabilities that rank it (``held-out``, ``in-sample`` or
        ``out-of-fold``; default: the split's default). ``rank_by`` is one of
        :meth:`~core.services.analyses.AnalysesService.orders` (default ``most suspicious``: the
        ``mislabel_score`` the analysis stores). The index is the sample id; ``rank_by`` and ``source`` in
        ``attrs`` name the ranking column and the probabilities.
        """
        info = self.analyses.info(split)
        source = source or info.sources[0]
        table = self.analyses.analysis(split).ranked(source)
        try:
            column, ascending = order_spec(rank_by or DEFAULT_RANKING, table)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        for name, value in (("given", given), ("predicted", predicted)):
            if value not in (None, "", ANY) and value not in info.labels:
                raise InputError(f"unknown {name} label {value!r}; choose one of {[ANY, *info.labels]}")
        mask = table["confidence"].between(float(min_confidence), float(max_confidence)).to_numpy(dtype=bool)
        if given not in (None, "", ANY):
            mask = mask & (table["label"] == given).to_numpy(dtype=bool)
        if predicted not in (None, "", ANY):
            mask = mask & (table["pred"] == predicted).to_numpy(dtype=bool)
        done = self.reviewed_rows(split) | {int(i) for i in exclude}
        if done:
            mask = mask & ~table.index.isin(sorted(done))
        order = sorted_positions(table, column, ascending=ascending)  # computed once per table, NaN last
        rows = table.iloc[order[mask[order]][:limit]]
        rows.attrs.update(rank_by=column, source=source)
        return rows

    # ---- writes (each authorised here) ------------------------------------------------------

    def decide(
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

        ``relabel`` to the row's own label is refused with a message saying so (nothing is stored: ``keep``
        keeps the given label). The decision stores the row's text
        hash, and the served model's fingerprint and prediction for the audit trail. Raises
        :class:`InputError` for an unknown action, label or row, and :class:`AccessDenied` when ``caller``
        (default: anonymous, named ``reviewer``) may not write under ``settings.access``; the reviewer
        recorded is the one the check returns (the signed-in or logged-in name).
        """
        reviewer = self.authorize(caller or Caller(claimed=reviewer))
        if action not in REVIEW_ACTIONS:
            raise InputError(f"unknown action {action!r}; choose one of {list(REVIEW_ACTIONS)}")
        a = self.analyses.analysis(split)
        try:
            row = a.sample(int(sample_id))
        except (TypeError, ValueError, IndexError) as exc:
            raise InputError(str(exc)) from None
        action, new_label = _checked_action(action, new_label or None, row["label"], list(a.labels))
        return self.store.record(
            a.review_key, row["sample_id"], action=action, old_label=row["label"], new_label=new_label,
            reviewer=reviewer or "", note=note or "", text_hash=str(a.text_hashes[row["sample_id"]]),
            model_fingerprint=str(a.meta.get("model_fingerprint", "")), model_pred=str(row["pred"]),
        )

    def rules(self, uploader: str | None = None) -> EventRules:
        """What an event from elsewhere must satisfy here (:mod:`core.review.trust`): the labels and the
        review keys (and legacy keys) of every analysed split, and the reviewers the access settings admit;
        ``uploader`` is the checked name an upload is recorded under."""
        rows: dict[str, int] = dict(self.analyses.deferred_rows)  # splits still being analysed count too
        labels: set[str] = set(self.analyses.model_labels)  # known before any split is analysed
        for a in self.analyses:
            rows[a.review_key] = rows[a.legacy_review_key] = len(a.table)
            labels.update(a.labels)
        return rules_for(self.settings, labels=labels, rows=rows, uploader=uploader)

    def import_events(self, events: Iterable[dict], *, caller: Caller | None) -> ImportReport:
        """Add sync events (as :meth:`events` gives them) after the access check and the trust rules of
        :mod:`core.review.trust`; every event's outcome (added, already present, set aside, refused)."""
        who = self.authorize(caller)
        items = [(f"event {i}", e if isinstance(e, dict) else None, "" if isinstance(e, dict) else "not an object")
                 for i, e in enumerate(events, 1)]
        return import_checked(self.store, items, rules=self.rules(uploader=who), source="upload")

    def import_upload(self, data: bytes | str | Path, *, caller: Caller | None) -> ImportReport:
        """Add the decisions of an uploaded JSON Lines file (bytes, or its path) after the access check and
        the trust rules: in ``login`` and ``password`` access each is recorded under the caller's checked
        name and one naming another reviewer is refused. Every event's outcome, with reasons."""
        who = self.authorize(caller)
        return import_upload(self.store, data, rules=self.rules(uploader=who))

    def import_file(self, path: str | Path, *, caller: Caller | None) -> str:
        """:meth:`import_upload` of a file (as :meth:`export_events` writes); its summary line (counts of
        new, already present, set aside and refused decisions, with the first reasons)."""
        return self.import_upload(Path(path), caller=caller).summary()

    # ---- exports ----------------------------------------------------------------------------

    def export_events(self, folder: str | Path, *, caller: Caller | None) -> Path:
        """Every decision (all splits, history included) as JSON Lines in the sync event format, for
        :meth:`import_file` on another server, written into ``folder`` (the caller removes it after use).

        The events carry reviewer names and notes, so the caller is checked like a reviewer
        (:meth:`authorize_export`)."""
        self.authorize_export(caller)
        path = Path(folder) / "review-decisions.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for event in self.events():
                event.pop("id", None)
                f.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")
        return path

    def authorize_export(self, caller: Caller | None) -> str:
        """:meth:`authorize` for an export: decision files name reviewers and carry their notes, and the
        corrected split is written on the server, so both are for those who may record a decision
        (anyone in ``open`` access). Raises :class:`AccessDenied`."""
        try:
            return self.authorize(caller)
        except AccessDenied as exc:
            raise AccessDenied(f"Exports are for reviewers only. {exc}") from None

    def corrected_folder(self, split: str | None = None) -> Path:
        """Where :meth:`export` writes the corrected data folder for ``split`` by default."""
        from core.services.corrections import corrected_folder

        return corrected_folder(self.settings, self.analyses.analysis(split))

    def export(self, kind: str, *, split: str | None = None, drop_ambiguous: bool = True,
               folder: str | Path | None = None, caller: Caller | None = None) -> tuple[Path, str]:
        """Write decisions (``csv``, ``jsonl``) into ``folder`` (required; the caller removes it after use),
        the corrected dataset (``data``: every split with its own current decisions, default folder
        :func:`core.services.corrections.corrected_data_folder`; returns its zip) or the corrected split alone
        (``split``; default folder :meth:`corrected_folder`; its line names the decisions it leaves out);
        folders are replaced whole. Returns (file, summary line).

        Checked first (:meth:`authorize_export`): the corrected data is a write on the server, and the
        decision files name reviewers and carry their notes. See :mod:`core.services.corrections`.
        """
        from core.services.corrections import export_corrected_data, export_review, split_decisions

        if kind not in EXPORT_KINDS:
            raise InputError(f"unknown export kind {kind!r}; choose one of {list(EXPORT_KINDS)}")
        self.authorize_export(caller)
        if kind in ("csv", "jsonl") and folder is None:
            raise InputError(f"a {kind} export needs a folder to write into")
        a = self.analyses.analysis(split)
        if kind == "csv" or kind == "jsonl":
            return export_review(kind, self.settings, a, self.decisions(a.split), folder=folder)
        splits = list(split_decisions(self.settings, self.analyses, self.store))
        if kind == "data":
            return export_corrected_data(self.settings, a, splits, drop_ambiguous=drop_ambiguous, folder=folder)
        left_out = {s: int((d["row"] >= 0).sum()) for s, _, d in splits}
        return export_review(kind, self.settings, a, self.decisions(a.split), drop_ambiguous=drop_ambiguous,
                             folder=folder, left_out=left_out)

    def retrain_command(self, split: str | None = None) -> str:
        """The exact command that fine-tunes a new model on the corrected dataset (``export("data")``), from
        the analysed checkpoint of ``split`` (:func:`core.services.corrections.retrain_command`)."""
        from core.services.corrections import retrain_command

        return retrain_command(self.settings, self.analyses.source(split))  # a split still analysed: from its data


def _checked_action(action: str, new_label: str | None, label: str, labels: list[str]) -> tuple[str, str | None]:
    """(action, new_label) as recorded; a stray label, or a relabel to the row's own label, is refused."""
    if action == "relabel":
        if new_label not in labels:
            raise InputError(f"relabel needs new_label, one of {labels} (got {new_label!r})")
        if new_label == label:
            raise InputError(f"{new_label!r} is this row's given label, so nothing was stored: a relabel names "
                             f"another class; use action 'keep' to keep the given label")
    elif new_label is not None and not (action == "keep" and new_label == label):
        raise InputError(f"action {action!r} takes no new_label (got {new_label!r})")
    return action, new_label
