"""Every command parses with one parser and loads with one loader (issue 26 items 9 and 10, issue 30 item 7a)."""

from __future__ import annotations

import json

import pytest

from core.analysis.cache import AnalysisCache
from core.analysis.robustness import analysis_key, report_path
from core.classifier.backends import resolve
from core.settings import Settings, build_parser
from tests.core.test_precompute import small_data, tweet_emotion_csv  # noqa: F401 - small_data is a fixture

APP_ONLY = ("--host", "--port", "--reviewer", "--review-sync", "--review-access", "--review-db", "--splits",
            "--compare-model", "--prob-source")
SHARED = ("--model", "--data", "--split", "--cache-dir", "--backend", "--text-column", "--label-column")
#: App flags a command uses for its own job: compare reads the review decisions of the compared split.
OWN = {"core.audit.compare": {"--review-db"}}


def _help(main, capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("module", ["core.analysis.precompute", "core.analysis.robustness", "core.audit.compare"])
def test_each_command_lists_only_its_own_flags(module, capsys) -> None:
    import importlib

    text = _help(importlib.import_module(module).main, capsys)
    assert all(flag in text for flag in SHARED)
    foreign = [flag for flag in APP_ONLY if flag not in OWN.get(module, set())]
    assert not [flag for flag in foreign if f"{flag} " in text or f"{flag}\n" in text or f"[{flag}" in text]


def test_the_app_parser_still_has_every_flag() -> None:
    options = set(build_parser(env={})._option_string_actions)
    assert set(APP_ONLY) | set(SHARED) | {"--engine", "--ray-address"} <= options


@pytest.mark.parametrize(("name", "value", "flag"), [
    ("EMOTION_PROB_SOURCE", "bogus", "--prob-source"),
    ("EMOTION_ENGINE", "spark", "--engine"),
    ("EMOTION_REVIEW_ACCESS", "everyone", "--review-access"),
    ("EMOTION_BACKEND", "gpu", "--backend"),
])
def test_an_environment_value_outside_the_choices_is_a_clear_error(name, value, flag) -> None:
    with pytest.raises(SystemExit) as stop:
        Settings.from_sources([], env={name: value})
    message = str(stop.value.code)
    assert message.startswith(f"error: {name}={value!r} is not one of") and flag in message


def test_an_empty_environment_value_means_unset() -> None:
    s = Settings.from_sources([], env={"EMOTION_PROB_SOURCE": "", "EMOTION_ENGINE": ""})
    assert (s.prob_source, s.engine) == ("auto", "local")


def test_robustness_cli_honours_the_column_flags_and_the_backend(tiny_model_dir, small_data, tmp_path,  # noqa: F811
                                                                 capsys) -> None:
    from core.analysis.robustness import main

    folder = tweet_emotion_csv(small_data, tmp_path / "csv")
    cache = tmp_path / "cache"
    backend = "torch" if resolve("auto")[0] != "torch" else "torch-bf16"  # not what the default resolves to
    args = ["--model", str(tiny_model_dir), "--data", str(folder), "--cache-dir", str(cache), "--text-column",
            "tweet", "--label-column", "emotion", "--backend", backend, "--json", str(tmp_path / "r.json")]
    assert main(args) == 0, capsys.readouterr().err
    entries = [p for p in (cache / "analysis").iterdir() if p.is_dir()]
    assert len(entries) == 1
    meta = json.loads((entries[0] / "meta.json").read_text())
    assert meta["backend"] == backend and meta["n_rows"] == json.loads((tmp_path / "r.json").read_text())["n_rows"]
    # the report sits under the key the app computes from the same analysis, so the app reuses it
    assert report_path(cache, analysis_key(meta, meta["max_length"])).is_file()
    assert AnalysisCache(cache).load(entries[0].name, expect={"backend": backend})[0] is not None


def test_compare_cli_honours_the_backend(tiny_model_dir, small_data, tmp_path, capsys) -> None:  # noqa: F811
    from core.audit.compare import main

    cache = tmp_path / "cache"
    args = ["--model", str(tiny_model_dir), "--model", str(tiny_model_dir), "--data", str(small_data),
            "--cache-dir", str(cache), "--backend", "torch"]
    assert main(args) == 0, capsys.readouterr().err
    metas = [json.loads(p.read_text()) for p in (cache / "analysis").glob("*/meta.json")]
    assert [m["backend"] for m in metas] == ["torch"]
