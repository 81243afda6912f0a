"""Shared fixtures: paths to ../shared, tiny real models, and one running app per test session.

Process and HTTP helpers (free ports, starting and stopping the app, Gradio's streaming API) are in
``bench/harness.py``, shared with the benchmarks.

Tests that need ../shared skip with a clear reason where it is absent.

Markers come from the fixtures a test uses (:func:`pytest_collection_modifyitems`), so a new test is
tiered by what it starts: a real app server (``server``), a browser (``browser``), a local Ray (``ray``)
or the full MiniLM analysis each imply ``slow``; ``python -m pytest -m "not slow"`` is the fast tier.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.harness import DISTILBERT, EMOTION, LABELS, MINILM, SHARED, start_app, stop_app, wait_for_http
from bench.harness import ROOT as REPO
from tests.xdist_groups import write_worker_groups

# Paths the tests import from here (defined once in bench/harness.py, which the benchmarks share).
__all__ = ["DISTILBERT", "EMOTION", "LABELS", "MINILM", "REPO", "SHARED", "app_tolerance"]

needs_emotion = pytest.mark.skipif(not EMOTION.is_dir(), reason="../shared/emotion is absent")
needs_minilm = pytest.mark.skipif(not (MINILM / "model.safetensors").is_file(),
                                  reason="../shared/models/emotion-minilm is absent")
needs_distilbert_tokenizer = pytest.mark.skipif(not (DISTILBERT / "vocab.txt").is_file(),
                                                reason="../shared/models/distilbert-base-uncased is absent")


# Fixtures that start a real app server; any other fixture named ``*_app``, ``*_url`` or ``*_server``
# counts too (tests/app, tests/browser and tests/hardening name theirs that way), except those in
# IN_PROCESS (an app built and called in this process, never served).
SERVER_FIXTURES = frozenset({"app_url", "hostile_app", "loop_app", "space_url", "password_server", "zoom_app"})
SERVER_NAME = re.compile(r"(^|_)(app|url|server)$")
IN_PROCESS = frozenset({"login_app"})
# Fixtures that start a browser, a local Ray, or build the full MiniLM analysis (minutes on 2 cores).
FIXTURE_MARKS = {"browser": ("browser",), "local_ray": ("ray",), "minilm_cache_dir": ()}
IMPLIES_SLOW = ("server", "browser", "ray")


def tier_marks(fixtures: list[str], marked: set[str]) -> set[str]:
    """The markers a test gets from its ``fixtures`` (the closure) and the markers it has already.

    >>> sorted(tier_marks(["tmp_path", "page", "browser", "app_url"], set()))
    ['browser', 'server', 'slow']
    >>> sorted(tier_marks(["login_app", "tiny_model_dir"], {"train"}))
    ['train']
    >>> sorted(tier_marks(["minilm_cache_dir"], set()))
    ['slow']
    """
    marks = set(marked)
    for name in fixtures:
        if name in SERVER_FIXTURES or (SERVER_NAME.search(name) and name not in IN_PROCESS):
            marks.add("server")
        if name in FIXTURE_MARKS:
            marks.update(FIXTURE_MARKS[name] or ("slow",))
    if marks & set(IMPLIES_SLOW):
        marks.add("slow")
    return marks


# The session-scoped servers, each built once per pytest-xdist worker that asks for it: every test that uses one
# runs on one worker (``--dist loadgroup`` in pyproject.toml), in the group of the first one named here.
SESSION_GROUPS = {"app_url": "minilm-app", "minilm_cache_dir": "minilm-app", "loop_app": "loop-app",
                  "space_url": "space-app", "hostile_app": "hostile-app"}


def xdist_group(fixtures: list[str], path: str, *, module_scoped: bool) -> str | None:
    """The pytest-xdist group a test runs in: that of the session server it uses (:data:`SESSION_GROUPS`), else
    its file's where it uses a module- or class-scoped fixture (built once, on one worker), else none (the test
    goes to whichever worker is free).

    >>> xdist_group(["browser", "space_url", "app_url"], "tests/browser/test_live.py", module_scoped=False)
    'minilm-app'
    >>> xdist_group(["tmp_path", "zoom_app"], "tests/browser/test_map_zoom_browser.py", module_scoped=True)
    'tests/browser/test_map_zoom_browser.py'
    >>> xdist_group(["tmp_path", "tiny_model_dir"], "tests/core/test_train.py", module_scoped=False) is None
    True
    """
    for name, group in SESSION_GROUPS.items():
        if name in fixtures:
            return group
    return path if module_scoped else None


def uses_module_scoped_fixture(item) -> bool:
    """Whether ``item`` uses a fixture shared by the tests of its module or class."""
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.values() if info is not None else ()
    return any(d and d[-1].scope in ("module", "class", "package") for d in defs)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker, and before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test by what its fixtures start (see :func:`tier_marks`) and group it for pytest-xdist
    (:func:`xdist_group`)."""
    for item in items:
        marked = {m.name for m in item.iter_markers()}
        fixtures = list(getattr(item, "fixturenames", ()))
        for name in sorted(tier_marks(fixtures, marked) - marked):
            item.add_marker(getattr(pytest.mark, name))
        group = xdist_group(fixtures, item.nodeid.split("::")[0], module_scoped=uses_module_scoped_fixture(item))
        if group and "xdist_group" not in marked:
            item.add_marker(pytest.mark.xdist_group(group))
    write_worker_groups(config, items)


