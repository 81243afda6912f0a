"""Compare on corrected labels (core.analysis.compare): metrics and McNemar's test twice, checked
against a small case computed by hand in which the review flips the winner; real SQLite decisions."""

from __future__ import annotations

import pandas as pd
import pytest

from core.analysis.compare import compare_tables, corrected_labels
from core.audit.compare import review_decisions
from core.data.keys import content_key, text_hashes
from core.review.store import ReviewStore

LABELS = ["joy", "love", "fear"]
TEXTS = [f"tweet {i}" for i in range(6)]
# By hand: A is right on rows 0, 1, 2, 4 (4/6); B on rows 0, 2, 3, 4, 5 (5/6): B is better.
# Only A right: row 1; only B right: rows 3, 5 -> McNemar: binomial(1 of 3) two-sided p = 1.0.
A = pd.DataFrame({"text": TEXTS, "label": ["joy", "joy", "love", "love", "fear", "fear"],
                  "pred": ["joy", "joy", "love", "joy", "fear", "joy"]})
B = A.assign(pred=["joy", "love", "love", "love", "fear", "fear"])


def _decisions(tmp_path, *rows: tuple[int, str, str, str | None]) -> pd.DataFrame:
    store = ReviewStore(tmp_path / "reviews.sqlite")
    key = content_key(text_hashes(TEXTS), "test")
    hashes = text_hashes(TEXTS)
    for sid, action, old, new in rows:
        store.record(key, sid, action=action, old_label=old, new_label=new, text_hash=hashes[sid])
    out = store.latest(key)
    store.close()
    return out


def test_the_review_flips_the_winner_and_both_blocks_match_the_hand_computation(tmp_path):
    # Reviewers: rows 3 and 5 are really joy (A right, B wrong); row 1 is ambiguous (left out).
    decisions = _decisions(tmp_path, (3, "relabel", "love", "joy"), (5, "relabel", "fear", "joy"),
                           (1, "ambiguous", "joy", None), (0, "keep", "joy", "joy"))
    report = compare_tables(A, B, LABELS, decisions=decisions)
    s, c = report.summary, report.corrected
    assert (s["accuracy_a"], s["accuracy_b"], s["better"]) == (pytest.approx(4 / 6), pytest.approx(5 / 6), "B")
    assert (s["only_a_right"], s["only_b_right"], s["mcnemar_p"]) == (1, 2, pytest.approx(1.0))
    # Corrected: rows 0, 2, 3, 4, 5 with labels joy, love, joy, fear, joy: A 5/5, B 3/5.
    assert c["rows"] == 5 and (c["decisions"], c["relabelled"], c["left_out"]) == (4, 2, 1)
    assert (c["accuracy_a"], c["accuracy_b"], c["better"]) == (pytest.approx(1.0), pytest.approx(0.6), "A")
    assert (c["only_a_right"], c["only_b_right"]) == (2, 0)
    assert c["mcnemar_p"] == pytest.approx(0.5)  # P(0 of 2) + P(2 of 2) = 0.25 + 0.25
    assert report.warning and "B on the original labels" in report.warning and "A on the corrected" in report.warning
    assert report.to_json()["corrected"]["better"] == "A"


def test_no_decisions_no_corrected_block_and_agreeing_review_no_warning(tmp_path):
    assert compare_tables(A, B, LABELS).corrected is None
    report = compare_tables(A, B, LABELS, decisions=_decisions(tmp_path, (1, "relabel", "joy", "love")))
    assert report.corrected["accuracy_b"] == pytest.approx(1.0) and report.corrected["better"] == "B"
    assert report.warning is None


def test_a_decision_whose_text_moved_follows_it_and_a_vanished_one_is_ignored(tmp_path):
    decisions = _decisions(tmp_path, (3, "relabel", "love", "joy"))
    moved = A.iloc[[3, 0, 1, 2, 4, 5]].reset_index(drop=True)  # row 3's text is now row 0
    labels, keep, counts = corrected_labels(moved, decisions)
    assert labels[0] == "joy" and labels[3] == "love" and keep.all() and counts["relabelled"] == 1
    gone = A.assign(text=[f"other {i}" for i in range(6)])
    assert corrected_labels(gone, decisions)[2] == {"decisions": 0, "relabelled": 0, "left_out": 0}


def test_review_decisions_reads_the_split_key_and_tolerates_a_missing_file(tmp_path):
    assert review_decisions(tmp_path / "none.sqlite", {}, A, "test") is None
    _decisions(tmp_path, (2, "not_emotion", "love", None))
    got = review_decisions(tmp_path / "reviews.sqlite", {}, A, "test")
    assert got["sample_id"].tolist() == [2] and got["action"].tolist() == ["not_emotion"]
    assert review_decisions(tmp_path / "reviews.sqlite", {}, A, "validation").empty
