"""How fragile the predictions are over a whole split: the what-if edits of :mod:`core.explanation.perturb`.

One typed text is probed by :func:`core.explanation.probe.probe`; over an analysed split:

* :func:`build_report`: every edit applied to every row of an analysed split; each distinct edited
  text classified once, longest first, in chunks of similar length (batched on the fast backend by
  the caller's ``predict``), with progress after each chunk; per edit and per predicted class, the
  share of predictions that change and the mean shift of the predicted class's probability. Rows an
  edit leaves unchanged ("does not apply") are not counted. The top-word removal needs one
  explanation per row and is left out here.
* :func:`load_or_build_report`: the report cached beside the analysis cache entry
  (``<cache>/analysis/<key>.robustness.parquet`` and ``.json``, keyed by the analysis key, the
  seed and the edit list), rebuilt when any of those changes.

Command line::

    python -m core.analysis.robustness --model M --data D --split S [--json OUT] [--seed N] [--cache-dir DIR]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.analysis.cache import cache_key
from core.explanation.perturb import Perturbation, for_tokenizer, perturbations
from core.files import write_atomic

__all__ = ["RobustnessReport", "analysis_key", "build_report", "load_or_build_report", "report_path"]

ROBUSTNESS_VERSION = 2  # 2: edits the tokenizer cannot tell apart are dropped or merged
ALL = "all"


@dataclass
class RobustnessReport:
    """Every applicable edit of every row of a split, with the predictions before and after.

    ``rows`` columns: ``edit``, ``sample_id``, ``pred`` (before), ``pred_after``, ``p_before`` and
    ``p_after`` (probability of the prediction before), ``shift``, ``changed``, ``edited`` (text).
    ``n_rows`` is the split's size; ``meta`` says which model, data, split, seed and edits.
    """

    rows: pd.DataFrame
    labels: list[str]
    edits: list[str]
    n_rows: int
    meta: dict

    @property
    def notes(self) -> list[str]:
        """Edits left out or merged because this model's tokenizer cannot tell them apart."""
        return list(self.meta.get("notes", []))

    def summary(self) -> pd.DataFrame:
        """One row per (edit, class) and per (edit, ``"all"``): ``n`` applicable, ``changed`` share, ``mean_shift``.

        The class is the prediction before the edit.
        """
        r = self.rows
        parts = []
        for cls, sub in [(ALL, r), *((c, r[r["pred"] == c]) for c in self.labels)]:
            g = sub.groupby("edit", sort=False).agg(n=("changed", "size"), changed=("changed", "mean"),
                                                    mean_shift=("shift", "mean"))
            g = g.reindex(self.edits)
            g["n"] = g["n"].fillna(0).astype(int)
            g.insert(0, "class", cls)
            parts.append(g.reset_index())
        return pd.concat(parts, ignore_index=True)

    def table(self, value: str = "changed") -> pd.DataFrame:
        """Wide table: one row per edit, one column per class plus ``all``; ``value`` ``changed`` or ``mean_shift``.

        Shares and shifts are in percent (points); NaN where no row of that class applies.
        """
        if value not in ("changed", "mean_shift"):
            raise ValueError(f"value must be 'changed' or 'mean_shift', got {value!r}")
        s = self.summary()
        wide = s.pivot(index="edit", columns="class", values=value).reindex(index=self.edits,
                                                                           columns=[ALL, *self.labels])
        n = s[s["class"] == ALL].set_index("edit")["n"].reindex(self.edits)
        wide = (100 * wide).round(1)
        wide.insert(0, "applies to", n.astype(int).to_numpy())
        wide.columns.name = None
        return wide.reset_index()

    def examples(self, edit: str, cls: str = ALL, *, k: int = 50) -> pd.DataFrame:
        """Rows of one cell, changed predictions first, then by the size of the shift."""
        if edit not in self.edits:
            raise KeyError(f"unknown edit {edit!r}; edits are {self.edits}")
        r = self.rows[self.rows["edit"] == edit]
        if cls != ALL:
            r = r[r["pred"] == cls]
        r = r.assign(_abs=r["shift"].abs()).sort_values(["changed", "_abs"], ascending=[False, False])
        return r.drop(columns="_abs").head(k).reset_index(drop=True)

    def to_json(self) -> dict:
        """Plain data: meta and, per edit, the share changed and mean shift overall and per class."""
        s = self.summary()
        out: dict[str, Any] = {"meta": self.meta, "n_rows": self.n_rows, "edits": {}}
        for edit in self.edits:
            cells = s[s["edit"] == edit].set_index("class")
            out["edits"][edit] = {c: {"n": int(cells.loc[c, "n"]),
                                      "changed": None if pd.isna(cells.loc[c, "changed"]) else
                                      round(float(cells.loc[c, "changed"]), 4),
                                      "mean_shift": None if pd.isna(cells.loc[c, "mean_shift"]) else
                                      round(float(cells.loc[c, "mean_shift"]), 4)}
                                  for c in [ALL, *self.labels]}
        return out


