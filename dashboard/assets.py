"""The dashboard's static files, read from the top-level ``assets/`` folder (no Gradio, no model).

- ``examples.txt``: the example tweets, one per line (:func:`example_tweets`);
- ``review_shortcuts.js``: the page script, keyboard shortcuts of the Review tab (:func:`page_script`);
- ``plotly_bridge.js``: the ``js_on_load`` that draws a plotly figure and reports its clicks
  (:func:`plotly_bridge_js`, used by :mod:`dashboard.plotly_bridge`);
- ``style.css``: the page style (:func:`css`).

The README's screenshots live there too.

>>> len(example_tweets()) >= 1 and all(t.strip() == t and t for t in example_tweets())
True
>>> "n <= 6)" in page_script(6)
True
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
EXAMPLES_FILE = "examples.txt"
PAGE_SCRIPT_FILE = "review_shortcuts.js"
PLOTLY_BRIDGE_FILE = "plotly_bridge.js"
CSS_FILE = "style.css"


def asset_path(name: str) -> Path:
    """The path of ``assets/<name>``; raises ``FileNotFoundError`` naming it when it is missing."""
    path = ASSETS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the dashboard's asset file is missing")
    return path


@cache
def read_asset(name: str) -> str:
    """The text of ``assets/<name>`` (UTF-8), read once per process."""
    return asset_path(name).read_text(encoding="utf-8")


def example_tweets() -> list[str]:
    """The example tweets of the Classify and Explain views: the non-blank lines of ``examples.txt``."""
    return [line.strip() for line in read_asset(EXAMPLES_FILE).splitlines() if line.strip()]


def page_script(n_labels: int) -> str:
    """The page script (``launch(js=...)``): Review-tab keys; digits 1 to ``n_labels`` relabel."""
    n = int(n_labels)
    if n < 1:
        raise ValueError(f"n_labels must be at least 1, got {n_labels!r}")
    return read_asset(PAGE_SCRIPT_FILE).replace("N_LABELS", str(n))


def plotly_bridge_js() -> str:
    """The ``js_on_load`` of an interactive plotly figure (see :mod:`dashboard.plotly_bridge`)."""
    return read_asset(PLOTLY_BRIDGE_FILE)


def css() -> str:
    """The page style (``launch(css=...)``)."""
    return read_asset(CSS_FILE)
