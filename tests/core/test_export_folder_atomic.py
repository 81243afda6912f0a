"""The corrected data folder is replaced whole or not at all (:func:`core.review.export.write_folder_atomic`)."""

from __future__ import annotations

import pytest

from core.review.export import write_folder_atomic


def siblings(folder):
    return sorted(p.name for p in folder.parent.iterdir())


def test_a_new_folder_replaces_the_old_one_whole(tmp_path):
    folder = tmp_path / "corrected"
    folder.mkdir()
    (folder / "validation.txt").write_text("old;joy\n")
    (folder / "stale.txt").write_text("from an older export\n")

    def write(stage):
        (stage / "validation.txt").write_text("new;fear\n")
        (stage / "train.txt").write_text("t;joy\n")
        return "done"

    assert write_folder_atomic(folder, write) == "done"
    assert sorted(p.name for p in folder.iterdir()) == ["train.txt", "validation.txt"]
    assert (folder / "validation.txt").read_text() == "new;fear\n"
    assert siblings(folder) == ["corrected"]  # no staging or old folder left behind


def test_a_failed_write_leaves_the_old_folder_and_no_staging(tmp_path):
    folder = tmp_path / "corrected"
    folder.mkdir()
    (folder / "validation.txt").write_text("old;joy\n")

    def write(stage):
        (stage / "validation.txt").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_folder_atomic(folder, write)
    assert (folder / "validation.txt").read_text() == "old;joy\n"
    assert siblings(folder) == ["corrected"]


def test_a_first_export_creates_the_folder(tmp_path):
    folder = tmp_path / "cache" / "corrected" / "key"
    write_folder_atomic(folder, lambda stage: (stage / "validation.txt").write_text("x;joy\n"))
    assert (folder / "validation.txt").read_text() == "x;joy\n"
    assert siblings(folder) == ["key"]
