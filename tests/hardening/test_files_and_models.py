"""Bad data files, bad model folders and damaged caches: a clear message (naming the file and, where
there is one, the line) in the service and from ``app.py`` (exit 2, no traceback; its ``main`` runs in this
process for the many fail-fast cases, ``python app.py`` for real for one); a damaged or
unwritable cache is rebuilt, or skipped with a warning, and the app still serves.

``tests/core/test_precompute.py`` covers the in-process model errors (missing, no weights, base
architecture) and the in-process cache rebuilds; here are the command-line paths and the cases it lacks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.harness import free_port
from core.analysis.cache import AnalysisCache
from core.classifier.model import ModelError
from core.data.splits import DataError
from core.services.emotion import EmotionService
from core.settings import Settings
from tests.conftest import DISTILBERT, LABELS, app_main, run_main
from tests.hardening.conftest import real_lines, run_cli, write_split

# ---- helpers -------------------------------------------------------------------------------------


def assert_clean_exit(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, one ``Cannot start the dashboard: ...`` paragraph naming ``needles``, no traceback."""
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err[-3000:])
    assert "Traceback" not in err and 'File "' not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("Cannot start the dashboard: ")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def app_args(model: Path | str, data: Path | str, tmp: Path) -> list[str]:
    return ["app.py", "--model", str(model), "--data", str(data), "--cache-dir", str(tmp / "cache"),
            "--review-db", str(tmp / "reviews.sqlite"), "--port", str(free_port())]


# ---- data files ----------------------------------------------------------------------------------

def _wrong_separator(folder: Path) -> tuple[str, ...]:
    folder.mkdir()
    lines = [ln.replace(";", "\t") for ln in real_lines(5)]
    (folder / "validation.txt").write_text("\n".join(lines) + "\n")
    return str(folder / "validation.txt"), "line 1", "';' separator"


def _missing_split(folder: Path) -> tuple[str, ...]:
    write_split(folder, 5, name="train.txt")
    return str(folder), "no file for split(s) ['validation']", "train.txt"


def _empty_file(folder: Path) -> tuple[str, ...]:
    folder.mkdir()
    (folder / "validation.txt").write_text("")
    return str(folder / "validation.txt"), "the file is empty"


def _blank_lines(folder: Path) -> tuple[str, ...]:
    folder.mkdir()
    (folder / "validation.txt").write_text("\n  \n\n")
    return str(folder / "validation.txt"), "no usable rows", "3 lines were skipped"


def _unknown_label(folder: Path) -> tuple[str, ...]:
    write_split(folder, 20, ["i am so bored of this;boredom", *real_lines(25)[20:]])
    return "'boredom' is on line 21 of " + str(folder / "validation.txt"), "the model's labels"


def _binary_txt(folder: Path, tiny_model_dir: Path) -> tuple[str, ...]:
    write_split(folder, 5)
    with (folder / "validation.txt").open("ab") as f:
        f.write((tiny_model_dir / "model.safetensors").read_bytes()[:400])
    return str(folder / "validation.txt"), "not a text file (NUL byte on line 6)"


def _latin1_txt(folder: Path) -> tuple[str, ...]:
    write_split(folder, 5)
    with (folder / "validation.txt").open("ab") as f:
        f.write("caf\u00e9 was lovely;joy\n".encode("latin-1"))
    return str(folder / "validation.txt"), "not UTF-8 text (bad byte on line 6)"


def _binary_parquet(folder: Path, tiny_model_dir: Path) -> tuple[str, ...]:
    folder.mkdir()
    (folder / "validation.parquet").write_bytes((tiny_model_dir / "model.safetensors").read_bytes()[:5000])
    return str(folder / "validation.parquet"), "not a readable parquet file"


def _csv_without_columns(folder: Path) -> tuple[str, ...]:
    folder.mkdir()
    (folder / "validation.csv").write_text("sentence,emotion\ni am happy,joy\n")
    return str(folder / "validation.csv"), "no 'text' and 'label' columns"


DATA_CASES = {
    "wrong separator": _wrong_separator,
    "missing split": _missing_split,
    "empty file": _empty_file,
    "blank lines only": _blank_lines,
    "unknown label": _unknown_label,
    "binary txt": _binary_txt,
    "not UTF-8": _latin1_txt,
    "binary parquet": _binary_parquet,
    "csv without columns": _csv_without_columns,
}


def slug(name: str) -> str:
    return re.sub(r"\W+", "-", name).strip("-")


@pytest.fixture(scope="module")
def bad_data(tiny_model_dir, tmp_path_factory) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """Every bad data folder, with the words its error must contain."""
    root = tmp_path_factory.mktemp("bad-data")
    out = {}
    for name, make in DATA_CASES.items():
        folder = root / slug(name)
        out[name] = (folder, make(folder, tiny_model_dir) if make.__code__.co_argcount == 2 else make(folder))
    return out


