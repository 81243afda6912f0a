"""Build the Gradio Blocks from a loaded :class:`core.services.emotion.EmotionService`, and launch it.

Queue tuning for a 2-vCPU Space: classification requests run up to 16 at a time and are merged
into model batches by the service's micro-batcher (one forward pass serves many users);
explanations, which each run hundreds of masked forward passes, run at most 2 at a time so they
cannot starve classification; the queue holds at most 256 waiting requests.
"""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from core.services.preload import preload_libraries
from dashboard.assets import css
from dashboard.figures import MAP_MAX_POINTS
from dashboard.plotly_bridge import static_paths
from dashboard.review_access import assert_no_mocked_oauth, launch_auth
from dashboard.sample_panel import ref_in
from dashboard.tabs.audit import build_audit_page
from dashboard.tabs.compare import build_compare_tab
from dashboard.tabs.confusion import build_confusion_tab
from dashboard.tabs.embedding import build_embedding_tab
from dashboard.tabs.health import build_health_tab, build_similar_panel
from dashboard.tabs.live import build_live_tab
from dashboard.tabs.losses import build_losses_tab
from dashboard.tabs.overview import build_overview_tab
from dashboard.tabs.patterns import build_patterns_tab
from dashboard.tabs.review import build_review_tab, shortcuts_js
from dashboard.tabs.robustness import build_robustness_tab

TITLE = "Emotion Lens: what the emotion classifier predicts, why, and where it goes wrong"
QUEUE_MAX_SIZE = 256


def build_app(service, *, map_max_points: int = MAP_MAX_POINTS) -> gr.Blocks:
    """The whole dashboard: Classify & explain (live), Losses, Confusion, Embedding map, Review, Patterns, Compare,
    Robustness, Overview, Data health.

    One split selector at the top (shown when more than one split is analysed) switches every
    analysis view. ``map_max_points``: the most samples the embedding map draws as points (a window
    holding more draws that many, sampled per class). First it imports the libraries that the handlers would
    import lazily (:mod:`core.services.preload`).
    """
    # Before any handler can run: libraries the handlers import lazily, imported once in this thread
    # (two handler threads importing them at once can deadlock in Python's import locks).
    preload_libraries()
    gr.set_static_paths(static_paths())
    with gr.Blocks(title="Emotion Lens", analytics_enabled=False) as demo:
        # Queue settings first: ``queue()`` rebuilds the server app, which costs 0.2 s once the
        # blocks exist; the limits are read per event, when it runs.
        demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=2)
        with gr.Row():
            gr.Markdown(f"### {TITLE}")
            split = gr.Dropdown(service.splits, value=service.analyses.default_split, label="split",
                                visible=len(service.splits) > 1, scale=0, min_width=180, elem_id="split-select")
        ready = _progress_line(service)
        with gr.Tabs(selected="classify") as tabs:
            v = _build_tabs(service, split, map_max_points)
        _fill_when_ready(service, ready, v.losses_load)
        for tab, fill in v.fills:
            tab.select(*fill, api_visibility="private")
        _wire_send_to_review(service, split, tabs, v)
        demo.load(*v.losses_load, api_visibility="private")
        demo.load(*v.review.load, api_visibility="private").then(*v.review.explain, api_visibility="private")
        demo.load(*v.review.access_load, api_visibility="private")
    with demo.route("Blind audit", "audit") as audit_page:
        audit_page.load(*build_audit_page(service), api_visibility="private")
    assert_no_mocked_oauth(demo)
    return demo


def _progress_line(service) -> gr.State:
    """While splits are still being analysed (the app serves first): one line naming the split, the stage and
    the time left, refreshed every 2 s, gone when every split is ready. Returns the state holding the ready
    splits, which changes as each one becomes ready."""
    progress = service.analyses.progress
    line = progress.line()
    box = gr.Markdown(line, visible=bool(line), elem_id="analysis-progress")
    timer = gr.Timer(2.0, active=bool(line))
    ready = gr.State(tuple(service.analyses.ready_splits))

    def refresh(before):
        now, done = progress.line(), tuple(service.analyses.ready_splits)
        return (gr.Markdown(now, visible=bool(now)), gr.Timer(active=bool(now)),
                done if done != before else gr.skip())

    timer.tick(refresh, ready, [box, timer, ready], show_progress="hidden", api_visibility="private", queue=False)
    return ready