def build_report(
    predict: Callable[[list[str]], np.ndarray],
    texts: Sequence[str],
    probs: np.ndarray,
    labels: Sequence[str],
    *,
    seed: int = 0,
    meta: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 2048,
    encode: Callable[[str], Sequence[int]] | None = None,
) -> RobustnessReport:
    """Apply every edit to every text and classify the distinct edited texts, by length, in chunks of ``chunk``.

    Parameters
    ----------
    predict : texts -> ``(N, K)`` probabilities (batched inside, e.g. by length on the fast backend).
    texts, probs : the split's texts and the model's ``(N, K)`` probabilities for them (the analysis).
    progress : ``progress(done, total)`` after each chunk, counted in distinct edited texts.
    encode : the tokenizer's text -> ids; edits it cannot tell apart are dropped or merged
        (:func:`core.explanation.perturb.for_tokenizer`), with notes in ``meta["notes"]``.
    """
    labels = list(labels)
    probs = np.asarray(probs, dtype=float)
    if probs.shape != (len(texts), len(labels)):
        raise ValueError(f"probs has shape {probs.shape}, expected ({len(texts)}, {len(labels)})")
    edits, notes = for_tokenizer(perturbations(labels), encode)
    names, ids, edited = _edited(edits, texts, seed)
    after = _classify_unique(predict, edited, len(labels), chunk=chunk, progress=progress)
    ids_a = np.asarray(ids, dtype=np.int64)
    k = probs.argmax(axis=1)[ids_a] if len(ids_a) else np.zeros(0, dtype=np.int64)
    p_before = probs[ids_a, k] if len(ids_a) else np.zeros(0)
    p_after = after[np.arange(len(edited)), k] if len(edited) else np.zeros(0)
    lab = np.asarray(labels, dtype=object)
    rows = pd.DataFrame({
        "edit": pd.Categorical(names, categories=[p.name for p in edits]),
        "sample_id": ids_a,
        "pred": lab[k] if len(k) else np.asarray([], dtype=object),
        "pred_after": lab[after.argmax(axis=1)] if len(edited) else np.asarray([], dtype=object),
        "p_before": p_before.astype(np.float32),
        "p_after": p_after.astype(np.float32),
        "shift": (p_after - p_before).astype(np.float32),
        "changed": after.argmax(axis=1) != k if len(edited) else np.zeros(0, dtype=bool),
        "edited": edited,
    })
    rows["edit"] = rows["edit"].astype(str)
    meta = {**(meta or {}), "seed": int(seed), "edits": [p.name for p in edits], "version": ROBUSTNESS_VERSION,
            "n_rows": len(texts), "notes": notes}
    return RobustnessReport(rows, labels, [p.name for p in edits], len(texts), meta)


def _edited(edits: Sequence[Perturbation], texts: Sequence[str], seed: int) -> tuple[list[str], list[int], list[str]]:
    """(edit name, row, edited text) of every edit that changes a row's text."""
    names, ids, edited = [], [], []
    for p in edits:
        for i, text in enumerate(texts):
            out = p.apply(text, seed=seed)
            if out != text:
                names.append(p.name)
                ids.append(i)
                edited.append(out)
    return names, ids, edited


def _classify_unique(predict: Callable[[list[str]], np.ndarray], edited: list[str], k: int, *, chunk: int,
                     progress: Callable[[int, int], None] | None) -> np.ndarray:
    """``(len(edited), k)`` probabilities, each distinct text classified once: longest first, in chunks of
    ``chunk`` texts of similar length (so a batch pads little), ``progress`` after each chunk."""
    codes, unique = pd.factorize(pd.Series(edited, dtype=object), sort=False)
    order = np.argsort(-pd.Series(unique).str.len().to_numpy(), kind="stable")
    probs = np.zeros((len(unique), k))
    for start in range(0, len(order), chunk):
        rows = order[start:start + chunk]
        probs[rows] = predict([unique[r] for r in rows])
        if progress is not None:
            progress(min(start + chunk, len(order)), len(order))
    return probs[codes] if len(edited) else np.zeros((0, k))


def analysis_key(meta: dict, max_length: int) -> str:
    """The cache key of the analysis ``meta`` describes (:func:`core.analysis.cache.cache_key`); ``max_length`` is the
    classifier's, used when the meta record predates storing it."""
    return cache_key(meta["model_fingerprint"], meta["data_fingerprint"], meta["split"],
                     int(meta.get("max_length", max_length)), meta.get("backend", "torch"))


