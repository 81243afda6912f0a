"""Review exports for :class:`core.services.reviews.ReviewService`: decision files, the corrected data
(every split with every split's current decisions, or one split), and the command that retrains on it."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from core.analysis.workspace import Analysis
from core.data.keys import align, content_key, text_hashes
from core.review.store import ReviewStore
from core.settings import Settings


def corrected_folder(settings: Settings, a: Analysis) -> Path:
    """Where the corrected data folder of ``a``'s split alone is written by default."""
    return Path(settings.cache_dir).expanduser() / "corrected" / a.review_key.replace(":", "-")


def corrected_data_folder(settings: Settings) -> Path:
    """Where the corrected dataset (every split corrected) is written by default."""
    digest = hashlib.sha256(str(settings.data).encode()).hexdigest()[:12]
    return Path(settings.cache_dir).expanduser() / "corrected" / f"data-{digest}"


def split_decisions(settings: Settings, analyses: Iterable[Analysis], store: ReviewStore
                    ) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """``(split, rows, decisions)`` for every split of the data: its ``text``/``label`` rows (the analysis
    table where the split is analysed, else read from the data) and its current decisions matched to them
    (:func:`core.data.keys.align`: a ``row`` column, -1 for a text no longer there)."""
    from core.data.splits import SPLITS, DataError, load_splits

    by_split = {a.split: a for a in analyses}
    for split in SPLITS:
        if split in by_split:
            a = by_split[split]
            rows, hashes, key = a.table[["text", "label"]], a.text_hashes, a.review_key
        else:
            try:
                rows = load_splits(settings.data, splits=(split,), text_column=settings.text_column,
                                   label_column=settings.label_column).frame(split)
            except DataError:
                continue  # the data has no such split
            hashes = text_hashes(rows["text"].tolist())
            key = content_key(hashes, split)
        yield split, rows, align(store.latest(key), hashes)


def _apply(rows: pd.DataFrame, decisions: pd.DataFrame, path: Path, a: Analysis, fmt: str, drop: bool):
    """Write ``rows`` corrected by ``decisions`` at ``path``: (summary, decisions already in the data,
    decisions on texts gone)."""
    from core.review.export import corrected_split

    usable = decisions[decisions["row"] >= 0]
    labels = rows["label"].astype(object).to_numpy()
    applied = usable["old_label"].to_numpy() != labels[usable["row"].to_numpy()]
    usable = usable[~applied].assign(sample_id=lambda f: f["row"])
    summary = corrected_split(rows, usable, fmt=fmt, label_names=list(a.labels), drop_ambiguous=drop, path=path,
                              text_column=a.data.text_column, label_column=a.data.label_column)
    return summary, int(applied.sum()), int((decisions["row"] < 0).sum())


def _fmt(a: Analysis) -> str:
    return a.split_format if a.split_format in ("txt", "csv", "parquet") else "parquet"


def export_corrected_data(settings: Settings, a: Analysis, splits: list[tuple[str, pd.DataFrame, pd.DataFrame]], *,
                          drop_ambiguous: bool = True, folder: str | Path | None = None) -> tuple[Path, str]:
    """Write every split of :func:`split_decisions` with its own current decisions applied into ``folder``
    (default :func:`corrected_data_folder`; staged and swapped in whole), in ``a``'s split format, and a
    zip of it beside it. Returns the zip and a line saying how many rows of each split changed."""
    from core.review.export import write_folder_atomic

    folder = Path(folder) if folder is not None else corrected_data_folder(settings)
    fmt = _fmt(a)

    def write(stage: Path) -> list:
        return [(split, *_apply(rows, dec, stage / f"{split}.{fmt}", a, fmt, bool(drop_ambiguous)))
                for split, rows, dec in splits]

    results = write_folder_atomic(folder, write)
    parts = []
    for split, summary, applied, lost in results:
        changed = summary.n_relabelled + summary.n_dropped
        parts.append(f"{split}: {changed} of {summary.n_rows + summary.n_dropped} rows changed "
                     f"({summary.n_relabelled} relabelled, {summary.n_dropped} dropped)"
                     + (f", {applied} decisions already in the data" if applied else "")
                     + (f", {lost} decisions on texts no longer there (not applied)" if lost else ""))
    tmp = shutil.make_archive(str(folder.parent / f".{folder.name}.zip-tmp"), "zip", root_dir=folder)
    archive = folder.parent / f"{folder.name}.zip"
    os.replace(tmp, archive)
    return archive, f"every split corrected in {folder}: " + "; ".join(parts)