OFFLINE_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "HF_DATASETS_OFFLINE": "1", "GRADIO_ANALYTICS_MAX_EVENTS": "1000",
               "GRADIO_ANALYTICS_CACHE_FREQUENCY": "100"}


def run_main(main, args: list[str], *, name: str = "main") -> subprocess.CompletedProcess:
    """A command-line ``main(args)`` in this process, as its ``python -m ...`` would run offline and without
    ``EMOTION_*`` variables: its exit code and what it wrote to stdout and to stderr, log lines included.

    Cheaper than a fresh interpreter (no second import of torch, transformers and gradio); each entry point
    keeps one real subprocess run in the slow tier. ``SystemExit`` (argparse's usage errors, a ``sys.exit``
    with a message) gives its code, as the interpreter would; any other exception escaping ``main`` (a stack
    trace, in a real run) fails the calling test.

    >>> run_main(lambda argv: print("hi", argv) or 3, ["x"])
    CompletedProcess(args=['main', 'x'], returncode=3, stdout="hi ['x']\\n", stderr='')
    """
    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))  # the CLIs' basicConfig format
    root = logging.getLogger()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for key in [k for k in os.environ if k.startswith("EMOTION_")]:
            mp.delenv(key)
        for key, value in OFFLINE_ENV.items():
            mp.setenv(key, value)
        root.addHandler(handler)
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int) and exc.code is not None:
                print(exc.code, file=sys.stderr)
        finally:
            root.removeHandler(handler)
    return subprocess.CompletedProcess([name, *args], code, out.getvalue(), err.getvalue())


def app_main(args: list[str]) -> subprocess.CompletedProcess:
    """``app.main(args)`` in this process (:func:`run_main`), as ``python app.py <args>`` would run.

    For the fail-fast cases (bad data, model, paths) that stop before serving.
    """
    import app

    return run_main(app.main, args, name="app.py")


def split_lines(split: str, n: int) -> list[str]:
    """The first ``n`` ``text;label`` lines of ../shared/emotion's ``split``, or ``n`` synthetic lines
    (every label present, text that varies) where ../shared is absent."""
    if EMOTION.is_dir():
        return (EMOTION / f"{split}.txt").read_text().splitlines()[:n]
    return [f"i feel tweet {i} about {LABELS[(i * 5) % 6]} things;{LABELS[i % 6]}" for i in range(n)]


def app_tolerance(*, batching: bool = False) -> float:
    """How far the app's probabilities may be from PyTorch fp32: its default backend's probe tolerance
    (``auto`` is bf16 on a CPU with native bf16).  ``batching``: the same backend, one text alone against
    that text in a batch (fp32: no difference; bf16 rounds with the batch's padding, within 1e-2)."""
    from core.classifier.backends import FP32_TOLERANCE, resolve, tolerance_for
    from core.settings import Settings

    tol = tolerance_for(resolve(Settings().backend)[0])
    return min(tol, 1e-2) if batching and tol > FP32_TOLERANCE else tol


