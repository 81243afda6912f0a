"""Hostile text for classify and explain: in the service, through the API of the MiniLM app, and through
the API of the tiny-model app (whose log is checked for stack traces).

Every input gets a sensible answer or a clear message (``InputError`` in the service, ``AppError`` with
that message through the API), never a stack trace, and a normal request still succeeds afterwards.
"""

from __future__ import annotations

import math
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bench.harness import sse_call
from core.data.text_input import MAX_CHARS, InputError
from core.services.emotion import EmotionService
from core.settings import Settings
from tests.conftest import LABELS, needs_emotion, needs_minilm
from tests.hardening.conftest import write_split

LONG = "i am so happy today " * 5_000  # 100,000 characters
HTML = ('<img src=x onerror="window.__pwned=1"><script>alert(1)</script> **bold** _it_ '
        "[link](javascript:alert(1)) <b>i feel great</b> &amp; &lt;")
RTL = "أنا سعيد جدا today שלום עולם 你好 ok \u202eevil\u202c"
CONTROL = "i am\x00 so\x07 happy\x1b[31m today\x7f\x85"
INPUTS = {
    "empty": "",
    "whitespace": " \t\n\r  \u00a0\u3000 ",
    "one character": "a",
    "single emoji": "😀",
    "100,000 characters": LONG,
    "NUL and control characters": CONTROL,
    "right-to-left and mixed scripts": RTL,
    "lone surrogates": "i am \ud800 happy \udfff",
    "HTML, script and markdown": HTML,
    "invisible characters only": "\u200b\ufeff\u200b",
}
EMPTY = ("empty", "whitespace")
NORMAL = "I saw a movie today and it was really good"
EMPTY_MESSAGE = "Type some text to classify: the input is empty."
NOTHING_TO_EXPLAIN = "Nothing to explain"
PREDICTED = "predicted class"
assert len(LONG) == 100_000


def pieces_text(tokens: list[str]) -> str:
    """Word pieces glued back together (``##`` continuations joined)."""
    return "".join(t[2:] if t.startswith("##") else t for t in tokens)


# ---- the service ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def service(tiny_model_dir, tmp_path_factory) -> EmotionService:
    """The real service on the tiny model; three rows of data, so the analysis is quick."""
    root = tmp_path_factory.mktemp("text-inputs")
    settings = Settings(model=str(tiny_model_dir), data=str(write_split(root / "data", 3)),
                        cache_dir=root / "cache", review_db=root / "reviews.sqlite")
    return EmotionService.load(settings, show_progress=False)


@pytest.mark.parametrize("name", EMPTY)
def test_service_rejects_empty_text_with_a_clear_message(service, name):
    with pytest.raises(InputError, match=re.escape(EMPTY_MESSAGE)):
        service.classify_one(INPUTS[name])
    with pytest.raises(InputError, match=re.escape(EMPTY_MESSAGE)):
        service.explain(INPUTS[name])


@pytest.mark.parametrize("value", [None, 12, b"bytes", ["a list"]])
def test_service_rejects_non_text(service, value):
    with pytest.raises(InputError):
        service.classify_one(value)
    with pytest.raises(InputError):
        service.explain(value)


def check_classification(res, labels=LABELS) -> None:
    assert res.label in labels
    assert set(res.probs) == set(labels)
    assert math.isclose(sum(res.probs.values()), 1.0, abs_tol=1e-4)
    assert res.label == max(res.probs, key=res.probs.get)


