"""Blind audit through the app's API (``gradio_client`` against the served emotion-minilm app):
the server draws, nothing of the model reaches the caller before the judgement is stored, a token is
accepted once and only if the server issued it."""

from __future__ import annotations

import pytest

from tests.conftest import LABELS, needs_emotion, needs_minilm

pytestmark = [needs_minilm, needs_emotion, pytest.mark.server]

MODEL_KEYS = {"pred", "probs", "confidence", "loss", "mislabel_score", "label_quality", "suggested_label", "stratum",
              "ranking", "signals"}


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def test_a_draw_carries_a_token_the_text_and_given_label_only(client):
    row = client.predict("validation", "uniform", api_name="/audit_next")
    assert set(row) == {"token", "sample_id", "text", "label", "sampling"}
    assert row["label"] in LABELS and row["sampling"] == "uniform" and isinstance(row["text"], str)
    assert not MODEL_KEYS & set(row)


def test_the_reveal_follows_the_judgement_once_and_the_report_counts_it(client):
    from gradio_client.exceptions import AppError

    before = client.predict("validation", api_name="/audit_report")["decisions"]
    row = client.predict("validation", "uniform", api_name="/audit_next")
    with pytest.raises(AppError, match="not issued"):
        client.predict("0" * 32, "right", "", "", "validation", "tester", api_name="/audit_decide")
    with pytest.raises(AppError, match="needs the correct class"):
        client.predict(row["token"], "wrong", "", "no class given", "validation", "tester", api_name="/audit_decide")
    other = next(label for label in LABELS if label != row["label"])
    shown = client.predict(row["token"], "wrong", other, "a test judgement", "validation", "tester",
                           api_name="/audit_decide")
    assert shown["judgement"] == "wrong" and shown["sample_id"] == row["sample_id"]
    assert shown["pred"] in LABELS and set(shown["probs"]) == set(LABELS) and shown["ranking"]["of"] == 2000
    with pytest.raises(AppError, match="already used"):
        client.predict(row["token"], "right", "", "", "validation", "tester", api_name="/audit_decide")
    revised = client.predict(row["sample_id"], "ambiguous", "reread after the reveal", "", "validation", "tester",
                             api_name="/audit_revise")
    assert revised["judgement"] == "ambiguous"
    report = client.predict("validation", api_name="/audit_report")
    assert report["decisions"] == before + 1 and report["revised"] >= 1
    assert report["by_judgement"]["wrong"] >= 1  # the blind judgement counts, not the revision
    assert client.predict("validation", "uniform", api_name="/audit_next")["sample_id"] != row["sample_id"]
