"""Undo and history (a ``withdraw`` event), one corrected dataset, and a printed retrain command that runs.

Real parts: a tiny BERT classifier, text files, a SQLite review database, a ``file://`` sync target, and
the printed ``emotion-lens train`` command run in a fresh interpreter.
"""

from __future__ import annotations

import shlex
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from core.data.text_input import InputError
from core.review.database import SCHEMA_VERSION
from core.review.store import ReviewStore
from core.review.sync import ReviewSync
from core.review.trust import EventRules
from tests.conftest import OFFLINE_ENV, REPO
from tests.core.test_annotation_loop import _lines, load, write_data

KEY = "0123456789abcdef:validation"


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", header=None, names=["text", "label"], quoting=3)


def _other(label: str, labels: list[str]) -> str:
    return next(x for x in labels if x != label)


def test_a_withdraw_makes_the_sample_undecided_and_keeps_the_history(tmp_path: Path) -> None:
    store = ReviewStore(tmp_path / "reviews.sqlite")
    first = store.record(KEY, 4, action="relabel", old_label="joy", new_label="fear")
    store.record(KEY, 5, action="keep", old_label="fear")
    store.record(KEY, 4, action="withdraw", old_label="joy", note=f"withdraws {first.event_id}")
    assert store.latest(KEY)["sample_id"].tolist() == [5]
    assert store.reviewed_ids(KEY) == {5} and store.reviewed_count(KEY) == 1
    assert store.history(KEY, 4)["action"].tolist() == ["relabel", "withdraw"]
    store.record(KEY, 4, action="ambiguous", old_label="joy")  # decided again after the withdrawal
    assert store.latest(KEY).set_index("sample_id").at[4, "action"] == "ambiguous"
    with pytest.raises(ValueError, match="takes no new_label"):
        store.record(KEY, 5, action="withdraw", old_label="fear", new_label="joy")


def test_a_schema_3_file_is_migrated_and_takes_a_withdraw(tmp_path: Path) -> None:
    db = tmp_path / "reviews.sqlite"
    store = ReviewStore(db)
    store.record(KEY, 1, action="keep", old_label="joy")
    store.close()
    with sqlite3.connect(db) as conn:  # put the file back to schema 3: its CHECK has no 'withdraw'
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'decisions'").fetchone()[0]
        conn.execute("ALTER TABLE decisions RENAME TO d_old")
        conn.execute(sql.replace(", 'withdraw'", ""))
        conn.execute("INSERT INTO decisions SELECT * FROM d_old")
        conn.execute("DROP TABLE d_old")
        conn.execute("UPDATE schema_version SET version = 3")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO decisions (time, dataset_key, sample_id, action, old_label, event_id) "
                         "VALUES ('t', 'k', 1, 'withdraw', 'joy', 'abcdefgh12')")
    again = ReviewStore(db)
    again.record(KEY, 1, action="withdraw", old_label="joy")
    assert again.latest(KEY).empty and len(again.history(KEY)) == 2
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 5


@pytest.fixture
def service(tiny_model_dir, tmp_path):
    data = write_data(tmp_path / "data", _lines("train", 90), _lines("validation", 60))
    (data / "test.txt").write_text("\n".join(_lines("test", 30)) + "\n")
    return load(tiny_model_dir, data, tmp_path / "cache", tmp_path / "reviews.sqlite")


def _decide_three(s) -> list[int]:
    """Relabel three rows at the head of the validation queue; returns them in order."""
    rows = [int(i) for i in s.review_queue("validation").index[:3]]
    for r in rows:
        s.review_decide(r, "relabel", split="validation", new_label=_other(s.sample(r, split="validation")["label"],
                                                                          s.labels))
    return rows


