"""The annotation loop on real parts: decisions keyed by the data, two tiny models, compare, retrain.

Two tiny BERT classifiers with different random weights stand in for "before" and "after" a
retrain; the review database is a real SQLite file; the data are real text files.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from core.analysis.compare import compare_tables, mcnemar_exact
from core.data.text_input import InputError
from core.services.emotion import EmotionService
from core.settings import Settings
from tests.conftest import EMOTION, LABELS, run_main
from tests.core.test_review_store import V1_SCHEMA


def _lines(split: str, n: int) -> list[str]:
    if EMOTION.is_dir():
        return (EMOTION / f"{split}.txt").read_text().splitlines()[:n]
    return [f"{split} tweet {i} about feeling {LABELS[i % 6]};{LABELS[(i * 7) % 6]}" for i in range(n)]


def write_data(folder: Path, train: list[str], validation: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.txt").write_text("\n".join(train) + "\n")
    (folder / "validation.txt").write_text("\n".join(validation) + "\n")
    return folder


@pytest.fixture(scope="module")
def second_model_dir(loop_models) -> Path:
    """The tiny model's architecture with other random weights."""
    return loop_models[1]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_data(tmp_path_factory.mktemp("loop-data"), _lines("train", 90), _lines("validation", 60))


def load(model: Path, data: Path, cache: Path, db: Path, **kw) -> EmotionService:
    settings = Settings(model=str(model), data=str(data), cache_dir=cache, review_db=db,
                        splits=("train", "validation"), split="validation", **kw)
    return EmotionService.load(settings, show_progress=False)


def test_decisions_made_under_one_model_are_seen_under_another(tiny_model_dir, second_model_dir, data_dir, tmp_path):
    db, cache = tmp_path / "reviews.sqlite", tmp_path / "cache"
    a = load(tiny_model_dir, data_dir, cache, db)
    queue = a.review_queue("train")
    first, second = int(queue.index[0]), int(queue.index[1])
    new = next(x for x in LABELS if x != a.sample(first, split="train")["label"])
    d1 = a.review_decide(first, "relabel", split="train", new_label=new, reviewer="ann", note="hashtag says so")
    d2 = a.review_decide(second, "ambiguous", split="train")
    assert d2.action == "ambiguous" and d2.new_label is None and d2.reviewer == ""
    assert d1.model_fingerprint == a.analysis("train").meta["model_fingerprint"]
    assert d1.model_pred == a.sample(first, split="train")["pred"]
    assert a.review_progress("train") == (2, 90) and a.review_progress("validation") == (0, 60)

    b = load(second_model_dir, data_dir, cache, db)  # "retrained": other weights, same data
    assert b.analysis("train").meta["model_fingerprint"] != a.analysis("train").meta["model_fingerprint"]
    seen = b.review_decisions("train")
    assert sorted(seen["row"]) == sorted([first, second]) and set(seen["match"]) == {"same row"}
    assert b.review_progress("train") == (2, 90)
    assert first not in b.review_queue("train").index and second not in b.review_queue("train").index
    path, line = b.review_export("split", split="train", folder=tmp_path / "corrected")
    out = pd.read_csv(path, sep=";", header=None, names=["text", "label"], quoting=3)
    original = a.analysis("train").table
    assert len(out) == 89  # the ambiguous row is dropped
    kept = original.drop(index=second).reset_index(drop=True)
    expected = kept["label"].where(kept["text"] != original.at[first, "text"], new)
    assert out["label"].tolist() == expected.tolist()
    assert (tmp_path / "corrected" / "validation.txt").is_file() and "1 relabelled, 1 dropped" in line
    csv_path, _ = b.review_export("csv", split="train", folder=tmp_path / "dec")
    exported = pd.read_csv(csv_path)
    assert set(exported["model_fingerprint"]) == {a.analysis("train").meta["model_fingerprint"]}