def export_review(kind: str, settings: Settings, a: Analysis, decisions: pd.DataFrame, *, drop_ambiguous: bool = True,
                  folder: str | Path | None = None, left_out: dict[str, int] | None = None) -> tuple[Path, str]:
    """Write ``decisions`` (``csv``, ``jsonl``) or the corrected split alone (``split``) into ``folder``.

    ``split`` writes a whole data folder, staged beside ``folder`` and swapped in whole
    (:func:`core.review.export.write_folder_atomic`), that ``emotion-lens train --data FOLDER`` reads: the
    corrected split, and the data's other splits unchanged (default folder: :func:`corrected_folder`); its
    line says so, with ``left_out`` (the other splits' current decisions, by split, not applied here).
    Decisions whose text is no longer in the split, and decisions the data already carries (its label
    is the decision's), are left out and counted. Returns the file and a one-line summary.
    """
    from core.review.export import write_decisions, write_folder_atomic

    if kind in ("csv", "jsonl"):
        if folder is None:
            raise ValueError(f"a {kind} export needs a folder to write into")
        path = write_decisions(decisions, Path(folder) / f"decisions-{a.split}.{kind}", fmt=kind)
        return path, f"{len(decisions)} decisions on the {a.split} split"
    folder = Path(folder) if folder is not None else corrected_folder(settings, a)
    fmt = _fmt(a)

    def write(stage: Path):
        done = _apply(a.table, decisions, stage / f"{a.split}.{fmt}", a, fmt, bool(drop_ambiguous))
        return done, copy_other_splits(settings, a, stage, fmt)

    (summary, applied, lost), copied = write_folder_atomic(folder, write)  # the whole folder, or the old one
    skipped = {s: n for s, n in (left_out or {}).items() if n and s != a.split}
    line = (f"{a.split} only: {summary.n_relabelled} relabelled, {summary.n_dropped} dropped, {summary.n_rows} rows"
            + (f"; {applied} decisions already in the data" if applied else "")
            + (f"; {lost} decisions on texts no longer in the split (not applied)" if lost else "")
            + (f"; copied {', '.join(copied)} unchanged" if copied else "")
            + ("; left out: " + ", ".join(f"{n} decisions on {s}" for s, n in skipped.items())
               + " (Corrected data applies every split)" if skipped else ""))
    return folder / summary.path.name, line


def copy_other_splits(settings: Settings, a: Analysis, folder: Path, fmt: str) -> list[str]:
    """Write the data's other splits into ``folder`` unchanged, so it is a whole data folder."""
    from core.data.splits import SPLITS, DataError, load_splits, write_split

    copied = []
    columns = {"text_column": a.data.text_column, "label_column": a.data.label_column}
    for other in SPLITS:
        if other == a.split:
            continue
        try:
            frame = load_splits(settings.data, splits=(other,), **columns).frame(other)
        except DataError:
            continue  # the data has no such split
        write_split(frame, folder / f"{other}.{fmt}", fmt=fmt, label_names=list(a.labels), **columns)
        copied.append(other)
    return copied


#: Recipe settings read from the analysed model's own training record, as ``emotion-lens train`` flags.
RECIPE_FLAGS = {"lr": "--lr", "batch_size": "--batch-size", "epochs": "--epochs", "seed": "--seed",
                "weight_decay": "--weight-decay", "warmup_steps": "--warmup-steps", "max_length": "--max-length"}


def model_recipe(model_dir: str | Path) -> dict:
    """The analysed model's training recipe, where its folder records one: ``metrics.json`` (written by
    ``emotion-lens train``) or ``training_log.json``; only the :data:`RECIPE_FLAGS` numbers, ``{}`` otherwise."""
    for name in ("metrics.json", "training_log.json"):
        try:
            recipe = json.loads((Path(model_dir) / name).read_text())["recipe"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(recipe, dict):
            return {k: recipe[k] for k in RECIPE_FLAGS if isinstance(recipe.get(k), int | float)
                    and not isinstance(recipe.get(k), bool)}
    return {}


def retrain_command(settings: Settings, a: Analysis) -> str:
    """The exact command that fine-tunes a new model on the corrected dataset (:func:`export_corrected_data`).

    Its base is the analysed checkpoint itself, a local folder, so the command runs offline and the new
    model has the analysed one's architecture and tokenizer (Compare is like for like); its recipe numbers
    are the analysed model's own where its folder records them. No baselines (they would encode the data
    once more).
    """
    base = Path(a.classifier.model_dir)  # a local folder (a Hub model's cached snapshot)
    flags = [f"{RECIPE_FLAGS[k]} {v}" for k, v in model_recipe(base).items()]
    columns = [f"--{n.replace('_', '-')} {shlex.quote(v)}" for n, v in
               (("text_column", a.data.text_column), ("label_column", a.data.label_column))
               if v and v != n.split("_")[0]]
    return " ".join(["emotion-lens train", "--data", shlex.quote(str(corrected_data_folder(settings))),
                     "--base", shlex.quote(str(base)), *flags, *columns, "--no-baselines",
                     "--output-dir", "outputs/retrained"])