def tiny_service(model_dir: Path, tmp_path_factory, name: str, rows: int, split: str = "validation", **kw):
    """An ``EmotionService`` on ``rows`` lines of ``split`` (:func:`split_lines`), with its own data, cache and
    review database folders named after ``name``; ``kw`` go to ``Settings``."""
    from core.services.emotion import EmotionService
    from core.settings import Settings

    folder = write_split_lines(tmp_path_factory.mktemp(f"{name}-data"), split, rows)
    settings = Settings(model=str(model_dir), data=str(folder), split=split,
                        cache_dir=tmp_path_factory.mktemp(f"{name}-cache"),
                        review_db=str(tmp_path_factory.mktemp(f"{name}-db") / "reviews.sqlite"), **kw)
    return EmotionService.load(settings, show_progress=False)


def write_split_lines(folder: Path, split: str, n: int, *, extra: tuple[str, ...] = ()) -> Path:
    """A data folder holding ``split.txt`` with :func:`split_lines` (and ``extra`` lines after them)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}.txt").write_text("\n".join([*split_lines(split, n), *extra]) + "\n")
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny randomly initialised BERT classifier with the real DistilBERT tokenizer, saved to disk."""
    if not (DISTILBERT / "vocab.txt").is_file():
        pytest.skip("../shared/models/distilbert-base-uncased is absent (tokenizer for the tiny model)")
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(DISTILBERT)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=128, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)})
    model = BertForSequenceClassification(config).eval()
    out = tmp_path_factory.mktemp("tiny-model")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def minilm_cache_dir(tmp_path_factory) -> Path:
    """A cache folder holding the full validation analysis of emotion-minilm (built once per session)."""
    if not (MINILM / "model.safetensors").is_file() or not EMOTION.is_dir():
        pytest.skip("../shared/models/emotion-minilm or ../shared/emotion is absent")
    cache = tmp_path_factory.mktemp("minilm-cache")
    subprocess.run([sys.executable, "-m", "core.analysis.precompute", "--model", str(MINILM), "--data", str(EMOTION),
                    "--cache-dir", str(cache)], cwd=REPO, check=True, capture_output=True, text=True)
    return cache


#: The log file of each app server a session fixture started, by URL: a failing test that used one
#: shows the log's tail (an exception in a handler is printed there, not in the test).
APP_LOGS: dict[str, Path] = {}
LOG_TAIL_LINES = 60


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    url = getattr(item, "funcargs", {}).get("app_url")
    if report.failed and url in APP_LOGS and APP_LOGS[url].is_file():
        tail = APP_LOGS[url].read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        report.sections.append(("app server log (tail)", "\n".join(tail)))


@pytest.fixture(scope="session")
def app_url(minilm_cache_dir, tmp_path_factory) -> str:
    """The dashboard on emotion-minilm, served on localhost for the whole session."""
    folder = tmp_path_factory.mktemp("app")
    log = folder / "app.log"
    proc, url = start_app(MINILM, EMOTION, minilm_cache_dir, log, review_db=folder / "reviews.sqlite")
    APP_LOGS[url] = log
    try:
        wait_for_http(url, proc, log=log, timeout=300)
        yield url
    finally:
        stop_app(proc)


@pytest.fixture(scope="session")
def space_url(tmp_path_factory, tiny_model_dir):
    """The dashboard as on a Space (``SPACE_ID`` set: login access, no sync target) on the tiny model and 60 rows,
    one server for the session: the Space's review tab and the robustness report (it builds in seconds here)."""
    if not EMOTION.is_dir():
        pytest.skip("../shared/emotion is absent")
    from tests.app.space_server import small_data, start_app

    folder = tmp_path_factory.mktemp("space-browser")
    server = start_app(tiny_model_dir, small_data(folder / "data"), folder / "cache",
                       env={"SPACE_ID": "ana/emotion-lens"})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    """One headless Debian chromium for the whole session, shared by every browser test.

    Playwright's sync API allows one instance per process, so this lives here rather than in
    each folder. Skips with a clear reason where playwright or /usr/bin/chromium is missing.
    """
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, browser_missing

    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# The annotation-loop app (two tiny models, a train split with known flips), one per session for every
# test that asks for it; imported last because tests.loop_app reads the names above.
from tests.loop_app import loop_app, loop_models  # noqa: E402, F401

# ``--dist loadgroup`` (pyproject.toml) with the groups set above, on a pytest whose node ids pytest-xdist cannot
# suffix (tests/xdist_groups.py).
from tests.xdist_groups import pytest_configure, pytest_unconfigure, pytest_xdist_make_scheduler  # noqa: E402, F401