@pytest.mark.parametrize("name", DATA_CASES)
def test_bad_data_is_a_clear_error_in_the_service(name, bad_data, tiny_model_dir, tmp_path):
    folder, needles = bad_data[name]
    settings = Settings(model=str(tiny_model_dir), data=str(folder), cache_dir=tmp_path / "cache")
    with pytest.raises((DataError, ModelError)) as info:
        EmotionService.load(settings, show_progress=False)
    assert isinstance(info.value, ModelError if name == "unknown label" else DataError)
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))
    assert not (tmp_path / "cache").exists()  # nothing was written for unusable data


def test_a_few_bad_lines_are_skipped_and_reported_by_line(tiny_model_dir, tmp_path):
    """Lines without a separator or with an empty text are skipped, and the warning names them."""
    data = write_split(tmp_path / "data", 3, ["no separator here", ";joy", "   "])
    settings = Settings(model=str(tiny_model_dir), data=str(data), cache_dir=tmp_path / "cache")
    service = EmotionService.load(settings, show_progress=False)
    assert len(service.table) == 3
    summary = next(w for w in service.warnings if "lines skipped" in w)
    assert summary.startswith("3 lines skipped in validation.txt: ")
    assert "no separator (line 4)" in summary and "empty text (line 5)" in summary
    assert "empty line (line 6)" in summary


# ---- model folders -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bad_models(tiny_model_dir, tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """Model folders that cannot be used, each with the words its error must contain."""
    import torch
    from transformers import BertConfig, BertModel

    root = tmp_path_factory.mktemp("bad-models")

    def copy_of(name: str) -> Path:
        folder = root / name
        folder.mkdir()
        for f in tiny_model_dir.iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
        return folder

    no_weights = copy_of("no-weights")
    (no_weights / "model.safetensors").unlink()
    truncated = copy_of("truncated-weights")
    (truncated / "model.safetensors").write_bytes((tiny_model_dir / "model.safetensors").read_bytes()[:10_000])
    bad_config = copy_of("bad-config")
    (bad_config / "config.json").write_text("{not json")
    # an encoder without a classification head, its config saying nothing about the architecture
    headless = copy_of("headless")
    torch.manual_seed(0)
    BertModel(BertConfig.from_pretrained(tiny_model_dir)).save_pretrained(headless)
    config = json.loads((headless / "config.json").read_text())
    config.pop("architectures", None)
    (headless / "config.json").write_text(json.dumps(config))
    a_file = root / "model.txt"
    a_file.write_text("not a model")
    cases = {
        "missing folder": (root / "missing", "no such model folder"),
        "a file": (a_file, "not a model folder (no config.json)"),
        "no weights": (no_weights, "no weights"),
        "truncated weights": (truncated, "could not load (SafetensorError"),
        "broken config.json": (bad_config, "config.json: not a readable JSON config"),
        "headless encoder": (headless, "not a fine-tuned sequence classifier"),
    }
    if (DISTILBERT / "config.json").is_file():  # a real masked-LM checkpoint (its config says so)
        cases["masked-LM checkpoint"] = (DISTILBERT, "not a sequence classifier")
    return cases


MODEL_CASES = ["missing folder", "a file", "no weights", "truncated weights", "broken config.json",
               "headless encoder", "masked-LM checkpoint"]


@pytest.mark.parametrize("name", ["truncated weights", "broken config.json", "headless encoder"])
def test_bad_model_is_a_model_error(name, bad_models):
    from core.classifier.model import load_classifier

    folder, needle = bad_models[name]
    with pytest.raises(ModelError, match=re.escape(needle)):
        load_classifier(folder, data_labels=LABELS)


@pytest.fixture(scope="module")
def app_py_runs(tiny_model_dir, bad_data, bad_models, tmp_path_factory) -> tuple[dict, Path]:
    """``app.py``'s ``main`` on every bad data folder (tiny model) and every bad model folder (good data),
    and on an unwritable cache folder without ``--review-db``, in this process (each stops before serving;
    :func:`test_app_py_as_a_process_stops_on_an_unwritable_cache_folder` is the real-process proof)."""
    root = tmp_path_factory.mktemp("app-py-runs")
    good = write_split(root / "good-data", 5)
    jobs = {f"data {n}": app_args(tiny_model_dir, folder, root / slug(n)) for n, (folder, _) in bad_data.items()}
    jobs |= {f"model {n}": app_args(folder, good, root / slug(n)) for n, (folder, _) in bad_models.items()}
    runs = {key: app_main(args[1:]) for key, args in jobs.items()}
    blocker = root / "a-file"
    blocker.write_text("x")
    runs["review db in an unwritable cache"] = app_main(["--model", str(tiny_model_dir), "--data", str(good),
                                                         "--cache-dir", str(blocker / "cache"), "--port",
                                                         str(free_port())])
    return runs, blocker


@pytest.mark.parametrize("name", DATA_CASES)
def test_bad_data_stops_app_py_with_one_paragraph(name, bad_data, app_py_runs):
    assert_clean_exit(app_py_runs[0][f"data {name}"], *bad_data[name][1])


