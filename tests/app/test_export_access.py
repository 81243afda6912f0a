"""Exports go behind the same check as a decision, write the corrected folder whole, and leave no
temporary folder behind (issue 26, item 2).

A real service on the tiny model with ``password`` access (reviewer ``ana``), its own review
database and cache; the dashboard's export handler (:func:`dashboard.tabs.review.run_export`) runs
with a real ``gr.File`` in a real Blocks.
"""

from __future__ import annotations

import json
import tempfile

import gradio as gr
import pandas as pd
import pytest

from core.review.access import AccessDenied, Caller
from tests.conftest import write_split_lines

ANA = Caller(password_user="ana")
STRANGER = Caller(claimed="ana")  # typed a reviewer's name, but logged in as nobody


@pytest.fixture
def service(tiny_model_dir, tmp_path):
    from core.services.emotion import EmotionService
    from core.settings import Settings

    data = write_split_lines(tmp_path / "data", "validation", 30)
    write_split_lines(data, "train", 20)
    settings = Settings(model=str(tiny_model_dir), data=str(data), cache_dir=tmp_path / "cache",
                        review_db=str(tmp_path / "reviews.sqlite"), review_access="password",
                        review_users="ana:secret", batch_size=16)
    svc = EmotionService.load(settings, show_progress=False)
    svc.reviews.decide(3, "relabel", new_label="fear" if svc.sample(3)["label"] != "fear" else "joy",
                       note="<b>why</b>", caller=ANA)
    return svc


def test_the_corrected_split_is_written_only_for_a_reviewer(service):
    folder = service.reviews.corrected_folder()
    with pytest.raises(AccessDenied, match="Exports are for reviewers only"):
        service.reviews.export("split", caller=STRANGER)
    with pytest.raises(AccessDenied):
        service.reviews.export("split", caller=None)
    assert not folder.exists()  # nothing written on the server
    path, line = service.reviews.export("split", caller=ANA)
    assert path == folder / "validation.txt" and path.is_file()
    assert line.startswith("validation only: 1 relabelled")
    assert sorted(p.name for p in folder.iterdir()) == ["train.txt", "validation.txt"]


def test_a_second_export_replaces_the_folder_whole(service):
    folder = service.reviews.corrected_folder()
    service.reviews.export("split", caller=ANA)
    (folder / "left-over.txt").write_text("from another export\n")
    service.reviews.export("split", caller=ANA)
    assert sorted(p.name for p in folder.iterdir()) == ["train.txt", "validation.txt"]
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no staging or old copy left


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_decision_files_are_for_reviewers_only(service, kind, tmp_path):
    with pytest.raises(AccessDenied):
        service.reviews.export(kind, folder=tmp_path / "out", caller=STRANGER)
    assert not (tmp_path / "out").exists()
    with pytest.raises(AccessDenied):
        service.reviews.export_events(tmp_path / "events", caller=None)
    path, _ = service.reviews.export(kind, folder=tmp_path / "out", caller=ANA)
    rows = pd.read_csv(path) if kind == "csv" else pd.read_json(path, lines=True)
    assert rows[["reviewer", "note"]].to_dict("records") == [{"reviewer": "ana", "note": "<b>why</b>"}]


def test_the_download_handler_leaves_no_temporary_folder(service, tmp_path, monkeypatch):
    from dashboard.review_access import handed_over
    from dashboard.tabs.review import run_export

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where this process makes temporary folders
    with gr.Blocks():
        files = gr.File()
    path, line = run_export(service, files, "csv", "validation", True, ANA)
    assert line == "1 decisions on the validation split"
    assert "ana" in open(path, encoding="utf-8").read()  # a copy in Gradio's cache, served from there
    events = handed_over(files, lambda folder: service.reviews.export_events(folder, caller=ANA))
    assert json.loads(open(events, encoding="utf-8").readline())["note"] == "<b>why</b>"
    left = [p.name for p in scratch.iterdir()]
    assert left == ["gradio"]  # Gradio's own cache holds the copies; the folders they were written in are gone
    assert str(path).startswith(str(scratch / "gradio"))
    with pytest.raises(gr.Error, match="Exports are for reviewers only"):
        run_export(service, files, "jsonl", "validation", True, STRANGER)
    assert [p.name for p in scratch.iterdir()] == ["gradio"]