def test_decisions_follow_reordered_rows_and_flag_changed_text(tiny_model_dir, data_dir, tmp_path):
    db, cache = tmp_path / "reviews.sqlite", tmp_path / "cache"
    a = load(tiny_model_dir, data_dir, cache, db)
    table = a.analysis("train").table
    a.review_decide(3, "keep", split="train")
    a.review_decide(5, "relabel", split="train", new_label=next(x for x in LABELS if x != table.at[5, "label"]))

    lines = (data_dir / "train.txt").read_text().splitlines()
    reordered = lines[::-1]
    moved = write_data(tmp_path / "reordered", reordered, (data_dir / "validation.txt").read_text().splitlines())
    b = load(tiny_model_dir, moved, cache, db)
    seen = b.review_decisions("train").set_index("sample_id")
    assert seen.loc[3, "row"] == 89 - 3 and seen.loc[5, "row"] == 89 - 5
    assert set(seen["match"]) == {"moved"}

    edited = list(lines)
    edited[5] = "an entirely different tweet now;joy"
    changed = write_data(tmp_path / "edited", edited, (data_dir / "validation.txt").read_text().splitlines())
    c = load(tiny_model_dir, changed, cache, db)
    assert c.review_decisions("train").empty  # another text set: another review key
    c.reviews.store.import_events(a.reviews.events())  # the same decisions, seen from the edited data
    rekeyed = c.reviews.store.rekey(a.analysis("train").review_key, c.analysis("train").review_key)
    assert rekeyed == 2
    seen = c.review_decisions("train").set_index("sample_id")
    assert seen.loc[3, "match"] == "same row" and seen.loc[5, "match"] == "text changed" and seen.loc[5, "row"] == -1
    _, line = c.review_export("split", split="train", folder=tmp_path / "out")
    assert "1 decisions on texts no longer in the split" in line




def test_a_model_keyed_database_is_migrated_and_shown(tiny_model_dir, data_dir, tmp_path):
    cache = tmp_path / "cache"
    probe = load(tiny_model_dir, data_dir, cache, tmp_path / "probe.sqlite")
    legacy = probe.analysis("validation").legacy_review_key
    table = probe.analysis("validation").table
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(V1_SCHEMA)
        for sid in (1, 2, 7):
            conn.execute("INSERT INTO decisions (time, dataset_key, sample_id, action, old_label, new_label) "
                         "VALUES ('2026-01-01T00:00:00+00:00', ?, ?, 'keep', ?, ?)",
                         (legacy, sid, table.at[sid, "label"], table.at[sid, "label"]))
        conn.execute("INSERT INTO decisions (time, dataset_key, sample_id, action, old_label) "
                     "VALUES ('2026-01-01T00:00:00+00:00', 'other:model:validation', 0, 'ambiguous', 'joy')")
    svc = load(tiny_model_dir, data_dir, cache, db)
    seen = svc.review_decisions("validation")
    assert sorted(seen["row"]) == [1, 2, 7] and set(seen["match"]) == {"unverified"}
    assert svc.reviews.count() == 4  # nothing lost, the foreign row included


def test_review_decide_rejects_bad_input_and_records_nothing(tiny_model_dir, data_dir, tmp_path):
    svc = load(tiny_model_dir, data_dir, tmp_path / "cache", tmp_path / "r.sqlite")
    for kwargs in ({"sample_id": 10_000, "action": "keep"}, {"sample_id": -1, "action": "keep"},
                   {"sample_id": 1, "action": "delete"}, {"sample_id": 1, "action": "relabel", "new_label": "bliss"},
                   {"sample_id": 1, "action": "ambiguous", "new_label": "joy"}):
        with pytest.raises(InputError):
            svc.review_decide(split="train", **kwargs)
    assert svc.reviews.count() == 0
    own = svc.sample(1, split="train")["label"]
    with pytest.raises(InputError, match=f"'{own}' is this row's given label, so nothing was stored"):
        svc.review_decide(1, "relabel", split="train", new_label=own)  # said, not stored as keep
    assert svc.reviews.count() == 0
    with pytest.raises(IndexError):
        svc.neighbours(-1, split="train")


# ---- compare ------------------------------------------------------------------------------------

