"""The dashboard's public API through ``gradio_client``, against the app served on emotion-minilm.

``/classify`` is checked against the model run directly in PyTorch fp32 (``core.classifier.model.load_classifier``,
no ``EmotionService``), within the tolerance of the app's inference backend (``auto``: bf16 on a CPU
with native bf16, whose probabilities move by up to ``REDUCED_TOLERANCE`` and whose predicted class
may not change on the probe), ``/explain`` against the words of the text, bad input against a clear error,
and concurrent callers against sequential ones.
"""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.conftest import LABELS, MINILM, app_tolerance, needs_emotion, needs_minilm

pytestmark = [needs_minilm, needs_emotion]

TEXTS = [
    "I saw a movie today and it was really good",
    "my hands are shaking and my heart is pounding, I have to speak in front of the whole crowd",
    "I worked on this project for weeks and my boss just tossed it aside",
    "i feel so lonely and empty since she left",
    "I absolutely adore my new phone, it is perfect in every way",
    "wow i did not expect that at all",
]


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def classifier():
    from core.classifier.model import load_classifier

    return load_classifier(MINILM)


def confidences(result: dict) -> dict[str, float]:
    """``{label: probability}`` from a ``gr.Label`` value as the client returns it."""
    assert set(result) >= {"label", "confidences"}, result
    return {c["label"]: float(c["confidence"]) for c in result["confidences"]}


def test_api_lists_classify_and_explain(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert "/classify" in endpoints and "/explain" in endpoints


def test_classify_matches_the_model_run_directly(client, classifier):
    assert classifier.labels == LABELS
    direct = classifier.predict(TEXTS).probs
    for text, expected in zip(TEXTS, direct, strict=True):
        result = client.predict(text, api_name="/classify")
        probs = confidences(result)
        assert set(probs) == set(LABELS)
        assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-4)
        got = np.array([probs[name] for name in LABELS])
        np.testing.assert_allclose(got, expected, atol=app_tolerance(), err_msg=text)
        assert result["label"] == LABELS[int(np.argmax(expected))]
        assert result["label"] == max(probs, key=probs.get)


def test_explain_gives_the_faithfulness_line_only_when_asked(client):
    """A caller pays only for what it asks: ``faithful`` (the third value) adds the line, by default it is empty."""
    plain = client.predict(TEXTS[2], "predicted class", api_name="/explain")
    asked = client.predict(TEXTS[2], "predicted class", True, api_name="/explain")
    assert plain[3] == "" and asked[3].startswith("faithfulness: removing its top ")
    assert plain[2].split(";")[0] == asked[2].split(";")[0]  # the same class and probability either way
    assert plain[0] == asked[0]


def test_explain_highlights_every_word(client):
    text = TEXTS[0]
    highlighted, plot, status, faith = client.predict(text, "predicted class", True, api_name="/explain")
    assert re.match(rf"^faithfulness: removing its top (word|\d+ words) \(.+\): ({'|'.join(LABELS)}) \d+% → \d+% · "
                    r"comprehensiveness -?\d\.\d\d \(random words -?\d\.\d\d\) · sufficiency -?\d\.\d\d", faith)
    tokens = [item["token"] for item in highlighted]
    scores = [item["class_or_confidence"] for item in highlighted if item["token"].strip()]
    assert "".join(tokens) == text  # the words as typed, and the spaces between them
    assert [t for t in tokens if t.strip()] == text.split()
    assert all(isinstance(s, float) and -1.0 <= s <= 1.0 for s in scores)
    assert max(abs(s) for s in scores) == pytest.approx(1.0)  # scaled by the largest attribution
    assert re.match(rf"^({'|'.join(LABELS)}) \(predicted: ({'|'.join(LABELS)}), p=0\.\d{{3}}\); 10 tokens in ", status)
    assert plot and plot.get("type") == "plotly"


def test_probe_lists_edits_with_their_predictions(client):
    table = client.predict(TEXTS[0], api_name="/probe")
    rows = table["data"]
    headers = table["headers"]
    assert headers[:3] == ["edit", "edited text", "prediction after the edit"] and headers[-1] == "prediction changed"
    assert re.fullmatch(rf"p\(({'|'.join(LABELS)})\) after \(%\)", headers[3])  # names the class predicted before
    edits = [r[0] for r in rows]
    assert "two typos" in edits and "negation" in edits and any(e.startswith("top word removed") for e in edits)
    assert all(r[2] in LABELS for r in rows if r[0] != "(left out)")
    # emotion-minilm's tokenizer is uncased and reads every emoji as its unknown token: said, not repeated
    assert "upper case" not in edits and sum(e.startswith("emoji") for e in edits) == 1
    assert any("upper case is left out" in r[1] for r in rows if r[0] == "(left out)")


def test_explain_toward_a_chosen_class(client):
    _, _, status, faith = client.predict(TEXTS[1], "surprise", True, api_name="/explain")
    assert status.startswith("surprise (predicted: ")
    assert ": surprise " in faith  # the line scores the explained class, not the predicted one


@pytest.mark.parametrize("api_name, args", [("/classify", ("",)), ("/classify", ("   \n\t ",)),
                                            ("/explain", ("", "predicted class"))])
def test_empty_text_is_a_clear_error(client, api_name, args):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict(*args, api_name=api_name)
    message = str(info.value)
    assert "empty" in message.lower()
    assert "Traceback" not in message and "File \"" not in message


def test_concurrent_classify_equals_sequential(app_url, client):
    from gradio_client import Client

    texts = TEXTS[:5]
    sequential = {t: client.predict(t, api_name="/classify") for t in texts}

    def worker(k: int) -> list[tuple[str, dict]]:
        own = Client(app_url, verbose=False)
        order = texts[k % len(texts):] + texts[:k % len(texts)]
        return [(t, own.predict(t, api_name="/classify")) for t in order]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [pair for batch in pool.map(worker, range(8)) for pair in batch]
    assert len(results) == 8 * 5
    for text, result in results:
        assert result["label"] == sequential[text]["label"], text
        got, want = confidences(result), confidences(sequential[text])
        assert set(got) == set(want)
        for name in want:
            # fp32: batching never moves a probability; bf16 rounds differently with the batch's padding
            assert got[name] == pytest.approx(want[name], abs=app_tolerance(batching=True)), (text, name)
