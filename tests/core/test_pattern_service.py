"""The patterns service on a real (tiny) model and train split with planted negated "angry" rows: the pattern,
its spot check judged through the reviews service, the bulk relabel, the export and the undo through a restart;
access is checked like any write."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data.text_input import InputError
from core.review.access import AccessDenied, Caller
from tests.core.test_annotation_loop import _lines, load, write_data

PLANTED = ["i dont feel angry about the {} at all", "i didnt feel angry when the {} broke",
           "i never feel angry about my {} now", "i am not feeling angry about the {}"]
THINGS = ["car", "phone", "garden", "exam", "holiday"]
PATTERN = "negated:anger:angry"
SETTINGS = {"pattern_share": 0.3, "spot_check_k": 4, "spot_check_threshold": 0.45}


@pytest.fixture(scope="module")
def service(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("patterns")
    planted = [f"{t.format(w)};anger" for t in PLANTED for w in THINGS]
    data = write_data(folder / "data", _lines("train", 100) + planted, _lines("validation", 40))
    return load(tiny_model_dir, data, folder / "cache", folder / "reviews.sqlite", **SETTINGS)


def _planted_ids(service) -> set[int]:
    return set(range(100, 100 + len(PLANTED) * len(THINGS)))


def test_the_planted_rows_form_a_pattern_named_by_their_cue_with_their_rows_most_suspect_first(service):
    table = service.patterns.patterns("train").set_index("pattern")
    assert table.at[PATTERN, "name"] == 'negated "angry" (anger)'
    rows = service.patterns.pattern_rows(PATTERN, "train")
    assert set(rows["sample_id"]) <= _planted_ids(service) and len(rows) == table.at[PATTERN, "size"] >= 8
    assert rows["score"].is_monotonic_decreasing and rows["spot"].sum() == 4
    assert table.at[PATTERN, "open"] == len(rows) and table.at[PATTERN, "audited"] == 0  # no audit of this data


def test_spot_check_then_bulk_relabel_then_undo_through_a_restart(service, tiny_model_dir):
    with pytest.raises(InputError, match="spot check does not allow"):
        service.patterns.apply(PATTERN, "relabel", "train", reviewer="ana")
    while (nxt := service.patterns.next_spot(PATTERN, "train")) is not None:
        service.reviews.decide(nxt["sample_id"], "relabel", split="train", new_label=nxt["suggest"], reviewer="ana")
    check = service.patterns.spot_check(PATTERN, "train")
    assert check.passes and check.hits == 4 and check.lower >= 0.45
    out = service.patterns.apply(PATTERN, "relabel", "train", reviewer="ana")
    rows = service.patterns.pattern_rows(PATTERN, "train")
    assert out["rows"] + out["left_out"] == len(rows) - 4
    bulk = rows[rows["batch"] == out["batch"]]
    assert len(bulk) == out["rows"] and (bulk["decision"] == "relabel").all()
    assert (bulk["new_label"] == bulk["suggest"]).all()

    decisions = pd.read_csv(service.review_export("csv", split="train", folder=Path(service.settings.cache_dir) /
                                                  "export")[0])
    assert (decisions["batch"] == out["batch"]).sum() == out["rows"]  # exported as decisions, marked by their batch

    undone = service.patterns.undo(out["batch"], "train", reviewer="bo")
    assert undone["rows"] == out["rows"] and undone["kept"] == 0
    restarted = load(tiny_model_dir, Path(service.settings.data), Path(service.settings.cache_dir),
                     Path(service.settings.review_db), **SETTINGS)
    after = restarted.patterns.pattern_rows(PATTERN, "train")
    assert (after["decision"] != "").sum() == 4  # only the spot check's judgements stay
    assert restarted.patterns.batches("train").set_index("batch").at[out["batch"], "undone_by"] == undone["batch"]
    with pytest.raises(InputError, match="undone already"):
        restarted.patterns.undo(out["batch"], "train")


def test_writes_are_authorised_like_any_decision(service):
    from dataclasses import replace

    guarded = service.patterns
    saved = guarded.reviews.settings
    guarded.reviews.settings = replace(saved, review_access="login", reviewers="ana")
    try:
        with pytest.raises(AccessDenied):
            guarded.apply(PATTERN, "skip", "train", caller=Caller(claimed="mallory"))
        with pytest.raises(AccessDenied):
            guarded.undo("0" * 32, "train", caller=Caller(claimed="mallory"))
    finally:
        guarded.reviews.settings = saved
    with pytest.raises(InputError, match="unknown pattern"):
        service.patterns.pattern_rows("negated:anger:nothing", "train")
    with pytest.raises(InputError, match="unknown bulk action"):
        service.patterns.apply(PATTERN, "burn", "train")


def test_the_patterns_command_prints_the_table_and_writes_json(service, capsys, tmp_path):
    import json

    from core.cli import main

    s = service.settings
    out = tmp_path / "patterns.json"
    code = main(["patterns", "--model", s.model, "--data", s.data, "--split", "train", "--cache-dir",
                 str(s.cache_dir), "--review-db", str(s.review_db), "--pattern-share", "0.3", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and PATTERN in printed and 'negated "angry" (anger)' in printed
    table = json.loads(out.read_text())
    assert {p["pattern"] for p in table} == set(service.patterns.patterns("train")["pattern"])
    assert main(["patterns", "--model", s.model, "--data", s.data, "--split", "train", "--cache-dir",
                 str(s.cache_dir), "--review-db", str(s.review_db), "--rows", "no:such:pattern"]) == 2
