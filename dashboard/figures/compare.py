"""Pure plotly builders for the Compare view (data in, figure out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.figures.style import label_colors, plotly_escape, style


def confusion_delta_figure(delta: np.ndarray, labels: Sequence[str]) -> go.Figure:
    """Heatmap of B's confusion matrix minus A's: true label down, predicted across.

    On the diagonal a positive cell means B gets more of that class right; off the diagonal a
    positive cell means B makes more of that mistake. Colours say better (blue) or worse (red)
    for B, so the diagonal's sign is flipped for the colour only; the text shows the raw delta.
    """
    d = np.asarray(delta, dtype=np.int64)
    k = len(labels)
    if d.shape != (k, k):
        raise ValueError(f"delta must be (K, K) = ({k}, {k}); got {d.shape}")
    better = -d.astype(float)
    better[np.diag_indices(k)] *= -1
    span = max(1.0, float(np.abs(better).max()))
    names = [plotly_escape(x) for x in labels]
    text = [[f"{v:+d}" if v else "0" for v in row] for row in d]
    fig = go.Figure(go.Heatmap(
        z=better, x=names, y=names, text=text, texttemplate="%{text}", customdata=d,
        colorscale="RdBu", zmin=-span, zmax=span, zmid=0,
        colorbar={"title": {"text": "better for B"}, "thickness": 12},
        hovertemplate="true: %{y}<br>predicted: %{x}<br>B minus A: %{customdata}<extra></extra>",
        xgap=1, ygap=1,
    ))
    fig.update_xaxes(title_text="predicted label", side="bottom", tickangle=-30)
    fig.update_yaxes(title_text="true label", autorange="reversed")
    return style(fig, title="confusion matrix, B minus A (click a cell for its changed samples)", height=440)


def paired_probability_bars(probs_a: Mapping[str, float], probs_b: Mapping[str, float],
                            labels: Sequence[str]) -> go.Figure:
    """Both models' probability of every class, side by side."""
    colors = label_colors(labels)
    names = [plotly_escape(x) for x in labels]
    fig = go.Figure()
    for who, probs, pattern in (("A", probs_a, ""), ("B", probs_b, "/")):
        fig.add_bar(x=names, y=[100 * float(probs[x]) for x in labels], name=f"model {who}",
                    marker={"color": [colors[x] for x in labels], "pattern": {"shape": pattern}},
                    hovertemplate=f"model {who}<br>%{{x}}: %{{y:.1f}}%<extra></extra>")
    fig.update_layout(barmode="group", showlegend=True)
    fig.update_yaxes(title_text="probability (%)", range=[0, 100])
    return style(fig, title="probabilities: model A (solid) and model B (hatched)", height=320)
