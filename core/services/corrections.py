"""Review exports for :class:`core.services.reviews.ReviewService`: decision files, the corrected data
folder, and the command that retrains on it."""

from __future__ import annotations

import json
import shlex
import tempfile
from pathlib import Path

import pandas as pd

from core.analysis.workspace import Analysis
from core.settings import Settings


def corrected_folder(settings: Settings, a: Analysis) -> Path:
    """Where the corrected data folder of ``a``'s split is written by default."""
    return Path(settings.cache_dir).expanduser() / "corrected" / a.review_key.replace(":", "-")


def export_review(kind: str, settings: Settings, a: Analysis, decisions: pd.DataFrame, *, drop_ambiguous: bool = True,
                  folder: str | Path | None = None) -> tuple[Path, str]:
    """Write ``decisions`` (``csv``, ``jsonl``) or the corrected split (``split``) into ``folder``.

    ``split`` writes a whole data folder that ``python -m core.classifier.train --data FOLDER`` reads: the
    corrected split, and the data's other splits unchanged (default folder: :func:`corrected_folder`).
    Decisions whose text is no longer in the split, and decisions the data already carries (its label
    is the decision's), are left out and counted. Returns the file and a one-line summary.
    """
    from core.review.export import corrected_split, write_decisions

    if kind in ("csv", "jsonl"):
        folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="review-export-"))
        path = write_decisions(decisions, folder / f"decisions-{a.split}.{kind}", fmt=kind)
        return path, f"{len(decisions)} decisions on the {a.split} split"
    folder = Path(folder) if folder is not None else corrected_folder(settings, a)
    usable = decisions[decisions["row"] >= 0]
    table_labels = a.table["label"].astype(object).to_numpy()
    applied = usable["old_label"].to_numpy() != table_labels[usable["row"].to_numpy()]
    usable = usable[~applied].assign(sample_id=lambda f: f["row"])
    fmt = a.split_format if a.split_format in ("txt", "csv", "parquet") else "parquet"
    columns = {"text_column": a.data.text_column, "label_column": a.data.label_column}
    summary = corrected_split(a.table, usable, fmt=fmt, label_names=list(a.labels),
                              drop_ambiguous=bool(drop_ambiguous), path=folder / f"{a.split}.{fmt}", **columns)
    copied = copy_other_splits(settings, a, folder, fmt)
    lost = int((decisions["row"] < 0).sum())
    line = (f"{summary.n_relabelled} relabelled, {summary.n_dropped} dropped, {summary.n_rows} rows"
            + (f"; {int(applied.sum())} decisions already in the data" if applied.any() else "")
            + (f"; {lost} decisions on texts no longer in the split (not applied)" if lost else "")
            + (f"; copied {', '.join(copied)} unchanged" if copied else ""))
    return summary.path, line


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


def retrain_command(settings: Settings, a: Analysis) -> str:
    """The exact command that fine-tunes a new model on the corrected data of ``a``'s split."""
    from core.classifier.train import DEFAULT_BASE

    base = DEFAULT_BASE
    metrics = Path(a.classifier.model_dir) / "metrics.json"
    try:
        base = json.loads(metrics.read_text())["recipe"]["base"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    folder = corrected_folder(settings, a)
    return (f"python -m core.classifier.train --data {shlex.quote(str(folder))} --base {shlex.quote(str(base))} "
            f"--output-dir outputs/retrained-{a.split}")
