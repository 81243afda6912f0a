"""The whole loop through the API at small size: find flips, correct them with ``review_decide``,
export the corrected split with ``review_export``, retrain a tiny model a few steps, compare."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import LABELS, REPO
from tests.loop_app import N_TRAIN


@pytest.fixture(scope="module")
def client(loop_app):
    from gradio_client import Client

    return Client(loop_app.url, ssl_verify=False, verbose=False)


@pytest.mark.train
def test_queue_decide_export_retrain_compare(client, loop_app, tmp_path):
    queue = client.predict(given_label="any", predicted_label="any", split="train", limit=N_TRAIN,
                           api_name="/review_queue")
    assert len(queue) == N_TRAIN and {"sample_id", "label", "pred", "text"} <= set(queue[0])
    by_id = {row["sample_id"]: row for row in queue}
    for i in loop_app.flipped:
        decision = client.predict(sample_id=i, action="relabel", new_label=loop_app.clean_labels[i],
                                  note="flipped in the test", split="train", api_name="/review_decide")
        assert decision["action"] == "relabel" and decision["new_label"] == loop_app.clean_labels[i]
        assert decision["old_label"] == by_id[i]["label"] != loop_app.clean_labels[i]
        assert decision["model_pred"] == by_id[i]["pred"] and decision["text_hash"]
    keep = next(i for i in range(N_TRAIN) if i not in loop_app.flipped)
    client.predict(sample_id=keep, action="keep", split="train", api_name="/review_decide")
    after = client.predict(given_label="any", predicted_label="any", split="train", limit=N_TRAIN,
                           api_name="/review_queue")
    assert len(after) == N_TRAIN - len(loop_app.flipped) - 1
    with pytest.raises(Exception, match="unknown action"):
        client.predict(sample_id=keep, action="burn", split="train", api_name="/review_decide")

    exported = client.predict(kind="split", split="train", drop_ambiguous=True, api_name="/review_export")
    corrected = pd.read_csv(exported, sep=";", header=None, names=["text", "label"], quoting=3,
                            keep_default_na=False)
    assert corrected["label"].tolist() == loop_app.clean_labels  # every flip undone, nothing else changed
    decisions = pd.read_csv(client.predict(kind="csv", split="train", drop_ambiguous=True,
                                           api_name="/review_export"))
    assert len(decisions) == len(loop_app.flipped) + 1

    data = tmp_path / "corrected"
    data.mkdir()
    shutil.copy(exported, data / "train.txt")
    shutil.copy(loop_app.data / "validation.txt", data / "validation.txt")
    out = tmp_path / "retrained"
    train = subprocess.run([sys.executable, "-m", "core.classifier.train", "--base", str(loop_app.model_a),
                            "--data", str(data),
                            "--output-dir", str(out), "--epochs", "1", "--batch-size", "16", "--lr", "1e-3",
                            "--no-baselines", "--max-length", "128"], cwd=REPO, capture_output=True, text=True,
                           timeout=900)
    assert train.returncode == 0, train.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_rows"] == N_TRAIN

    report = tmp_path / "compare.json"
    cmp = subprocess.run([sys.executable, "-m", "core.audit.compare", "--model", str(loop_app.model_a),
                          "--model", str(out),
                          "--data", str(data), "--split", "validation", "--json", str(report), "--cache-dir",
                          str(tmp_path / "cache")], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert cmp.returncode == 0, cmp.stderr[-3000:]
    summary = json.loads(report.read_text())["summary"]
    assert summary["accuracy_b"] == pytest.approx(metrics["validation"]["accuracy"], abs=1e-9)
    assert summary["fixed"] - summary["broken"] == round((summary["accuracy_b"] - summary["accuracy_a"]) *
                                                         summary["rows"])
    assert sorted(json.loads(report.read_text())["labels"]) == sorted(LABELS)


def test_relabel_to_the_given_class_is_said_not_stored(client):
    """``review_decide`` with ``relabel`` to the row's own label stores nothing (not a keep) and says why."""
    queue = client.predict(given_label="any", predicted_label="any", split="validation", limit=1,
                           api_name="/review_queue")
    row = queue[0]
    with pytest.raises(Exception, match=f"'{row['label']}' is this row's given label, so nothing was stored"):
        client.predict(sample_id=row["sample_id"], action="relabel", new_label=row["label"], split="validation",
                       api_name="/review_decide")
    again = client.predict(given_label="any", predicted_label="any", split="validation", limit=1,
                           api_name="/review_queue")
    assert again[0]["sample_id"] == row["sample_id"]  # still unreviewed: nothing was recorded for it
    decisions = pd.read_csv(client.predict(kind="csv", split="validation", drop_ambiguous=True,
                                           api_name="/review_export"))
    assert row["sample_id"] not in decisions.get("sample_id", pd.Series(dtype=int)).tolist()