@pytest.mark.parametrize("name", [n for n in INPUTS if n not in EMPTY])
def test_service_answers_every_non_empty_input(service, name):
    raw = INPUTS[name]
    res = service.classify_one(raw)
    check_classification(res)
    res.text.encode("utf-8")  # always valid UTF-8 (no lone surrogates left)
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", res.text)
    max_len = service.classifier.max_length
    if name == "invisible characters only":
        assert res.n_tokens == 2  # [CLS] [SEP]: the model's answer for "nothing", which it reports
        with pytest.raises(InputError, match=NOTHING_TO_EXPLAIN):
            service.explain(raw)
        return
    exp = service.explain(raw)
    assert exp.predicted in LABELS and exp.target == exp.predicted
    assert len(exp.tokens) == len(exp.values) and np.all(np.isfinite(exp.values))
    assert math.isclose(sum(exp.probs.values()), 1.0, abs_tol=1e-3)
    if name == "one character":
        assert exp.tokens == ["a"] and res.n_tokens == 3
    elif name == "single emoji":
        assert res.n_tokens == 3  # [CLS] [UNK] [SEP]
        assert exp.tokens == []  # [UNK] is not a word to explain; the view says "no tokens to explain"
    elif name == "100,000 characters":
        assert f"text cut from {len(LONG.strip()):,} to {MAX_CHARS:,} characters" in res.notes
        assert f"the model read only the first {max_len} tokens" in res.notes
        assert res.n_tokens == max_len and len(res.text) == MAX_CHARS
        # the tiny model has 128 positions: 126 tokens besides [CLS] and [SEP] (the setting says 128)
        assert service.explainer.max_tokens == min(service.settings.explain_max_tokens, max_len - 2) == 126
        assert len(exp.tokens) == 126 and "explained the first 126 tokens only" in exp.notes
        assert any("text cut" in n for n in exp.notes)
    elif name == "NUL and control characters":
        assert res.text == "i am so happy[31m today"
        assert "5 control characters removed" in res.notes and res.notes == exp.notes
        assert pieces_text(exp.tokens) == "iamsohappy[31mtoday"
    elif name == "right-to-left and mixed scripts":
        assert res.text == unicodedata.normalize("NFC", RTL) and not res.notes
        assert len(exp.tokens) >= 8
    elif name == "lone surrogates":
        assert res.text == "i am \ufffd happy \ufffd"
        assert any("lone surrogates" in n for n in res.notes)
        assert {"i", "am", "happy"} <= set(exp.tokens)
    elif name == "HTML, script and markdown":
        assert res.text == HTML and not res.notes  # kept literally: escaping is the views' job
        assert pieces_text(exp.tokens) == re.sub(r"\s+", "", HTML.lower())


def test_service_serves_normal_requests_among_hostile_ones(service):
    """Hostile and normal texts at once from 16 threads: every normal answer equals a lone call."""
    normal = [f"{NORMAL} number {i}" for i in range(24)]
    expected = {t: service.classify([t])[0].probs for t in normal}
    mixed = [t for pair in zip(normal, list(INPUTS.values()) * 3, strict=False) for t in pair]

    def call(text):
        try:
            return text, service.classify_one(text)
        except InputError as exc:
            return text, exc

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, mixed, timeout=120))
    for text, res in results:
        if text in expected:
            got = np.array([res.probs[x] for x in LABELS])
            np.testing.assert_allclose(got, [expected[text][x] for x in LABELS], atol=1e-4)
        elif isinstance(res, InputError):
            assert text.strip() == "" or "empty" in str(res)
    with ThreadPoolExecutor(1) as pool:  # the batcher's worker is alive and quick
        assert pool.submit(service.classify_one, NORMAL).result(timeout=30).label in LABELS


# ---- the API -------------------------------------------------------------------------------------

def confidences(result: dict) -> dict[str, float]:
    return {c["label"]: float(c["confidence"]) for c in result["confidences"]}


def check_no_trace(message: str) -> None:
    assert "Traceback" not in message and 'File "' not in message, message


