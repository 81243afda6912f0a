"""A plotly figure in a ``gr.HTML`` component whose clicks and box/lasso selections reach Python.

``gr.Plot`` sends no events back, so the figure is drawn by plotly.js (the copy shipped inside the
Python ``plotly`` package, served by Gradio, no internet needed) and its ``plotly_click`` /
``plotly_selected`` events call Gradio's ``trigger('select', ...)`` (the script is
``assets/plotly_bridge.js``). A Python ``.select`` listener
receives ``gr.SelectData`` with:

- a heatmap click: ``index = [row, col]`` and ``value = z``;
- a scatter click or selection: ``value`` = the ``customdata`` of the picked points (sample ids); a box or
  lasso selection also names its geometry and the hidden legend entries in the event's data
  (``evt._data``: ``range``, ``lasso``, ``hidden``).
"""

from __future__ import annotations

from pathlib import Path

import plotly
import plotly.graph_objects as go

from dashboard.assets import plotly_bridge_js

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

def static_paths() -> list[str]:
    """Files Gradio must serve for :func:`interactive_plot` (pass to ``gr.set_static_paths``)."""
    return [str(PLOTLY_JS)]


def head_tag() -> str:
    """The ``<script>`` tag loading plotly.js from the Gradio server (a relative URL)."""
    return f'<script src="gradio_api/file={PLOTLY_JS}"></script>'


def figure_value(fig: go.Figure) -> str:
    """The component value for a figure (its JSON)."""
    return fig.to_json()


def interactive_plot(fig: go.Figure | None = None, *, elem_id: str | None = None):
    """A ``gr.HTML`` showing ``fig`` whose ``.select`` event carries clicks and selections."""
    import gradio as gr

    return gr.HTML(
        figure_value(fig) if fig is not None else None,
        html_template="<div class='plotly-host' style='width:100%;min-height:360px'></div>",
        head=head_tag(),
        js_on_load=plotly_bridge_js(),
        elem_id=elem_id,
    )
