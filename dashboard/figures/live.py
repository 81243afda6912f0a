"""Figures of the live view: class probabilities and the top attributed words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.figures.style import (
    NEGATIVE,
    POSITIVE,
    empty,
    label_colors,
    plotly_escape,
    style,
)


def probability_bars(probs: Mapping[str, float], *, title: str | None = None) -> go.Figure:
    """Horizontal bars of every class probability in percent, largest at the top.

    Parameters
    ----------
    probs : label name -> probability in [0, 1], in model order (that order fixes the colours).

    >>> bars = probability_bars({"fear": 0.2, "joy": 0.7, "love": 0.1}).data[0]
    >>> list(bars.y), list(bars.x)
    (['joy', 'fear', 'love'], [70.0, 20.0, 10.0])
    """
    if not probs:
        raise ValueError("probs is empty")
    values = np.asarray(list(probs.values()), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("probs must be finite")
    colors = label_colors(list(probs))
    order = sorted(probs, key=lambda name: -float(probs[name]))
    pct = [100.0 * float(probs[name]) for name in order]
    fig = go.Figure(go.Bar(
        x=pct, y=[plotly_escape(n) for n in order], orientation="h",
        marker_color=[colors[n] for n in order],
        text=[f"{p:.1f}%" for p in pct], textposition="auto", cliponaxis=False,
        hovertemplate="%{y}: %{x:.2f}%<extra></extra>",
    ))
    fig.update_xaxes(range=[0, 100], title_text="probability (%)")
    fig.update_yaxes(autorange="reversed")
    return style(fig, title=title, height=max(220, 60 + 40 * len(order)))


def token_attribution_bars(
    tokens_and_values: Sequence[tuple[str, float]], *, label: str, k: int = 10
) -> go.Figure:
    """The ``k`` tokens with the largest ``|value|`` as horizontal bars, largest at the top.

    Parameters
    ----------
    tokens_and_values : (token, attribution toward ``label``) per token, T pairs; tokens may repeat.
    label : the class the values are attributions toward (named in the title).
    k : how many tokens to show, at least 1.

    Notes
    -----
    Positive values (pushing toward ``label``) are warm, negative ones cool. Bars sit on positions
    ``0 .. k-1`` with the tokens as tick text, so a token that occurs twice keeps two bars.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}")
    title = f"toward {plotly_escape(label)} / away"
    if not tokens_and_values:
        return empty("no tokens to explain", title=title, height=320)
    tokens = [str(t) for t, _ in tokens_and_values]
    values = np.asarray([v for _, v in tokens_and_values], dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("attribution values must be finite")
    top = np.argsort(-np.abs(values), kind="stable")[:k]
    shown = [plotly_escape(tokens[i]) for i in top]
    fig = go.Figure(go.Bar(
        x=values[top], y=list(range(len(top))), orientation="h",
        marker_color=[POSITIVE if values[i] > 0 else NEGATIVE for i in top],
        customdata=shown, hovertemplate="%{customdata}: %{x:+.4f}<extra></extra>",
    ))
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(top))), ticktext=shown, autorange="reversed")
    fig.update_xaxes(title_text=f"attribution (+ toward {plotly_escape(label)}, - away)", zeroline=True,
                     zerolinecolor="#888")
    return style(fig, title=title, height=max(240, 80 + 28 * len(top)))
