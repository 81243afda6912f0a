"""The house look shared by every figure builder: colours per label, escaping of user text, layout.

User text (tweets) may hold HTML or script; plotly renders hover labels as HTML-like markup, so every
piece of user text that reaches a hover label or a tick is escaped with :func:`html.escape`
(:func:`plotly_escape`) and long texts are truncated (:func:`hover_snippet`).
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

TEMPLATE = "plotly_white"
FONT = {"size": 13}
MARGIN = {"l": 10, "r": 10, "t": 48, "b": 10}
HOVER_CHARS = 200
HOVER_LINE = 60

# Okabe & Ito's colour-blind-safe palette, then Paul Tol's "muted" for label sets beyond it.
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#CC79A7", "#D55E00", "#009E73", "#56B4E9", "#F0E442",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
)
# The six emotions get colours that suit them: sadness blue, joy orange, love pink, anger red, ...
EMOTION_COLORS: dict[str, str] = {
    "sadness": "#0072B2", "joy": "#E69F00", "love": "#CC79A7",
    "anger": "#D55E00", "fear": "#009E73", "surprise": "#56B4E9",
}
POSITIVE, NEGATIVE = "#D55E00", "#0072B2"  # attribution toward / away from a class
CORRECT, WRONG = "#0072B2", "#D55E00"


def label_colors(labels: Sequence[str]) -> dict[str, str]:
    """A fixed hex colour per label name.

    The six emotion names always get the same colours; other names take the unused palette colours
    in the order given (so pass labels in model order), cycling past 16 labels.
    """
    colors: dict[str, str] = {}
    free = [c for c in PALETTE if c not in {EMOTION_COLORS[x] for x in labels if x in EMOTION_COLORS}]
    i = 0
    for name in labels:
        if name in colors:
            continue
        if name in EMOTION_COLORS:
            colors[name] = EMOTION_COLORS[name]
        else:
            colors[name] = free[i % len(free)] if free else PALETTE[i % len(PALETTE)]
            i += 1
    return colors


def plotly_escape(text: object) -> str:
    """:func:`html.escape` for plotly text. plotly.js decodes numeric entities and only a few named
    ones (``&lt; &gt; &amp;`` ...), not ``&quot;``, so a double quote is written as ``&#34;``.

    >>> plotly_escape('<b onclick="x">hi</b> & bye')
    '&lt;b onclick=&#34;x&#34;&gt;hi&lt;/b&gt; &amp; bye'
    """
    return html.escape(str(text)).replace("&quot;", "&#34;")


def hover_snippet(text: str, *, limit: int = HOVER_CHARS, width: int = HOVER_LINE) -> str:
    """``text`` made safe for a hover label: truncated to ``limit`` chars, wrapped, HTML-escaped."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    lines = textwrap.wrap(text, width=width, break_long_words=True) or [""]
    return "<br>".join(plotly_escape(line) for line in lines)


def style(fig: go.Figure, *, title: str | None, height: int) -> go.Figure:
    """``fig`` in the house look (template, font, margins, height, a left-aligned title)."""
    fig.update_layout(
        template=TEMPLATE, font=FONT, height=height, margin=MARGIN,
        title={"text": title, "x": 0.01, "xanchor": "left"} if title else None,
    )
    return fig


def empty(message: str, *, title: str | None, height: int) -> go.Figure:
    """A figure that shows only ``message`` (escaped)."""
    fig = go.Figure()
    fig.add_annotation(text=plotly_escape(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return style(fig, title=title, height=height)


def require_columns(table: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the ``columns`` ``table`` lacks."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}")
