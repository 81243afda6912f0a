"""The learned ranking's API for scripts: which model ranks a split, a refit on demand, and a row's evidence.

``ranking_state`` and ``review_evidence`` read; ``ranking_refit`` fits now and is for those who may
record a decision (it costs the server a fit).
"""

from __future__ import annotations

import gradio as gr

from core.services.reviews import AccessDenied
from dashboard.review_access import caller_from


def _error(exc: Exception) -> gr.Error:
    return gr.Error(str(exc), print_exception=False)


def ranking_endpoints(service) -> None:
    """Register ``ranking_state``, ``ranking_refit`` and ``review_evidence``."""

    def ranking_state(split: str = "") -> dict:
        """Which model ranks the split's queue (learned error model or fixed mix), on how many judgements, and
        its cross-validated ROC AUC and top-5% precision on uniform audit rows it did not see."""
        try:
            return {**service.ranking.state(split or None), "header": service.ranking.header(split or None)}
        except (KeyError, ValueError) as exc:
            raise _error(exc) from None

    def ranking_refit(split: str = "", request: gr.Request = None, profile: gr.OAuthProfile | None = None) -> dict:
        """Refit the split's ranking from every judgement in the review store now; returns the new state."""
        try:
            service.reviews.authorize(caller_from(request, profile))
            return service.ranking.refit(split or None)
        except (KeyError, ValueError, AccessDenied) as exc:
            raise _error(exc) from None

    def review_evidence(sample_id: int, split: str = "") -> dict:
        """Why one row is suspect: each signal's reason with its weight in the score, and the suggested class."""
        try:
            return service.ranking.evidence(int(sample_id), split or None)
        except (KeyError, ValueError, IndexError) as exc:
            raise _error(exc) from None

    gr.api(ranking_state, api_name="ranking_state")
    gr.api(ranking_refit, api_name="ranking_refit")
    gr.api(review_evidence, api_name="review_evidence")
