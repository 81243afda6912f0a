"""Build the Gradio Blocks from a loaded :class:`core.services.emotion.EmotionService`, and launch it.

Queue tuning for a 2-vCPU Space: classification requests run up to 16 at a time and are merged
into model batches by the service's micro-batcher (one forward pass serves many users);
explanations, which each run hundreds of masked forward passes, run at most 2 at a time so they
cannot starve classification; the queue holds at most 256 waiting requests.
"""

from __future__ import annotations

import gradio as gr

from dashboard.assets import css
from dashboard.figures import DENSITY_MAX_POINTS
from dashboard.plotly_bridge import static_paths
from dashboard.review_access import assert_no_mocked_oauth, launch_auth
from dashboard.tabs.compare import build_compare_tab
from dashboard.tabs.confusion import build_confusion_tab
from dashboard.tabs.embedding import build_embedding_tab
from dashboard.tabs.live import build_live_tab
from dashboard.tabs.losses import build_losses_tab
from dashboard.tabs.overview import build_overview_tab
from dashboard.tabs.review import build_review_tab, shortcuts_js
from dashboard.tabs.robustness import build_robustness_tab

TITLE = "Emotion Lens: what the emotion classifier predicts, why, and where it goes wrong"
QUEUE_MAX_SIZE = 256


def build_app(service, *, map_max_points: int = DENSITY_MAX_POINTS) -> gr.Blocks:
    """The whole dashboard: Classify & explain (live), Losses, Confusion, Embedding map, Review, Compare,
    Robustness, Overview.

    One split selector at the top (shown when more than one split is analysed) switches every
    analysis view. ``map_max_points``: the most samples the embedding map draws as points (a window
    holding more is drawn as a density).
    """
    gr.set_static_paths(static_paths())
    with gr.Blocks(title="Emotion Lens", analytics_enabled=False) as demo:
        # Queue settings first: ``queue()`` rebuilds the server app, which costs 0.2 s once the
        # blocks exist; the limits are read per event, when it runs.
        demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=2)
        with gr.Row():
            gr.Markdown(f"### {TITLE}")
            split = gr.Dropdown(service.splits, value=service.analyses.default_split, label="split",
                                visible=len(service.splits) > 1, scale=0, min_width=180, elem_id="split-select")
        with gr.Tabs(selected="classify") as tabs:
            with gr.Tab("Classify & explain", id="classify"):
                build_live_tab(service)
            with gr.Tab("Losses", id="losses"):
                losses_load, losses_send = build_losses_tab(service, split)
            with gr.Tab("Confusion matrix", id="confusion") as confusion_tab:
                confusion_send, confusion_id, confusion_fill = build_confusion_tab(service, split)
            with gr.Tab("Embedding map", id="embedding") as embedding_tab:
                embedding_send, embedding_id, embedding_fill = build_embedding_tab(service, split,
                                                                                   max_points=map_max_points)
            with gr.Tab("Review", id="review"):
                review = build_review_tab(service, split)
            if service.has_compare:
                with gr.Tab("Compare", id="compare"):
                    build_compare_tab(service, split)
            with gr.Tab("Robustness", id="robustness"):
                build_robustness_tab(service, split)
            with gr.Tab("Overview", id="overview") as overview_tab:
                overview_fill = build_overview_tab(service, split)
        overview_tab.select(*overview_fill, api_visibility="private")
        embedding_tab.select(*embedding_fill, api_visibility="private")
        confusion_tab.select(*confusion_fill, api_visibility="private")

        def send_to_review(sample_id, split_):
            if sample_id is None:
                raise gr.Error("Open a sample first (select a row).", print_exception=False)
            return (*review.open_sample(int(sample_id), split_), gr.Tabs(selected="review"))

        for button, sample_id in (losses_send, (confusion_send, confusion_id), (embedding_send, embedding_id)):
            button.click(send_to_review, [sample_id, split], [*review.outputs, tabs], api_visibility="private").then(
                *review.explain, api_visibility="private", trigger_mode="always_last")
        demo.load(*losses_load, api_visibility="private")
        demo.load(*review.load, api_visibility="private").then(*review.explain, api_visibility="private")
        demo.load(*review.access_load, api_visibility="private")
    assert_no_mocked_oauth(demo)
    return demo


def launch_options(service) -> dict:
    """Keyword arguments for ``demo.launch`` (theme, page script, file limits)."""
    return {
        "js": shortcuts_js(len(service.labels)),
        "css": css(),
        "theme": gr.themes.Soft(),
        "max_file_size": "10mb",
        "show_error": True,
        "footer_links": ["api", "gradio"],
        "auth": launch_auth(service),  # password access: the whole app behind Gradio's login
    }
