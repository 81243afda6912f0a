"""The service the dashboard uses, on a tiny real model; text cleaning; the micro-batcher; settings."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from core.classifier.batcher import MicroBatcher
from core.classifier.model import length_batches
from core.data.text_input import InputError, clean_text
from core.services.emotion import EmotionService
from core.settings import Settings
from tests.conftest import LABELS, REPO, write_split_lines


@pytest.fixture(scope="module")
def service(tiny_model_dir, tmp_path_factory):
    folder = write_split_lines(tmp_path_factory.mktemp("svc-data"), "validation", 80,
                               extra=("broken line without label",))
    settings = Settings(model=str(tiny_model_dir), data=str(folder), cache_dir=tmp_path_factory.mktemp("svc-cache"))
    return EmotionService.load(settings, show_progress=False)


def test_load_reports_skipped_lines_and_metrics(service):
    assert len(service.table) == 80
    assert any("1 lines skipped" in w and "line 81" in w for w in service.warnings)
    assert 0 <= service.meta["accuracy"] <= 1 and service.labels == LABELS


def test_classify_matches_the_table(service):
    texts = service.table["text"].iloc[:5].tolist()
    results = service.classify(texts)
    for res, (_, row) in zip(results, service.table.iloc[:5].iterrows(), strict=True):
        assert res.label == row["pred"]
        assert np.allclose([res.probs[x] for x in LABELS], [row[f"prob_{x}"] for x in LABELS], atol=1e-5)


def test_concurrent_single_requests_share_batches_and_stay_correct(service):
    texts = [f"text number {i} is {'very ' * (i % 7)}happy" for i in range(48)]
    expected = [r.probs for r in service.classify(texts)]
    before = len(service.live.batcher.batch_sizes)
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda t: service.classify_one(t).probs, texts))
    for e, g in zip(expected, got, strict=True):
        assert np.allclose([e[x] for x in LABELS], [g[x] for x in LABELS], atol=1e-4)
    assert sum(service.live.batcher.batch_sizes[before:]) == len(texts)  # each request in exactly one batch


def test_bad_text_is_rejected_before_the_batch(service):
    with pytest.raises(InputError, match="empty"):
        service.classify_one(" \n\t ")
    assert service.classify_one("ok then").label in LABELS


def test_long_text_is_truncated_and_says_so(service):
    res = service.classify_one("word " * 30_000)
    assert any("characters" in n for n in res.notes)
    assert any("first" in n and "tokens" in n for n in res.notes)
    assert res.n_tokens == service.classifier.max_length


def test_explain_targets_the_prediction_or_a_chosen_label(service):
    exp = service.explain("i feel so happy and loved today")
    assert exp.target == exp.predicted == max(exp.probs, key=exp.probs.get)
    assert len(exp.tokens) == len(exp.values) > 3
    other = service.explain("i feel so happy and loved today", target="fear")
    assert other.target == "fear"
    assert not np.allclose(other.values, exp.values)
    with pytest.raises(InputError, match="unknown label"):
        service.explain("hello", target="boredom")


def test_explain_scores_faithfulness_only_when_asked(service):
    """Without ``faithful`` no faithfulness pass runs (no forward pass once the attribution is cached) and the
    attribute is None; with it, one more pass scores the explanation."""
    text = "i am so scared of the dark tonight"
    plain = service.explain(text)
    assert plain.faithfulness is None and service.live.explain(text).faithfulness is None
    forwards = []
    runs = getattr(service.classifier.backend, "model", service.classifier.model)  # the bf16 copy under bf16
    hook = runs.register_forward_hook(lambda *a: forwards.append(1))
    try:
        again = service.explain(text)
        assert again.faithfulness is None and forwards == []  # the attribution is cached: nothing else ran
        asked = service.explain(text, faithful=True)
    finally:
        hook.remove()
    assert forwards and asked.faithfulness is not None and asked.faithfulness.line()
    np.testing.assert_array_equal(asked.values, plain.values)


def test_neighbours_and_samples(service):
    nb = service.neighbours(0, k=5)
    assert len(nb) == 5 and 0 not in nb["sample_id"].tolist()
    assert (nb["similarity"].diff().dropna() <= 1e-9).all()
    assert service.sample(3)["sample_id"] == 3
    with pytest.raises(IndexError):
        service.sample(10_000)


@pytest.mark.parametrize(
    ("raw", "expected", "note"),
    [
        ("a\x00b\x07c", "abc", "control"),
        ("line one\nline two\ttab", "line one line two tab", None),
        ("bad \ud800 surrogate", "bad \ufffd surrogate", "surrogates"),
        ("😀", "😀", None),
        ("مرحبا hello שלום", "مرحبا hello שלום", None),
        ("x", "x", None),
    ],
)
def test_clean_text(raw, expected, note):
    out = clean_text(raw)
    assert out.text == expected
    assert (note is None and not out.notes) or any(note in n for n in out.notes)


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01", None])
def test_clean_text_rejects_empty(raw):
    with pytest.raises(InputError, match="empty"):
        clean_text(raw)


def test_batcher_passes_failures_to_every_caller_and_recovers():
    calls = []

    def fn(items):
        calls.append(list(items))
        if "boom" in items:
            raise RuntimeError("boom")
        return [i.upper() for i in items]

    b = MicroBatcher(fn, max_batch=4)
    assert b.submit("a") == "A"
    with pytest.raises(RuntimeError, match="boom"):
        b.submit("boom")
    assert b.submit("b") == "B"
    barrier = threading.Barrier(8)

    def call(x):
        barrier.wait()
        return b.submit(x)

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(call, "abcdefgh")) == list("ABCDEFGH")
    assert max(len(c) for c in calls) <= 4
    b.close()


def test_batcher_gathers_requests_that_wait_while_a_batch_runs():
    running, release = threading.Event(), threading.Event()

    def fn(items):
        running.set()
        release.wait(60)
        return [i.upper() for i in items]

    b = MicroBatcher(fn, max_batch=4)
    with ThreadPoolExecutor(7) as pool:
        first = pool.submit(b.submit, "a")
        assert running.wait(60)  # the worker is inside the first batch
        rest = [pool.submit(b.submit, x) for x in "bcdefg"]
        while b._queue.qsize() < 6:  # all six queued behind it
            threading.Event().wait(0.01)
        release.set()
        assert [first.result(60), *(f.result(60) for f in rest)] == list("ABCDEFG")
    assert b.batch_sizes == [1, 4, 2]  # the waiting six ran as full batches, not one by one
    b.close()


def _padded_cost(lengths, batches, overhead):
    return sum(overhead + len(b) * max(lengths[i] for i in b) for b in batches)


@pytest.mark.parametrize("seed", range(5))
def test_length_batches_cover_every_row_once_at_no_more_than_fixed_chunks_cost(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 90, size=int(rng.integers(1, 70))).tolist()
    batches = length_batches(lengths, batch_size=16, overhead_tokens=32)
    assert sorted(i for b in batches for i in b.tolist()) == list(range(len(lengths)))
    assert all(1 <= len(b) <= 16 for b in batches)
    order = np.argsort(-np.asarray(lengths), kind="stable")
    fixed = [order[i:i + 16] for i in range(0, len(lengths), 16)]
    assert _padded_cost(lengths, batches, 32) <= _padded_cost(lengths, fixed, 32)


def test_length_batches_give_a_long_text_its_own_pass_and_keep_equal_lengths_together():
    assert [len(b) for b in length_batches([80] + [6] * 7, batch_size=8)] == [1, 7]
    assert len(length_batches([12] * 8, batch_size=8)) == 1


@pytest.mark.parametrize("seed", range(3))
def test_length_batches_cap_the_padded_tokens_of_a_pass(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 512, size=400)
    batches = length_batches(lengths, batch_size=256, max_tokens=4096)
    assert sorted(i for b in batches for i in b.tolist()) == list(range(len(lengths)))
    # every pass holds at most 4,096 padded tokens, unless a single text is longer on its own
    assert all(len(b) * lengths[b].max() <= 4096 or len(b) == 1 for b in batches)
    assert max(len(b) for b in length_batches(np.full(600, 8), batch_size=256, max_tokens=4096)) == 256


def test_settings_from_flags_and_environment(tmp_path):
    env = {"EMOTION_MODEL": "m-from-env", "EMOTION_CACHE_DIR": str(tmp_path), "GRADIO_SERVER_NAME": "0.0.0.0"}
    s = Settings.from_sources(["--data", "d-from-flag"], env=env)
    assert (s.model, s.data, s.cache_dir, s.host) == ("m-from-env", "d-from-flag", tmp_path, "0.0.0.0")
    assert s.review_db_path == tmp_path / "reviews.sqlite"
    with pytest.raises(SystemExit):
        Settings.from_sources(["--batch-size", "many"], env={})


def test_importing_dashboard_and_core_loads_no_model_libraries():
    code = ("import sys, dashboard, core.services.emotion, dashboard.figures, dashboard.queries;"
            "bad = [m for m in ('torch', 'transformers', 'gradio', 'shap', 'umap') if m in sys.modules];"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_review_queue_is_the_sorted_filtered_table_and_limit_takes_its_head(service):
    table = service.table
    given = table["label"].value_counts().index[0]
    want = table[(table["label"] == given) & table["confidence"].between(0.0, 1.0)].sort_values(
        "mislabel_score", ascending=False, kind="stable", na_position="last")
    queue = service.review_queue(given=given)
    assert queue.index.tolist() == want.index.tolist() and queue.attrs["rank_by"] == "mislabel_score"
    head = service.review_queue(given=given, limit=3, exclude=[int(want.index[0])])
    assert head.index.tolist() == want.index[1:4].tolist()
    assert service.review_queue(limit=0).empty


def test_neighbours_equal_cosine_nearest_neighbours(service):
    from sklearn.neighbors import NearestNeighbors

    hidden = np.asarray(service.hidden, dtype=np.float64)
    dist, idx = NearestNeighbors(metric="cosine").fit(hidden).kneighbors(hidden[[7]], n_neighbors=6)
    want = [int(i) for i in idx[0] if i != 7][:5]
    nb = service.neighbours(7, k=5)
    assert nb["sample_id"].tolist() == want
    np.testing.assert_allclose(nb["similarity"], np.round(1 - dist[0][idx[0] != 7][:5], 3), atol=1e-3)
