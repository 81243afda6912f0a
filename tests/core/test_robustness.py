"""Probes and the robustness report: counts and shifts against a transparent rule model, the cache, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core.analysis.robustness import ALL, build_report, load_or_build_report, report_path
from core.explanation.perturb import perturbations
from core.explanation.probe import probe
from tests.conftest import LABELS, REPO, run_main

TEXTS = ["i feel sad today", "i am happy", "wow", "i feel so angry at him", "i love you", "ok"]


def rule_model(texts: list[str]) -> np.ndarray:
    """A readable stand-in classifier: "!!!" or capitals mean anger, 😭 sadness, otherwise by keywords."""
    out = np.full((len(texts), len(LABELS)), 0.02)
    for i, t in enumerate(texts):
        k = 1  # joy
        if "sad" in t or "😭" in t:
            k = 0
        if "love" in t:
            k = 2
        if "angry" in t or "!!!" in t or (t.isupper() and any(c.isalpha() for c in t)):
            k = 3
        out[i, k] = 0.9
    return out / out.sum(axis=1, keepdims=True)


def test_probe_is_one_call_with_every_applicable_edit():
    calls = []

    def predict(texts):
        calls.append(list(texts))
        return rule_model(texts)

    res = probe(predict, "i am happy today", LABELS, top_word=(5, 10))
    assert len(calls) == 1 and calls[0][0] == "i am happy today"
    assert res.predicted == "joy" and res.probs["joy"] == pytest.approx(rule_model(["x"])[0, 1])
    rows = res.rows.set_index("edit")
    assert rows.loc["!!!", "text"] == "i am happy today!!!" and rows.loc["!!!", "flipped"]
    assert rows.loc["!!!", "prediction"] == "anger" and rows.loc["!!!", "change"] < -0.5
    assert rows.loc["upper case", "flipped"] and not rows.loc["filler lol", "flipped"]
    assert rows.loc["emoji 😭", "prediction"] == "sadness"
    assert rows.loc['top word removed ("happy")', "text"] == "i am today"
    assert rows.loc["negation", "text"] == "i am not happy today"
    assert len(calls[0]) == len(rows) + 1
    assert res.skipped == []


def test_probe_lists_edits_that_do_not_apply():
    res = probe(rule_model, "ok", LABELS)
    assert {"negation", "intensifier", "two typos"} <= set(res.skipped)
    assert not set(res.skipped) & set(res.rows["edit"])


def test_report_counts_and_shifts():
    probs = rule_model(TEXTS)
    rep = build_report(rule_model, TEXTS, probs, LABELS, seed=0)
    assert rep.edits == [p.name for p in perturbations(LABELS)]
    # every applicable (edit, text) pair is a row, and nothing else
    expected = sum(p.apply(t) != t for p in perturbations(LABELS) for t in TEXTS)
    assert len(rep.rows) == expected
    s = rep.summary().set_index(["edit", "class"])
    # "!!!" turns every non-anger prediction into anger: 5 of 6 change, the angry one does not
    assert s.loc[("!!!", ALL), "n"] == 6 and s.loc[("!!!", ALL), "changed"] == pytest.approx(5 / 6)
    assert s.loc[("!!!", "anger"), "changed"] == 0 and s.loc[("!!!", "joy"), "changed"] == 1
    shift = rep.rows[rep.rows["edit"] == "!!!"]["shift"]
    assert s.loc[("!!!", ALL), "mean_shift"] == pytest.approx(shift.mean())
    assert s.loc[("filler lol", ALL), "changed"] == 0
    wide = rep.table("changed").set_index("edit")
    assert wide.loc["!!!", ALL] == pytest.approx(100 * 5 / 6, abs=0.05)
    assert list(wide.columns) == ["applies to", ALL, *LABELS]
    ex = rep.examples("!!!", "joy")
    assert len(ex) == 3 and ex["changed"].all() and set(ex["pred"]) == {"joy"}
    assert rep.examples("!!!")["changed"].iloc[0]
    js = rep.to_json()
    assert js["edits"]["!!!"][ALL]["changed"] == pytest.approx(5 / 6, abs=1e-4)
    with pytest.raises(KeyError):
        rep.examples("nope")


def test_report_classifies_each_distinct_edited_text_once_longest_first_with_progress():
    texts = TEXTS * 3  # every edited text comes three times
    calls: list[list[str]] = []

    def predict(batch):
        calls.append(list(batch))
        return rule_model(batch)

    ticks: list[tuple[int, int]] = []
    rep = build_report(predict, texts, rule_model(texts), LABELS, chunk=7, progress=lambda d, t: ticks.append((d, t)))
    once = build_report(rule_model, TEXTS, rule_model(TEXTS), LABELS)
    sent = [t for c in calls for t in c]
    assert len(sent) == len(set(sent)) == len(set(rep.rows["edited"]))  # each distinct text classified once
    assert len(rep.rows) == 3 * len(once.rows)  # ... and every (edit, row) pair still reported
    assert [len(t) for t in sent] == sorted((len(t) for t in sent), reverse=True)  # longest first
    assert all(len(c) <= 7 for c in calls) and len(calls) == -(-len(sent) // 7)
    assert ticks == [(min(7 * (i + 1), len(sent)), len(sent)) for i in range(len(calls))]
    for col in ("p_after", "changed", "pred_after"):  # the same answers as one text at a time
        by_row = rep.rows[rep.rows["sample_id"] < len(TEXTS)].reset_index(drop=True)[col]
        pd.testing.assert_series_equal(by_row, once.rows[col], check_names=False)


def test_report_is_cached_beside_the_analysis_and_rebuilt_when_stale(tmp_path):
    probs = rule_model(TEXTS)
    calls = []

    def predict(texts):
        calls.append(len(texts))
        return rule_model(texts)

    ticks = []
    rep, reused = load_or_build_report(predict, TEXTS, probs, LABELS, analysis_key="abc", cache_dir=tmp_path,
                                       progress=lambda d, t: ticks.append((d, t)))
    assert not reused and ticks and ticks[-1][0] == ticks[-1][1]
    path = report_path(tmp_path, "abc")
    assert path.parent == tmp_path / "analysis" and path.is_file() and path.with_suffix(".json").is_file()
    n_calls = len(calls)
    again, reused = load_or_build_report(predict, TEXTS, probs, LABELS, analysis_key="abc", cache_dir=tmp_path)
    assert reused and len(calls) == n_calls
    pd.testing.assert_frame_equal(again.rows, rep.rows)
    _, reused = load_or_build_report(predict, TEXTS, probs, LABELS, analysis_key="other", cache_dir=tmp_path)
    assert not reused
    path.write_bytes(b"not parquet")
    _, reused = load_or_build_report(predict, TEXTS, probs, LABELS, analysis_key="abc", cache_dir=tmp_path)
    assert not reused


def test_cli_on_a_tiny_model(tiny_model_dir, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    rows = [f"{t};{lab}" for t, lab in zip(TEXTS * 5, LABELS * 5, strict=True)]
    (folder / "validation.txt").write_text("\n".join(rows) + "\n")
    out = tmp_path / "rob.json"
    from core.analysis.robustness import main

    cmd = ["--model", str(tiny_model_dir), "--data", str(folder), "--split", "validation",
           "--cache-dir", str(tmp_path / "cache"), "--json", str(out)]
    first = run_main(main, cmd)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("built ") and "two typos" in first.stdout
    data = json.loads(out.read_text())
    # the tiny model reads DistilBERT's uncased vocabulary: capitals cannot matter, and its emoji share one token
    every = {p.name for p in perturbations(LABELS)}
    assert data["n_rows"] == 30 and "upper case" not in data["edits"] and len(data["edits"]) < len(every)
    emoji = [e for e in data["edits"] if e.startswith("emoji")]
    assert len(emoji) < len(LABELS) and 0 <= data["edits"][emoji[0]][ALL]["changed"] <= 1
    assert "note: upper case is left out" in first.stdout and "same token" in first.stdout
    second = run_main(main, cmd)
    assert second.stdout.startswith("reused ")
    bad = run_main(main, [cmd[0], str(tmp_path / "missing"), *cmd[2:]])
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


@pytest.mark.slow
def test_cli_as_a_process_fails_cleanly_on_missing_data(tiny_model_dir, tmp_path):
    """``python -m core.analysis.robustness`` in a real interpreter: exit code 2, one line, no stack trace."""
    bad = subprocess.run([sys.executable, "-m", "core.analysis.robustness", "--model", str(tiny_model_dir),
                          "--data", str(tmp_path / "missing"), "--cache-dir", str(tmp_path / "cache")], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.startswith("error: ")
