"""``python app.py`` without the Hub: one clear paragraph, exit code 2, no stack trace (real processes: the
end-to-end proof of the fail-fast path; other bad inputs run ``app.main`` in-process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import EMOTION, REPO, app_main, needs_emotion, write_split_lines


def run_app(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    env = {k: v for k, v in env.items() if not k.startswith("EMOTION_")}
    return subprocess.run([sys.executable, "app.py", "--cache-dir", str(tmp_path / "cache"), *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("what", ["dataset", "model"])
def test_unreachable_hub_says_what_failed_and_how_to_pass_local_paths(tmp_path, what):
    if what == "model" and not EMOTION.is_dir():
        pytest.skip("../shared/emotion is absent")
    args = ["--data", str(EMOTION)] if what == "model" else []
    out = run_app(tmp_path, *args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "Cannot start the dashboard" in out.stderr
    assert f"could not {'load the dataset' if what == 'dataset' else 'download the model'}" in out.stderr
    assert "--model" in out.stderr and "--data" in out.stderr


@needs_emotion
def test_bad_review_db_path_is_a_clear_error(tmp_path, tiny_model_dir):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    data = write_split_lines(tmp_path / "data", "validation", 30)  # a small split: the analysis runs first
    out = app_main(["--cache-dir", str(tmp_path / "cache"), "--model", str(tiny_model_dir), "--data", str(data),
                    "--review-db", str(blocker / "reviews.sqlite")])
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "Cannot start the dashboard" in out.stderr