def _fill_when_ready(service, ready: gr.State, load: tuple) -> None:
    """When the selected split's analysis becomes ready, its Losses list fills itself (``load``: the list's
    ``(refresh, inputs, outputs)``, its first input the split selector)."""
    refresh, inputs, outputs = load

    def fill(done, split_, *rest):
        if (split_ or service.analyses.default_split) not in done:
            return tuple(gr.skip() for _ in outputs)
        return refresh(split_, *rest)

    ready.change(fill, [ready, *inputs], outputs, api_visibility="private")


def _build_tabs(service, split: gr.Dropdown, map_max_points: int) -> SimpleNamespace:
    """Every tab, in order; returns what the app wires between them."""
    v = SimpleNamespace()
    with gr.Tab("Classify & explain", id="classify"):
        live_text = build_live_tab(service)
        v.similar_send, v.similar_id = build_similar_panel(service, live_text)
    with gr.Tab("Losses", id="losses"):
        v.losses_load, v.losses_send = build_losses_tab(service, split)
    with gr.Tab("Confusion matrix", id="confusion") as confusion_tab:
        v.confusion_send, v.confusion_id, confusion_fill = build_confusion_tab(service, split)
    with gr.Tab("Embedding map", id="embedding") as embedding_tab:
        v.embedding_send, v.embedding_id, embedding_fill = build_embedding_tab(service, split,
                                                                               max_points=map_max_points)
    with gr.Tab("Review", id="review"):
        v.review = build_review_tab(service, split)
        gr.Markdown("The blind audit has a page of its own, with nothing of the model on it: [open it](audit).")
    with gr.Tab("Patterns", id="patterns") as patterns_tab:
        patterns_fill = build_patterns_tab(service, split)
    if service.has_compare:
        with gr.Tab("Compare", id="compare") as compare_tab:
            build_compare_tab(service, split, compare_tab)
    with gr.Tab("Robustness", id="robustness"):
        build_robustness_tab(service, split)
    with gr.Tab("Overview", id="overview") as overview_tab:
        overview_fill = build_overview_tab(service, split)
    with gr.Tab("Data health", id="health") as health_tab:
        v.health = build_health_tab(service, split)
    v.fills = [(health_tab, v.health.fill), (overview_tab, overview_fill), (embedding_tab, embedding_fill),
               (confusion_tab, confusion_fill), (patterns_tab, patterns_fill)]
    return v


def _wire_send_to_review(service, split: gr.Dropdown, tabs: gr.Tabs, v: SimpleNamespace) -> None:
    """"Send to review" from the sample panels, the Data health lists and the similar-tweets panel."""
    review = v.review

    def send_to_review(ref, split_):
        if not ref:
            raise gr.Error("Open a sample first (select a row).", print_exception=False)
        here = service.analyses.info(split_).split
        sample_id = ref_in(ref, here)
        if sample_id is None:  # opened before the split changed: the id names another text here
            raise gr.Error(f"That sample is from the {ref[0]} split and the {here} split is selected now; "
                           "open a sample again.", print_exception=False)
        return (*review.open_sample(sample_id, here), gr.Tabs(selected="review"))

    for button, sample_id in (v.losses_send, (v.confusion_send, v.confusion_id), (v.embedding_send, v.embedding_id)):
        button.click(send_to_review, [sample_id, split], [*review.outputs, tabs], api_visibility="private").then(
            *review.explain, api_visibility="private", trigger_mode="always_last")

    train = gr.State("train")
    for button, sample_id, from_split in ((v.health.send, v.health.sample_id, v.health.sample_split),
                                          (v.similar_send, v.similar_id, train)):
        button.click(lambda sid, f, s: send_switching_split(service, send_to_review, sid, f, s),
                     [sample_id, from_split, split], [*review.outputs, tabs, split],
                     api_visibility="private").then(*review.explain, api_visibility="private",
                                                    trigger_mode="always_last")


def send_switching_split(service, send_to_review, sample_id, from_split, split_) -> tuple:
    """Send a row of ``from_split`` to review: a decision is recorded on the selected split, so the split
    selector switches to the row's split first (its last output); ``gr.Error`` when that split is not analysed."""
    shown = service.analyses.info(split_).split
    target = shown if sample_id is None or from_split in (None, shown) else str(from_split)
    if target not in service.splits:
        raise gr.Error(f"This row is in the {target} split, which is not analysed here; start the app with it "
                       "in --splits.", print_exception=False)
    out = send_to_review(None if sample_id is None else [target, int(sample_id)], target)
    return (*out, gr.skip() if target == shown else gr.update(value=target))


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
