"""Entry point (also the Hugging Face Space's): read the cached analyses, serve at once, then analyse every split
not cached behind the listening server, the default split first (each split's views and API answer as soon as
it is ready; until then they say how far along it is).

    python app.py [--model M] [--data D] [--cache-dir DIR] [--port P]

Every flag also reads an ``EMOTION_*`` environment variable (see ``core/settings.py``).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence


def _quiet_logs() -> None:
    """Warnings only, and no screen of Hub retry warnings before our one-paragraph message."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    from huggingface_hub.utils import logging as hub_logging

    hub_logging.set_verbosity_error()
    logging.getLogger("httpx").setLevel(logging.ERROR)


def _load(settings):
    """The loaded service with its review store open and its sync started, or ``None`` after one paragraph
    on stderr saying why not."""
    from core.services.emotion import EmotionService
    from core.services.startup import start_errors, startup_warnings

    print(f"Loading {settings.model} and {settings.data} (splits {', '.join(settings.splits)}; any not cached is "
          "analysed while the server runs)...", file=sys.stderr, flush=True)
    try:
        service = EmotionService.load(settings, defer_model=True, defer_splits=True)
        service.reviews.open()  # open the review database now: a bad path fails here
        sync = service.reviews.start_sync()  # restore the decisions at the sync target, then keep pushing
    except start_errors() as exc:
        print(f"\nCannot start the dashboard: {exc}\n\nPass local paths with --model and --data (or the "
              "EMOTION_MODEL and EMOTION_DATA environment variables), for example:\n"
              "  python app.py --model ../shared/models/emotion-minilm --data ../shared/emotion",
              file=sys.stderr)
        return None
    for warning in startup_warnings(settings, service.warnings):
        print(f"warning: {warning}", file=sys.stderr)
    if sync is not None:
        print(sync.status(), file=sys.stderr)
        sync.exit_on_sigterm()  # a Space stops with SIGTERM: push the last decisions, then exit
    return service


def _ready_line(service, seconds: float) -> str:
    """What is served at once (the cached analyses) and what is analysed behind the listening server."""
    analyses = service.analyses
    ready = ", ".join(f"{a.split} (accuracy {a.meta['accuracy']:.4f})" for a in analyses if a.role == "model")
    behind = analyses.progress.pending
    return (f"Loaded in {seconds:.1f} s; cached analyses: {ready or 'none'}"
            f"{'; analysed behind the server: ' + ', '.join(behind) if behind else ''}. Starting the server...")


def main(argv: Sequence[str] | None = None) -> int:
    """Load the service, build the app, serve until interrupted; exit 2 with one paragraph on bad input."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # Gradio's queue rebuilds a pandas summary of up to 10,000 past events after every event, for a
    # monitoring page this app does not enable; that grows to tens of ms per request on a busy
    # Space. Keep the last 1,000 events and refresh the summary every 100.
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")
    # The start-up modules first, in this thread: imported while the UI thread imports the same standard
    # modules (typing, dataclasses), one of them could be seen half initialised.
    from core.services.startup import start_errors, startup_problem
    from core.settings import Settings

    # Import the UI (Gradio: about 3 s) in the background while the data and the cached analyses load.
    ui_import = threading.Thread(target=importlib.import_module, args=("dashboard.app",), daemon=True)
    ui_import.start()

    settings = Settings.from_sources(argv)
    if problem := startup_problem(settings):
        print(f"Cannot start the dashboard: {problem}", file=sys.stderr)
        return 2
    _quiet_logs()
    start = time.perf_counter()
    service = _load(settings)
    if service is None:
        return 2
    print(_ready_line(service, time.perf_counter() - start), file=sys.stderr, flush=True)
    ui_import.join()
    from dashboard.app import build_app, launch_options

    demo = build_app(service)
    demo.launch(server_name=settings.host, server_port=settings.port, prevent_thread_lock=True,
                **launch_options(service))
    if not service.analyses.progress.pending:
        from core.services.progress import ALL_READY

        print(ALL_READY, file=sys.stderr, flush=True)
    # The cached analyses are served already; the model (classify, explain, the analyses still to make) loads
    # now, while people read the first page; a request that needs it meanwhile waits for it.
    loading = time.perf_counter()
    try:
        notes = service.finish_loading()
    except start_errors() as exc:  # the model failed to load (ModelError)
        print(f"\nCannot start the dashboard: {exc}", file=sys.stderr)
        demo.close()
        return 2
    print(f"Model ready in {time.perf_counter() - loading:.1f} s ({'; '.join(notes)})", file=sys.stderr, flush=True)
    service.analyses.start_rest()  # the splits not cached, one by one, each served when ready (progress in the log)
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
