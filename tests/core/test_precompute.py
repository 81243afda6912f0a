"""Cached analysis on a tiny random model: losses, UMAP, cache reuse and rebuild, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis.cache import AnalysisCache
from core.analysis.precompute import analyse_split
from core.classifier.model import ModelError, align_labels, load_classifier
from core.data.splits import load_splits
from tests.conftest import LABELS, MINILM, REPO, needs_emotion, needs_minilm, run_main, write_split_lines

N_ROWS = 120


@pytest.fixture()
def small_data(tmp_path):
    """120 validation rows of the real data (or synthetic ones if ../shared is absent)."""
    return write_split_lines(tmp_path / "data", "validation", N_ROWS)


def analyse(model_dir, data_dir, cache_dir, *, max_length=512):
    data = load_splits(data_dir, splits=("validation",))
    clf = load_classifier(model_dir, data_labels=data.label_names, max_length=max_length)
    return analyse_split(clf, data, "validation", cache_dir=cache_dir, batch_size=16, show_progress=False), data


def test_every_loss_equals_cross_entropy_of_its_probabilities(tiny_model_dir, small_data, tmp_path):
    out, data = analyse(tiny_model_dir, small_data, tmp_path / "cache")
    table = out.analysis.table
    assert len(table) == N_ROWS and not out.reused
    probs = table[[f"prob_{x}" for x in LABELS]].to_numpy(dtype=np.float64)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    given = np.array([LABELS.index(x) for x in table["label"]])
    expected = -np.log(probs[np.arange(N_ROWS), given])
    assert np.allclose(table["loss"].to_numpy(), expected, atol=1e-5)
    assert (table["pred"] == [LABELS[i] for i in probs.argmax(axis=1)]).all()
    top2 = np.sort(probs, axis=1)[:, -2:]
    assert np.allclose(table["margin"], top2[:, 1] - top2[:, 0], atol=1e-6)
    assert np.allclose(table["confidence"], probs.max(axis=1), atol=1e-6)
    assert table["text"].tolist() == data["validation"].texts
    from core.data.keys import content_key, text_hashes

    # the review key a start-up reads instead of hashing every text
    assert out.analysis.meta["review_key"] == content_key(text_hashes(data["validation"].texts), "validation")


def test_umap_and_hidden_states_are_present_and_finite(tiny_model_dir, small_data, tmp_path):
    out, _ = analyse(tiny_model_dir, small_data, tmp_path / "cache")
    coords = out.analysis.table[["umap_x", "umap_y"]].to_numpy()
    assert coords.shape == (N_ROWS, 2) and np.isfinite(coords).all()
    assert coords.std(axis=0).min() > 0  # a real layout, not a constant
    assert out.analysis.hidden.shape == (N_ROWS, 32)
    meta = json.loads((out.analysis.path / "meta.json").read_text())
    for field in ("model", "model_fingerprint", "data_fingerprint", "labels", "accuracy", "f1_weighted",
                  "versions", "created"):
        assert field in meta
    assert meta["labels"] == LABELS
    stages = meta["stage_seconds"]  # where the analysis's time went
    assert set(stages) == {"inference", "umap", "table", "label_issues"}
    assert all(seconds > 0 for seconds in stages.values()), stages  # each stage measured, none skipped
    assert sum(stages.values()) <= meta["seconds"] + 0.05


def test_second_run_reuses_the_cache(tiny_model_dir, small_data, tmp_path):
    first, _ = analyse(tiny_model_dir, small_data, tmp_path / "cache")
    second, _ = analyse(tiny_model_dir, small_data, tmp_path / "cache")
    assert second.reused and second.analysis.path == first.analysis.path  # its speed is measured in bench/
    pd.testing.assert_frame_equal(first.analysis.table, second.analysis.table)
    assert np.array_equal(first.analysis.hidden, second.analysis.hidden)


@pytest.mark.parametrize("damage", ["truncate_parquet", "garbage_meta", "foreign_meta", "short_hidden"])
def test_a_damaged_cache_is_rebuilt(tiny_model_dir, small_data, tmp_path, damage):
    first, _ = analyse(tiny_model_dir, small_data, tmp_path / "cache")
    entry = first.analysis.path
    if damage == "truncate_parquet":
        data = (entry / "table.parquet").read_bytes()
        (entry / "table.parquet").write_bytes(data[: len(data) // 2])
    elif damage == "garbage_meta":
        (entry / "meta.json").write_text("{not json")
    elif damage == "foreign_meta":
        meta = json.loads((entry / "meta.json").read_text())
        meta["model_fingerprint"] = "someone-else"
        (entry / "meta.json").write_text(json.dumps(meta))
    else:
        np.save(entry / "hidden.npy", np.zeros((3, 32), dtype=np.float32))
    second, _ = analyse(tiny_model_dir, small_data, tmp_path / "cache")
    assert not second.reused
    assert second.warnings and "rebuilding" in second.warnings[0]
    pd.testing.assert_frame_equal(first.analysis.table, second.analysis.table, check_exact=False, atol=1e-4)
    third, _ = analyse(tiny_model_dir, small_data, tmp_path / "cache")
    assert third.reused


def test_changed_data_gets_a_new_entry(tiny_model_dir, small_data, tmp_path):
    first, _ = analyse(tiny_model_dir, small_data, tmp_path / "cache")
    path = small_data / "validation.txt"
    path.write_text(path.read_text() + "one more tweet;joy\n")
    second, _ = analyse(tiny_model_dir, small_data, tmp_path / "cache")
    assert not second.reused and len(second.analysis.table) == N_ROWS + 1
    assert second.analysis.path != first.analysis.path


def test_another_max_length_gets_a_new_entry(tiny_model_dir, small_data, tmp_path):
    full, _ = analyse(tiny_model_dir, small_data, tmp_path / "cache")
    short, _ = analyse(tiny_model_dir, small_data, tmp_path / "cache", max_length=8)
    assert not short.reused and short.analysis.path != full.analysis.path
    assert (full.analysis.meta["max_length"], short.analysis.meta["max_length"]) == (128, 8)
    assert short.analysis.table["n_tokens"].max() <= 8 < full.analysis.table["n_tokens"].max()
    again, _ = analyse(tiny_model_dir, small_data, tmp_path / "cache", max_length=8)
    assert again.reused and again.analysis.path == short.analysis.path


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_read_only_cache_runs_in_memory_with_a_warning(tiny_model_dir, small_data, tmp_path):
    cache = tmp_path / "ro"
    cache.mkdir()
    cache.chmod(0o500)
    out, _ = analyse(tiny_model_dir, small_data, cache)
    assert out.analysis.path is None and "without a cache" in out.warnings[-1]


def test_unwritable_cache_path_runs_in_memory_with_a_warning(tiny_model_dir, small_data, tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    out, _ = analyse(tiny_model_dir, small_data, blocker)
    assert out.analysis.path is None
    assert any("without a cache" in w for w in out.warnings)
    assert len(out.analysis.table) == N_ROWS


def test_cache_save_is_atomic_no_temp_folders_left(tiny_model_dir, small_data, tmp_path):
    analyse(tiny_model_dir, small_data, tmp_path / "cache")
    leftovers = [p for p in (tmp_path / "cache" / "analysis").iterdir() if p.name.startswith(".")]
    assert leftovers == []
    cache = AnalysisCache(tmp_path / "cache")
    assert cache.load("missing", expect={})[0] is None


def test_label_sets_that_disagree_stop_with_both_lists():
    with pytest.raises(ModelError, match=r"\['a', 'b'\].*\['x', 'y'\]"):
        align_labels(["a", "b"], ["x", "y"])
    assert align_labels(["LABEL_0", "LABEL_1"], ["x", "y"]) == ["x", "y"]
    assert align_labels(["b", "a"], ["a", "b"]) == ["b", "a"]
    assert align_labels(["a", "b", "c"], ["c", "a"]) == ["a", "b", "c"]


def test_label_order_differences_are_remapped(tiny_model_dir, tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    # Only three labels present: names order (sadness, joy, anger) differs from the model's ids.
    (folder / "validation.txt").write_text("so sad;sadness\nangry now;anger\nhappy;joy\nmore anger;anger\n")
    out, data = analyse(tiny_model_dir, folder, tmp_path / "cache")
    assert data.label_names == ["sadness", "joy", "anger"]
    assert out.analysis.table["label"].tolist() == ["sadness", "anger", "joy", "anger"]
    probs = out.analysis.table[[f"prob_{x}" for x in LABELS]].to_numpy()
    anger = LABELS.index("anger")
    assert np.allclose(out.analysis.table["loss"].iloc[1], -np.log(probs[1, anger]), atol=1e-5)


@pytest.mark.parametrize("case", ["missing", "no_weights", "base_model"])
def test_model_folders_that_cannot_be_used_say_why(tmp_path, tiny_model_dir, case):
    folder = tmp_path / case
    if case == "no_weights":
        folder.mkdir()
        (folder / "config.json").write_text((tiny_model_dir / "config.json").read_text())
        match = "no weights"
    elif case == "base_model":
        folder.mkdir()
        config = json.loads((tiny_model_dir / "config.json").read_text())
        config["architectures"] = ["BertModel"]
        (folder / "config.json").write_text(json.dumps(config))
        match = "not a sequence classifier"
    else:
        match = "no such model folder"
    with pytest.raises(ModelError, match=match):
        load_classifier(folder)


def test_precompute_cli_prints_where_it_wrote_and_errors_cleanly(tiny_model_dir, small_data, tmp_path):
    from core.analysis.precompute import main

    cmd = ["--model", str(tiny_model_dir), "--data", str(small_data), "--cache-dir", str(tmp_path / "cache")]
    first = run_main(main, cmd)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("wrote ") and str(tmp_path / "cache") in first.stdout
    second = run_main(main, cmd)
    assert second.stdout.startswith("reused ")
    bad = run_main(main, [cmd[0], str(tmp_path / "missing-model"), *cmd[2:]])
    assert bad.returncode == 2
    assert "no such model folder" in bad.stderr


@pytest.mark.slow
def test_precompute_as_a_process_fails_cleanly(small_data, tmp_path):
    """``python -m core.analysis.precompute`` in a real interpreter: exit code 2, no stack trace (its success path
    runs as a process in the ``minilm_cache_dir`` fixture)."""
    bad = subprocess.run([sys.executable, "-m", "core.analysis.precompute", "--model", str(tmp_path / "missing-model"),
                          "--data", str(small_data), "--cache-dir", str(tmp_path / "cache")], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and "no such model folder" in bad.stderr


@pytest.mark.slow
@needs_minilm
@needs_emotion
def test_full_validation_accuracy_matches_the_training_log(minilm_cache_dir):
    best = json.loads((MINILM / "training_log.json").read_text())["best_val_acc"]
    from core.classifier.backends import resolve
    from core.settings import Settings

    # the fixture's entry: the default backend's (other tests may add an fp32 entry to the shared cache)
    default = resolve(Settings().backend)[0]
    entries = [p for p in Path(minilm_cache_dir, "analysis").glob("*/meta.json")
               if json.loads(p.read_text())["backend"] == default]
    assert len(entries) == 1
    meta = json.loads(entries[0].read_text())
    table = pd.read_parquet(entries[0].parent / "table.parquet")
    assert len(table) == 2000
    accuracy = float((table["label"] == table["pred"]).mean())
    assert abs(accuracy - best) <= 0.002
    assert abs(meta["accuracy"] - accuracy) < 1e-9


def tweet_emotion_csv(small_data: Path, folder: Path) -> Path:
    """``small_data`` as ``folder/validation.csv`` with the columns ``tweet`` and ``emotion``."""
    from core.data.splits import parse_text_label_lines

    frame, _ = parse_text_label_lines((small_data / "validation.txt").read_text().splitlines())
    folder.mkdir()
    frame.rename(columns={"text": "tweet", "label": "emotion"})[["tweet", "emotion"]].to_csv(
        folder / "validation.csv", index=False)
    return folder


def test_precompute_cli_reads_other_column_names_with_the_column_flags(tiny_model_dir, small_data, tmp_path, capsys,
                                                                       monkeypatch):
    from core.analysis.precompute import main

    folder = tweet_emotion_csv(small_data, tmp_path / "csv")
    base = ["--model", str(tiny_model_dir), "--data", str(folder), "--cache-dir", str(tmp_path / "cache")]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "found ['tweet', 'emotion']" in err and "--text-column" in err
    assert main([*base, "--text-column", "tweet", "--label-column", "emotion"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'cache'}")
    monkeypatch.setenv("EMOTION_TEXT_COLUMN", "tweet")  # the same through environment variables
    monkeypatch.setenv("EMOTION_LABEL_COLUMN", "emotion")
    assert main(base) == 0
    assert capsys.readouterr().out.startswith(f"reused {tmp_path / 'cache'}")


def test_compare_cli_reads_other_column_names_with_the_column_flags(tiny_model_dir, small_data, tmp_path, capsys):
    from core.audit.compare import main

    folder = tweet_emotion_csv(small_data, tmp_path / "csv")
    base = ["--model", str(tiny_model_dir), "--model", str(tiny_model_dir), "--data", str(folder),
            "--cache-dir", str(tmp_path / "cache")]
    assert main(base) == 2 and "found ['tweet', 'emotion']" in capsys.readouterr().err
    assert main([*base, "--text-column", "tweet", "--label-column", "emotion"]) == 0
    assert f"validation: {N_ROWS} rows" in capsys.readouterr().out
