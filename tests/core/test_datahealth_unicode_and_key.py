"""Issue 35: data health on non-Latin and emoji text, and a report cache key from everything that shapes it."""

from __future__ import annotations

import pandas as pd
import pytest

from core.datahealth import checks
from core.datahealth.report import ANALYSIS_META_KEYS, compute_report, health_params, report_key
from core.datahealth.run import data_health
from tests.conftest import split_lines

OTHER = ["Привет, мир!", "😭😭😭", "東京は雨です", "नमस्ते दुनिया", "!!!", "مرحبا بالعالم"]
OTHER_TOO = ["Добрый день", "😂😂", "大阪は晴れ", "शुभ रात्रि", "...", "صباح الخير"]


def frames(**splits: list[str]) -> dict[str, pd.DataFrame]:
    return {s: pd.DataFrame({"text": texts, "label": [("joy", "sadness")[i % 2] for i in range(len(texts))]})
            for s, texts in splits.items()}


def test_different_non_latin_and_emoji_texts_in_different_splits_are_no_leak() -> None:
    f = frames(train=OTHER, test=OTHER_TOO)
    assert checks.exact_leaks(f).empty
    report = compute_report(f, ["joy", "sadness"])
    assert report.counts()["leakage"]["test"] == 0
    for split, texts in (("train", OTHER), ("test", OTHER_TOO)):  # nor duplicates of each other in one split
        assert checks.conflicting_duplicates(frames(x=texts)["x"], split).empty


def test_identical_non_latin_and_emoji_texts_in_different_splits_are_a_leak() -> None:
    same = ["привет мир", "😭😭😭", "東京は雨です。", "नमस्ते, दुनिया", "STRASSE", "ｍｅｒｃｉ"]
    f = frames(train=[*OTHER[:4], "Straße", "merci"], test=same)
    leaks = checks.exact_leaks(f)
    assert sorted(zip(leaks["sample_id"], leaks["other_id"], strict=True)) == [(i, i) for i in range(6)]
    assert checks.normalise("!!! ...") == "" and checks.normalise("Ｉ'M ＨＡＰＰＹ") == "i m happy"


def test_an_empty_key_never_conflicts_inside_a_split() -> None:
    frame = pd.DataFrame({"text": ["!!!", "...", "?!", "i feel fine", "I FEEL FINE!"],
                          "label": ["joy", "anger", "fear", "joy", "sadness"]})
    groups = checks.conflicting_duplicates(frame, "train")
    assert groups["sample_ids"].tolist() == [[3, 4]]


FPS = {"train": "fp-train", "test": "fp-test"}
META = {"model_fingerprint": "m", "backend": "torch", "max_length": 128, "analysis_params": "a1",
        "labels": ["joy", "sadness"]}


def _changed(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, dict):
        return {**value, "changed": True}
    return [*value, "changed"]


@pytest.mark.parametrize("name", sorted(health_params()))
def test_every_check_parameter_is_in_the_key(name: str) -> None:
    params = health_params()
    base = report_key(FPS, {"train": META}, ["joy", "sadness"])
    assert report_key(FPS, {"train": META}, ["joy", "sadness"], params=params) == base
    assert report_key(FPS, {"train": META}, ["joy", "sadness"], params={**params, name: _changed(params[name])}) != base


@pytest.mark.parametrize("name", ANALYSIS_META_KEYS)
def test_every_analysis_parameter_is_in_the_key(name: str) -> None:
    base = report_key(FPS, {"train": META}, ["joy", "sadness"])
    assert report_key(FPS, {"train": {**META, name: _changed(META[name])}}, ["joy", "sadness"]) != base
    assert report_key(FPS, {"train": {**META, "created": "later"}}, ["joy", "sadness"]) == base  # not shaping


def test_the_splits_order_data_and_labels_are_in_the_key() -> None:
    base = report_key(FPS, None, ["joy", "sadness"])
    assert report_key(dict(reversed(FPS.items())), None, ["joy", "sadness"]) != base  # the later split is reported
    assert report_key({**FPS, "test": "other"}, None, ["joy", "sadness"]) != base
    assert report_key(FPS, None, ["sadness", "joy"]) != base


def test_a_changed_check_parameter_rebuilds_the_cached_report(tmp_path, monkeypatch) -> None:
    from core.data.splits import load_splits

    folder = tmp_path / "data"
    folder.mkdir()
    for split, n in (("train", 30), ("test", 20)):
        (folder / f"{split}.txt").write_text("\n".join(split_lines(split, n)) + "\n")
    data = load_splits(folder, splits=("train", "test"))
    cache = tmp_path / "cache"
    assert data_health(data, cache_dir=cache)[1] is False
    assert data_health(data, cache_dir=cache)[1] is True
    monkeypatch.setattr(checks, "NEAR_THRESHOLD", 0.5)  # an edited constant: the old report is not served
    assert data_health(data, cache_dir=cache)[1] is False
