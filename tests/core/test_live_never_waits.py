"""Live classification waits on no other work (issue 26, item 7): not while an explainer is being built,
nor while a report (calibration, robustness, compare) is being built.

The slow work is held open with events (no timing): while it is held, a classification on another
thread must finish.
"""

from __future__ import annotations

import threading

import pytest

from tests.conftest import tiny_service

WAIT_S = 120  # generous: a liveness bound on a loaded machine, not a timing


@pytest.fixture(scope="module")
def service(tiny_model_dir, tmp_path_factory):
    return tiny_service(tiny_model_dir, tmp_path_factory, "never-waits", 30)


def classified_meanwhile(service) -> bool:
    """Whether ``classify_one`` finishes on another thread (within :data:`WAIT_S`)."""
    answers = []
    worker = threading.Thread(target=lambda: answers.append(service.live.classify_one("i am so happy today")))
    worker.start()
    worker.join(WAIT_S)
    return bool(answers) and answers[0].label in service.labels


def test_classify_while_an_explainer_is_being_built(service):
    with service.live._explainer_lock:  # noqa: SLF001 - what building an explainer holds
        assert classified_meanwhile(service)


def test_classify_while_a_report_is_being_built(service):
    started, release = threading.Event(), threading.Event()

    def held_build():
        started.set()
        assert release.wait(WAIT_S)
        return "report"

    builder = threading.Thread(target=lambda: service.analyses._calibration.get(("model", "held"), held_build))  # noqa: SLF001
    builder.start()
    try:
        assert started.wait(WAIT_S)
        assert classified_meanwhile(service)
        assert service.analyses.calibration().ece >= 0  # another report is not held up either
    finally:
        release.set()
        builder.join(WAIT_S)