def report_path(cache_dir: str | Path, analysis_key: str, *, seed: int = 0) -> Path:
    """``<cache_dir>/analysis/<key>.robustness-s<seed>.parquet``: beside the analysis entry ``<key>``."""
    return Path(cache_dir).expanduser() / "analysis" / f"{analysis_key}.robustness-s{int(seed)}.parquet"


def _read(path: Path, expect: dict) -> RobustnessReport | None:
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
        if any(meta.get(k) != v for k, v in expect.items()):
            return None
        rows = pd.read_parquet(path)
    except Exception:  # a missing, partial or foreign file means: rebuild
        return None
    if rows["edit"].nunique() > len(meta["edits"]) or not set(rows["edit"]) <= set(meta["edits"]):
        return None
    return RobustnessReport(rows, list(meta["labels"]), list(meta["edits"]), int(meta["n_rows"]), meta)


def _write(path: Path, report: RobustnessReport) -> None:
    meta_text = json.dumps(report.meta, indent=2)
    write_atomic(path, lambda tmp: report.rows.to_parquet(tmp, index=False))
    write_atomic(path.with_suffix(".json"), lambda tmp: tmp.write_text(meta_text))


def load_or_build_report(
    predict: Callable[[list[str]], np.ndarray],
    texts: Sequence[str],
    probs: np.ndarray,
    labels: Sequence[str],
    *,
    analysis_key: str,
    cache_dir: str | Path | None,
    seed: int = 0,
    meta: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
    encode: Callable[[str], Sequence[int]] | None = None,
) -> tuple[RobustnessReport, bool]:
    """The cached report for ``analysis_key`` and ``seed``, or a new one (written beside the analysis).

    Returns ``(report, reused)``. An unwritable cache folder keeps the report in memory only.
    """
    labels = list(labels)
    expect = {"analysis_key": analysis_key, "seed": int(seed), "version": ROBUSTNESS_VERSION, "labels": labels,
              "n_rows": len(texts), "edits": [p.name for p in for_tokenizer(perturbations(labels), encode)[0]]}
    path = report_path(cache_dir, analysis_key, seed=seed) if cache_dir is not None else None
    if path is not None:
        cached = _read(path, expect)
        if cached is not None:
            return cached, True
    report = build_report(predict, texts, probs, labels, seed=seed, progress=progress, encode=encode,
                          meta={**(meta or {}), "analysis_key": analysis_key, "labels": labels})
    if path is not None:
        try:
            _write(path, report)
        except OSError as exc:
            report.meta["warning"] = f"could not cache the robustness report in {path.parent} ({exc})"
    return report, False


def _tqdm(desc: str) -> Callable[[int, int], None]:
    from tqdm.auto import tqdm

    bar: list = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=desc, unit="text", file=sys.stderr))
        bar[0].n = done
        bar[0].refresh()
        if done >= total:
            bar[0].close()

    return update


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the robustness table of one analysed split; exit code 2 on bad input."""
    from core.analysis.precompute import CLI_ERRORS, analyse_from_settings  # the model stack, for the command only
    from core.analysis.table import probs_of
    from core.classifier.model import BULK_OVERHEAD_TOKENS
    from core.settings import Settings, build_parser

    parser = build_parser(description="Robustness of the predictions on one split to what-if edits.",
                          groups=("data", "compute"))
    parser.add_argument("--json", dest="json_out", default=None, help="also write the report as JSON here")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random edits (typos, elongation)")
    args = parser.parse_args(argv)
    json_out, seed = args.json_out, args.seed
    del args.json_out, args.seed
    settings = Settings.from_namespace(args)
    try:
        _, clf, out = analyse_from_settings(settings)
    except CLI_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    a = out.analysis
    key = analysis_key(a.meta, clf.max_length)

    def predict(texts: list[str]) -> np.ndarray:
        return clf.predict(texts, batch_size=settings.batch_size, overhead_tokens=BULK_OVERHEAD_TOKENS).probs

    report, reused = load_or_build_report(
        predict, a.table["text"].tolist(), probs_of(a.table, clf.labels), clf.labels, analysis_key=key,
        cache_dir=settings.cache_dir, seed=seed, progress=_tqdm("robustness"), encode=lambda t: clf.tokenize([t])[0][0],
        meta={"model": settings.model, "data": settings.data, "split": settings.split})
    print(f"{'reused' if reused else 'built'} the robustness report of {settings.split} "
          f"({report.n_rows} rows, seed {seed}); % of predictions that change, by predicted class:")
    for note in report.notes:
        print(f"note: {note}")
    print(report.table("changed").to_string(index=False))
    print("mean shift of the predicted class's probability (points):")
    print(report.table("mean_shift").to_string(index=False))
    if json_out:
        Path(json_out).write_text(json.dumps(report.to_json(), indent=2))
        print(f"wrote {json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