def test_compare_matches_sklearn_and_scipy(tiny_model_dir, second_model_dir, data_dir, tmp_path):
    svc = load(tiny_model_dir, data_dir, tmp_path / "cache", tmp_path / "r.sqlite",
               compare_model=str(second_model_dir))
    report = svc.compare_report("validation")
    ta, tb = svc.analysis("validation").table, svc.analysis("validation", "compare").table
    y, pa, pb = ta["label"], ta["pred"], tb["pred"]
    s = report.summary
    assert s["accuracy_a"] == accuracy_score(y, pa) and s["accuracy_b"] == accuracy_score(y, pb)
    assert s["accuracy_delta"] == pytest.approx(accuracy_score(y, pb) - accuracy_score(y, pa))
    for who, pred in (("a", pa), ("b", pb)):
        assert s[f"f1_weighted_{who}"] == pytest.approx(
            f1_score(y, pred, labels=LABELS, average="weighted", zero_division=0))
        p, r, f, n = precision_recall_fscore_support(y, pred, labels=LABELS, zero_division=0)
        assert np.allclose(report.per_class[f"precision_{who}"], p) and np.allclose(report.per_class[f"f1_{who}"], f)
        assert np.allclose(report.per_class[f"recall_{who}"], r) and (report.per_class[f"support_{who}"] == n).all()
    p_a, _, f_a, _ = precision_recall_fscore_support(y, pa, labels=LABELS, zero_division=0)
    p_b, _, f_b, _ = precision_recall_fscore_support(y, pb, labels=LABELS, zero_division=0)
    assert np.allclose(report.per_class["f1_delta"], f_b - f_a)
    assert np.allclose(report.per_class["precision_delta"], p_b - p_a)
    only_a = int(((pa == y) & (pb != y)).sum())
    only_b = int(((pa != y) & (pb == y)).sum())
    assert (s["only_a_right"], s["only_b_right"]) == (only_a, only_b)
    expected_p = binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    assert s["mcnemar_p"] == pytest.approx(expected_p)
    assert s["agreement"] == pytest.approx(float((pa == pb).mean()))
    changed = report.changed
    assert set(changed["sample_id"]) == set(np.flatnonzero((pa != pb).to_numpy()))
    assert (changed["group"] == "fixed").sum() == s["fixed"] == int(((pa != y) & (pb == y)).sum())
    assert (changed["group"] == "broken").sum() == s["broken"] == only_a
    assert report.confusion_delta.sum() == 0
    from core.analysis.calibration import ece  # both models' calibration, as Compare shows it

    for role, table in (("model", ta), ("compare", tb)):
        probs = table[[f"prob_{x}" for x in LABELS]].to_numpy()
        cal = svc.calibration("validation", role=role)
        assert cal.n == len(table)
        assert cal.ece == pytest.approx(ece(probs, np.array([LABELS.index(x) for x in y]),
                                            bins=cal.bins))


def test_mcnemar_on_known_counts():
    a = np.array([True] * 7 + [False] * 2 + [True] * 10)
    b = np.array([False] * 7 + [True] * 2 + [True] * 10)
    assert mcnemar_exact(a, b) == (7, 2, pytest.approx(binomtest(2, 9, 0.5).pvalue))
    assert mcnemar_exact(a, a)[2] == 1.0


def test_compare_refuses_tables_of_other_rows():
    t = pd.DataFrame({"text": ["a", "b"], "label": ["joy", "joy"], "pred": ["joy", "love"]})
    with pytest.raises(ValueError, match="not of the same rows"):
        compare_tables(t, t.iloc[::-1], ["joy", "love"])


def test_compare_cli_writes_json(tiny_model_dir, second_model_dir, data_dir, tmp_path):
    out = tmp_path / "report.json"
    from core.audit.compare import main

    run = run_main(main, ["--model", str(tiny_model_dir), "--model", str(second_model_dir), "--data", str(data_dir),
                          "--split", "validation", "--json", str(out), "--cache-dir", str(tmp_path / "cache")])
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["summary"]["rows"] == 60 and len(report["confusion_delta"]) == 6
    assert "McNemar p" in run.stdout
    bad = run_main(main, ["--model", str(tiny_model_dir), "--data", str(data_dir)])
    assert bad.returncode == 2 and "exactly two models" in bad.stderr