@pytest.mark.parametrize("name", MODEL_CASES)
def test_bad_model_stops_app_py_with_one_paragraph(name, bad_models, app_py_runs):
    if name not in bad_models:
        pytest.skip(f"{DISTILBERT} is absent")
    folder, needle = bad_models[name]
    line = assert_clean_exit(app_py_runs[0][f"model {name}"], needle)
    assert str(folder) in line


# ---- caches --------------------------------------------------------------------------------------

def build_cache(model: Path, data: Path, cache: Path) -> Path:
    """Write the analysis entry in this process (quick), on the app's default backend (the entry
    ``python -m core.analysis.precompute`` looks for); returns its folder."""
    from core.analysis.precompute import analyse_split
    from core.classifier.model import load_classifier
    from core.data.splits import load_splits
    from core.settings import Settings

    loaded = load_splits(data, splits=("validation",))
    clf = load_classifier(model, data_labels=loaded.label_names, backend=Settings().backend, cache_dir=cache)
    out = analyse_split(clf, loaded, "validation", cache_dir=cache, show_progress=False)
    assert out.analysis.path is not None and not out.reused
    return out.analysis.path


def test_precompute_cli_rebuilds_a_truncated_or_foreign_cache(tiny_model_dir, tmp_path):
    """Two copies of a good cache: one with its table.parquet cut in half, one with the meta.json of
    another model; ``python -m core.analysis.precompute``'s ``main`` on each warns, rebuilds and exits 0."""
    data = write_split(tmp_path / "data", 3)
    entry = build_cache(tiny_model_dir, data, tmp_path / "good")
    caches = {damage: tmp_path / damage for damage in ("truncated", "foreign")}
    for cache in caches.values():
        shutil.copytree(tmp_path / "good", cache)
    table = caches["truncated"] / "analysis" / entry.name / "table.parquet"
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
    meta_path = caches["foreign"] / "analysis" / entry.name / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta.update(model="../shared/models/emotion-minilm", model_fingerprint="0123456789abcdef",
                labels=list(reversed(LABELS)))
    meta_path.write_text(json.dumps(meta))

    from core.analysis.precompute import main

    runs = {damage: run_main(main, ["--model", str(tiny_model_dir), "--data", str(data), "--cache-dir", str(cache)])
            for damage, cache in caches.items()}
    expected = {"truncated": "warning: rebuilding the analysis: unreadable cache entry (",
                "foreign": "warning: rebuilding the analysis: meta.json is for another model_fingerprint "
                           "('0123456789abcdef')"}
    for damage, run in runs.items():
        rebuilt = caches[damage] / "analysis" / entry.name
        assert run.returncode == 0, run.stderr
        assert expected[damage] in run.stderr and "Traceback" not in run.stderr, run.stderr
        assert run.stdout.startswith(f"wrote {rebuilt} "), run.stdout
        meta = json.loads((rebuilt / "meta.json").read_text())  # the rebuilt entry is this model's, and readable
        assert meta["model"] == str(tiny_model_dir) and meta["labels"] == LABELS
        expect = {"model_fingerprint": meta["model_fingerprint"]}
        assert AnalysisCache(caches[damage]).load(entry.name, expect=expect)[0] is not None


def test_app_serves_without_a_cache_when_the_cache_folder_cannot_be_written(hostile_app):
    """The hostile app's ``--cache-dir`` lies under a regular file: it warns and serves."""
    from gradio_client import Client

    log = hostile_app.output()
    assert re.search(r"warning: could not write the cache in \S+ \(Not a directory\); running without a cache",
                     log, re.IGNORECASE), log[-3000:]  # logged by the analysis behind the server
    assert "Traceback" not in log
    assert Client(hostile_app.url, verbose=False).predict("i feel great", api_name="/classify")["label"] in LABELS


def test_app_with_the_review_database_in_an_unwritable_cache_folder_says_so(app_py_runs):
    """Without ``--review-db`` the decisions would go into the unwritable cache folder: a clear stop."""
    runs, blocker = app_py_runs
    proc = runs["review db in an unwritable cache"]
    assert_clean_exit(proc, str(blocker / "cache" / "reviews.sqlite"), "choose another review database path")
    assert "Analysing the" not in proc.stderr  # the stop comes before the server, so nothing was analysed


@pytest.mark.slow
def test_app_py_as_a_process_stops_on_an_unwritable_cache_folder(tiny_model_dir, tmp_path):
    """The same stop from ``python app.py`` for real: exit code 2 and one paragraph on stderr, no stack trace."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    proc = run_cli(["app.py", "--model", str(tiny_model_dir), "--data", str(write_split(tmp_path / "data", 5)),
                    "--cache-dir", str(blocker / "cache"), "--port", str(free_port())])
    assert_clean_exit(proc, str(blocker / "cache" / "reviews.sqlite"), "choose another review database path")
