"""Plotly figure builders by view: data in, ``go.Figure`` out (no I/O, no Gradio, no torch).

Every builder takes plain data (dicts, arrays, the analysis table of :mod:`core.analysis.table`) and
returns a figure in one house look (:mod:`dashboard.figures.style`: ``plotly_white``, tight margins,
320-480 px high, one colour per label in every figure, user text escaped).

- :mod:`~dashboard.figures.live`: probability bars, top attributed words;
- :mod:`~dashboard.figures.confusion`: the confusion matrix;
- :mod:`~dashboard.figures.embedding`: the embedding map (every point, or a sample per class);
- :mod:`~dashboard.figures.overview`: class distribution, token lengths, loss histogram, reliability;
- :mod:`~dashboard.figures.robustness` and :mod:`~dashboard.figures.compare`: those two views.

The names below are re-exported so ``from dashboard.figures import confusion_figure`` works.
"""

from dashboard.figures.compare import confusion_delta_figure, paired_probability_bars
from dashboard.figures.confusion import confusion_figure
from dashboard.figures.embedding import (
    EMBEDDING_COLORINGS,
    MAP_MAX_POINTS,
    embedding_figure,
    map_window_figure,
    rows_in_selection,
)
from dashboard.figures.live import probability_bars, token_attribution_bars
from dashboard.figures.overview import (
    class_distribution_figure,
    loss_histogram,
    reliability_figure,
    token_length_figure,
)
from dashboard.figures.robustness import robustness_figure
from dashboard.figures.style import EMOTION_COLORS, PALETTE, hover_snippet, label_colors, plotly_escape

__all__ = [
    "EMBEDDING_COLORINGS", "EMOTION_COLORS", "MAP_MAX_POINTS", "PALETTE",
    "class_distribution_figure", "confusion_delta_figure", "confusion_figure", "embedding_figure", "hover_snippet",
    "label_colors", "loss_histogram", "map_window_figure", "paired_probability_bars", "plotly_escape",
    "probability_bars", "reliability_figure", "robustness_figure", "rows_in_selection", "token_attribution_bars",
    "token_length_figure",
]