@needs_minilm
@needs_emotion
class TestMiniLMApi:
    """``/classify`` and ``/explain`` of the MiniLM dashboard (gradio_client and raw JSON)."""

    @pytest.fixture(scope="class")
    def client(self, app_url):
        from gradio_client import Client

        return Client(app_url, verbose=False)

    @pytest.mark.parametrize("name", EMPTY)
    def test_empty_text_is_a_clear_error(self, client, name):
        from gradio_client.exceptions import AppError

        for args, api in (((INPUTS[name],), "/classify"), ((INPUTS[name], PREDICTED), "/explain")):
            with pytest.raises(AppError) as info:
                client.predict(*args, api_name=api)
            assert str(info.value) == EMPTY_MESSAGE
            check_no_trace(str(info.value))

    @pytest.mark.parametrize("name", [n for n in INPUTS if n not in EMPTY and n != "lone surrogates"])
    def test_classify_answers(self, client, name):
        result = client.predict(INPUTS[name], api_name="/classify")
        probs = confidences(result)
        assert set(probs) == set(LABELS) and result["label"] == max(probs, key=probs.get)
        assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-4)

    @pytest.mark.parametrize("name", ["one character", "single emoji", "NUL and control characters",
                                      "right-to-left and mixed scripts", "invisible characters only"])
    def test_explain_answers_or_says_why_not(self, client, name):
        from gradio_client.exceptions import AppError

        if name == "invisible characters only":
            with pytest.raises(AppError, match=NOTHING_TO_EXPLAIN) as info:
                client.predict(INPUTS[name], PREDICTED, api_name="/explain")
            check_no_trace(str(info.value))
            return
        highlighted, plot, status, _ = client.predict(INPUTS[name], PREDICTED, api_name="/explain")
        assert re.match(rf"^({'|'.join(LABELS)}) \(predicted: ", status), status
        words = [item["token"] for item in highlighted if item["token"].strip()]
        if name == "single emoji":  # shown as typed, with no attribution ([UNK] is not explained)
            assert words == ["😀"] and "; 0 tokens in " in status
            assert all(item["class_or_confidence"] is None for item in highlighted)
            assert "no tokens to explain" in plot["plot"]
        elif name == "NUL and control characters":
            assert status.endswith("; 5 control characters removed")
            assert "".join(words) == "iamsohappy[31mtoday"
        else:
            assert words

    def test_long_text_is_cut_to_what_the_model_reads(self, client):
        """100,000 characters answer like their first 20,000 (the model reads 512 tokens of either)."""
        whole = confidences(client.predict(LONG, api_name="/classify"))
        cut = confidences(client.predict(LONG[:MAX_CHARS], api_name="/classify"))
        for name in LABELS:
            assert whole[name] == pytest.approx(cut[name], abs=1e-4)

    def test_lone_surrogates_in_raw_json(self, app_url):
        body = b'{"data": ["i am \\ud800 so happy \\udfff"]}'  # JSON escapes: lone surrogates, valid JSON
        event, data = sse_call(app_url, "classify", body)
        assert event == "complete", data
        assert data[0]["label"] in LABELS and math.isclose(sum(confidences(data[0]).values()), 1.0, abs_tol=1e-4)
        event, data = sse_call(app_url, "explain", b'{"data": ["i am \\ud800 so happy", "predicted class", true]}')
        assert event == "complete", data
        highlighted, _, status, faithfulness = data
        assert faithfulness.startswith("faithfulness:"), faithfulness
        assert "lone surrogates" in status
        assert {"i", "am", "so", "happy"} <= {t["token"] for t in highlighted}

    def test_a_normal_request_after_the_hostile_ones_gets_the_models_own_answer(self, client):
        """After every hostile input the server still answers a plain text exactly as the model does."""
        from core.classifier.model import load_classifier
        from tests.conftest import MINILM, app_tolerance

        result = client.submit(NORMAL, api_name="/classify").result(timeout=60)
        reference = load_classifier(MINILM, data_labels=LABELS, backend="torch").predict([NORMAL]).probs[0]
        served = confidences(result)
        assert max(abs(served[name] - float(p)) for name, p in zip(LABELS, reference, strict=True)) <= app_tolerance()
        assert result["label"] == LABELS[int(np.argmax(reference))]
        status = client.submit(NORMAL, PREDICTED, api_name="/explain").result(timeout=120)[2]
        assert status.startswith(result["label"])  # the class explained is the one predicted


def test_tiny_app_answers_every_input_and_logs_no_stack_trace(hostile_app):
    """Every input through both endpoints of the tiny-model app (cheap enough to explain 100,000 characters)."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(hostile_app.url, verbose=False)
    for name, text in INPUTS.items():
        if name == "lone surrogates":
            continue  # gradio_client cannot encode them; sent as raw JSON below
        for args, api in (((text,), "/classify"), ((text, PREDICTED), "/explain")):
            try:
                out = client.submit(*args, api_name=api).result(timeout=120)
            except AppError as exc:
                assert name in EMPTY or (api == "/explain" and name == "invisible characters only"), (name, exc)
                check_no_trace(str(exc))
                continue
            if api == "/explain" and name == "100,000 characters":
                assert "text cut from" in out[2] and "explained the first 126 tokens only" in out[2], out[2]
    event, data = sse_call(hostile_app.url, "explain", b'{"data": ["\\udc00 sad \\ud83d", "predicted class", false]}')
    assert event == "complete" and "lone surrogates" in data[2]
    assert client.submit(NORMAL, api_name="/classify").result(timeout=30)["label"] in LABELS
    log = hostile_app.output()
    assert "Traceback" not in log, log[-3000:]
