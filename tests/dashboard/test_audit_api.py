"""Blind audit through the app's API (``gradio_client`` against the served emotion-minilm app):
nothing of the model reaches the caller before the judgement is stored."""

from __future__ import annotations

import pytest

from tests.conftest import LABELS, needs_emotion, needs_minilm

pytestmark = [needs_minilm, needs_emotion, pytest.mark.server]

MODEL_KEYS = {"pred", "probs", "confidence", "loss", "mislabel_score", "label_quality", "suggested_label"}


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def test_a_draw_carries_the_text_and_given_label_only(client):
    row = client.predict("validation", "uniform", api_name="/audit_next")
    assert set(row) == {"sample_id", "text", "label", "sampling"}
    assert row["label"] in LABELS and row["sampling"] == "uniform" and isinstance(row["text"], str)
    assert not MODEL_KEYS & set(row)


def test_the_reveal_follows_the_judgement_and_the_report_counts_it(client):
    from gradio_client.exceptions import AppError

    before = client.predict("validation", api_name="/audit_report")["decisions"]
    row = client.predict("validation", "uniform", api_name="/audit_next")
    with pytest.raises(AppError, match="needs the correct class"):
        client.predict(row["sample_id"], "uniform", "wrong", "", "no class given", "validation", "tester",
                       api_name="/audit_decide")
    other = next(label for label in LABELS if label != row["label"])
    shown = client.predict(row["sample_id"], "uniform", "wrong", other, "a test judgement", "validation", "tester",
                           api_name="/audit_decide")
    assert shown["judgement"] == "wrong" and shown["sample_id"] == row["sample_id"]
    assert shown["pred"] in LABELS and set(shown["probs"]) == set(LABELS)
    report = client.predict("validation", api_name="/audit_report")
    assert report["decisions"] == before + 1
    assert report["by_judgement"]["wrong"] >= 1
    assert client.predict("validation", "uniform", api_name="/audit_next")["sample_id"] != row["sample_id"]
