"""The page script, the plotly bridge, the CSS and the example tweets come from files in assets/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard import assets

REPO = Path(__file__).resolve().parents[2]


def test_example_tweets_are_the_lines_of_examples_txt():
    lines = (REPO / "assets" / "examples.txt").read_text(encoding="utf-8").splitlines()
    tweets = assets.example_tweets()
    assert tweets == [line.strip() for line in lines if line.strip()]
    assert len(tweets) == 4 and len(set(tweets)) == 4


def test_page_script_fills_in_the_number_of_labels():
    script = assets.page_script(6)
    assert "N_LABELS" not in script and "n <= 6)" in script
    assert script == (REPO / "assets" / "review_shortcuts.js").read_text(encoding="utf-8").replace("N_LABELS", "6")
    with pytest.raises(ValueError, match="at least 1"):
        assets.page_script(0)


def test_a_missing_asset_names_the_file():
    with pytest.raises(FileNotFoundError, match=r"assets/no-such-file\.js"):
        assets.read_asset("no-such-file.js")


def test_the_app_uses_the_asset_files():
    import gradio as gr  # noqa: F401  (the app module needs it)

    from core.settings import Settings
    from dashboard.app import launch_options
    from dashboard.plotly_bridge import interactive_plot

    class Service:  # launch_options reads only the label names and the settings
        labels = ["sadness", "joy", "love"]
        settings = Settings()

    options = launch_options(Service())
    assert options["css"] == (REPO / "assets" / "style.css").read_text(encoding="utf-8")
    assert options["js"] == assets.page_script(3)
    assert interactive_plot().js_on_load == (REPO / "assets" / "plotly_bridge.js").read_text(encoding="utf-8")


def test_no_page_script_or_css_is_left_inside_python():
    sources = {p: p.read_text(encoding="utf-8") for p in (REPO / "dashboard").rglob("*.py")}
    for pattern in (r"addEventListener\(", r"Plotly\.newPlot\(", r"\.plotly-host\s*\{"):
        hits = [str(p.relative_to(REPO)) for p, text in sources.items() if re.search(pattern, text)]
        assert hits == [], f"{pattern} written in Python: {hits}"
