"""Libraries the served handlers import lazily are imported before serving (core.services.preload).

Two handler threads importing plotly's narwhals layer and shap (scikit-learn -> narwhals) for the first time
at once deadlocked in Python's import locks on about one fresh app start in two; these run in fresh interpreters.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import REPO


def run_fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_preload_imports_every_lazy_library_and_skips_a_missing_one():
    out = run_fresh("""
        import sys
        from core.services.preload import LAZY_LIBRARIES, preload_libraries
        assert not any(name in sys.modules for name in LAZY_LIBRARIES)
        preload_libraries((*LAZY_LIBRARIES, "no_such_library_here"))
        print(sorted(name for name in LAZY_LIBRARIES if name in sys.modules))
    """)
    from core.services.preload import LAZY_LIBRARIES

    assert out.strip() == str(sorted(LAZY_LIBRARIES))


def test_handlers_first_imports_in_many_threads_after_preload():
    """After the preload, eight threads that build the live view's figure and the explainer's imports at
    once all succeed (the work a page load fires)."""
    out = run_fresh("""
        import threading
        from core.services.preload import preload_libraries
        preload_libraries()
        from dashboard.figures import probability_bars
        errors = []
        def figure():
            probability_bars({"joy": 0.7, "anger": 0.3}).to_json()
        def explainer():
            import shap, sklearn.metrics  # noqa: F401
        def guarded(work):
            try:
                work()
            except BaseException as exc:  # noqa: BLE001
                errors.append(repr(exc))
        threads = [threading.Thread(target=guarded, args=(w,)) for w in (figure, explainer) * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        print(errors, any(t.is_alive() for t in threads))
    """)
    assert out.strip() == "[] False"
