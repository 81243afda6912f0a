"""Playwright fixtures: one headless Debian chromium per session, a fresh page (Gradio session) per test.

Every test in this folder skips with a clear reason where /usr/bin/chromium or the Python playwright
package is missing (``playwright install`` is never needed: the system chromium is launched directly).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 120_000


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the Python playwright package is not installed"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is absent (install Debian's chromium package)"
    return None


def plot_js(elem_id: str, body: str, params: str = "") -> str:
    """A page function ``(params) => {...}`` for ``page.evaluate`` whose ``body`` sees the plotly div
    ``gd`` inside ``#elem_id``, its axes ``xa`` and ``ya``, and its bounding box ``box``."""
    return (f"({params}) => {{\n  const gd = document.querySelector('#{elem_id} .plotly-host');\n"
            "  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;\n"
            f"  const box = gd.getBoundingClientRect();\n{body}\n}}")


class PageWatch:
    """What the page did behind the test's back: dialogs opened and uncaught JS errors."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@contextmanager
def dashboard_page(browser, url: str, watch: PageWatch) -> Iterator:
    """A new browser context on the dashboard at ``url``, loaded and ready; dialogs and JS errors go to ``watch``."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()

    def on_dialog(dialog) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    pg.goto(url, wait_until="domcontentloaded")
    pg.wait_for_selector("#classify-text textarea")
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def page(browser, app_url, watch):
    """A new browser context on the dashboard, loaded and ready (the Classify tab is shown)."""
    with dashboard_page(browser, app_url, watch) as pg:
        yield pg


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """``artifacts/screenshots`` under the repository root (git-ignored), created."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