def test_undo_withdraws_the_last_decision_and_survives_a_restart_and_a_sync(service, tiny_model_dir, tmp_path):
    rows = _decide_three(service)
    undone = service.reviews.undo("validation")
    assert (undone.action, undone.sample_id) == ("withdraw", rows[2])
    assert service.review_progress("validation")[0] == 2
    assert rows[2] in service.review_queue("validation").index  # back in the queue
    mine = service.reviews.my_decisions("validation")
    assert mine["sample_id"].tolist() == [rows[1], rows[0]]
    assert service.reviews.undo("validation").sample_id == rows[1]  # a second undo goes one further back
    assert len(service.reviews.store.history(service.analysis("validation").review_key)) == 5  # nothing rewritten

    restarted = load(tiny_model_dir, Path(service.settings.data), tmp_path / "cache", tmp_path / "reviews.sqlite")
    assert restarted.review_progress("validation")[0] == 1

    target = tmp_path / "target"
    key = service.analysis("validation").review_key
    rules = EventRules(labels=frozenset(service.labels), rows={key: 60})
    ReviewSync(service.reviews.store, target.as_uri(), every_s=3600, rules=rules).sync_now()
    fresh = ReviewStore(tmp_path / "fresh" / "reviews.sqlite")  # a Space restarted with an empty disk
    ReviewSync(fresh, target.as_uri(), every_s=3600, rules=rules).start().close()
    assert fresh.latest(key)["sample_id"].tolist() == [rows[0]]
    with pytest.raises(InputError, match="no decision to withdraw"):
        service.reviews.withdraw(rows[2], split="validation")


def test_a_change_from_my_decisions_is_logged_and_filtered_by_action(service):
    rows = _decide_three(service)
    service.review_decide(rows[0], "ambiguous", split="validation")  # changed from the list
    key = service.analysis("validation").review_key
    assert service.reviews.store.history(key, rows[0])["action"].tolist() == ["relabel", "ambiguous"]
    assert service.reviews.my_decisions("validation", action="ambiguous")["sample_id"].tolist() == [rows[0]]
    assert sorted(service.reviews.my_decisions("validation", action="relabel")["sample_id"]) == sorted(rows[1:])
    with pytest.raises(InputError, match="unknown action"):
        service.reviews.my_decisions("validation", action="withdraw")


def test_corrected_data_applies_every_splits_decisions_and_undo(service, tmp_path):
    val = _decide_three(service)
    service.reviews.undo("validation")
    train_row = int(service.review_queue("train").index[0])
    new = _other(service.sample(train_row, split="train")["label"], service.labels)
    service.review_decide(train_row, "relabel", split="train", new_label=new)

    archive, line = service.review_export("data", split="validation", folder=tmp_path / "corrected")
    assert "train: 1 of 90 rows changed" in line and "validation: 2 of 60 rows changed" in line
    assert "test: 0 of 30 rows changed" in line
    names = set(zipfile.ZipFile(archive).namelist())
    assert names == {"train.txt", "validation.txt", "test.txt"}
    validation = _read(tmp_path / "corrected" / "validation.txt")
    original = service.analysis("validation").table
    changed = [i for i in range(60) if validation.at[i, "label"] != original.at[i, "label"]]
    assert changed == sorted(val[:2])  # the undone relabel is not applied
    assert _read(tmp_path / "corrected" / "train.txt").at[train_row, "label"] == new

    _, alone = service.review_export("split", split="validation", folder=tmp_path / "alone")
    assert "left out: 1 decisions on train" in alone
    assert _read(tmp_path / "alone" / "train.txt").at[train_row, "label"] != new


def test_the_printed_retrain_command_runs_offline_and_its_checkpoint_loads(service, tiny_model_dir, tmp_path):
    from core.classifier.model import load_classifier

    _decide_three(service)
    service.review_export("data", split="validation")
    command = service.retrain_command("validation")
    args = shlex.split(command)
    assert args[:2] == ["emotion-lens", "train"] and "distilbert-base-uncased" not in command
    assert args[args.index("--base") + 1] == str(tiny_model_dir)
    out = tmp_path / "retrained"
    args[args.index("--output-dir") + 1] = str(out)
    env = {**OFFLINE_ENV, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "core.cli", *args[1:]], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    clf = load_classifier(out)
    assert list(clf.labels) == service.labels
    assert clf.predict(["i feel great"]).probs.shape == (1, len(service.labels))
