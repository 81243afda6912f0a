"""The one atomic-write helper: the target changes whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.files import staged_folder, write_atomic


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path):
    target = tmp_path / "sub" / "table.txt"
    write_atomic(target, lambda tmp: tmp.write_text("old"))
    write_atomic(target, lambda tmp: tmp.write_text("new"), fsync=True)
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.txt"]
    assert target.stat().st_mode & 0o777 == 0o644


def test_a_failed_write_keeps_the_old_file(tmp_path: Path):
    target = tmp_path / "table.txt"
    target.write_text("old")

    def half(tmp: Path) -> None:
        tmp.write_text("ne")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, half)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.txt"]


def test_without_overwrite_an_existing_file_is_kept(tmp_path: Path):
    """The sync's event files: a name taken (by another replica) is never replaced."""
    target = tmp_path / "events" / "a.jsonl"
    write_atomic(target, lambda tmp: tmp.write_text("first"), fsync=True, overwrite=False)
    with pytest.raises(FileExistsError):
        write_atomic(target, lambda tmp: tmp.write_text("second"), fsync=True, overwrite=False)
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["a.jsonl"]


def test_staged_folder_replaces_or_keeps_an_existing_folder(tmp_path: Path):
    final = tmp_path / "entry"
    with staged_folder(final, fsync=True) as tmp:
        (tmp / "a").write_text("1")
    with staged_folder(final) as tmp:
        (tmp / "b").write_text("2")
    assert [p.name for p in final.iterdir()] == ["b"]  # replaced whole
    with staged_folder(final, replace=False) as tmp:
        (tmp / "c").write_text("3")
    assert [p.name for p in final.iterdir()] == ["b"]  # the one already there wins
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]  # no staged or stale folders left


def test_a_failed_folder_leaves_nothing(tmp_path: Path):
    with pytest.raises(ValueError, match="bad row"), staged_folder(tmp_path / "entry") as tmp:
        (tmp / "a").write_text("1")
        raise ValueError("bad row")
    assert list(tmp_path.iterdir()) == []
