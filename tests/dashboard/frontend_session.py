"""One browser session on a built ``gr.Blocks``, its events scheduled as Gradio 6's frontend schedules them.

For tests of event ordering without a browser: the real handler functions of the real Blocks run on
threads (as the server runs them), in the order the page would send them. The rules, from Gradio's
``Blocks.js`` (``dispatch``):

* a listener runs one request at a time per page; triggered while its request is pending, an
  ``always_last`` listener is deferred, a ``once`` listener skipped, a ``multiple`` one run again;
* when a request ends, the listeners chained after it (``.then``) are dispatched, then, if it was
  deferred meanwhile, the event that started it is dispatched again (so every listener of that
  event, with the inputs' values at that time);
* a listener's inputs are read when it is dispatched.

``queue_delay`` holds a request of a concurrency group in the server's queue for that long before
it starts (a full group, as on a busy server). Values are the handlers' own return values (no
pre- or postprocessing); only value changes made by :meth:`FrontendSession.type` fire ``change``.
"""

from __future__ import annotations

import inspect
import threading
import time

import gradio as gr

Event = tuple[str, int, str]  # ("event", block id, event name) or ("fn", fn id, "")


class FrontendSession:
    """A page's event loop over ``demo``'s listeners for one session."""

    def __init__(self, demo: gr.Blocks, *, session_hash: str = "frontend-session",
                 queue_delay: dict[str, float] | None = None) -> None:
        self.fns = [f for f in demo.fns.values() if f.fn is not None]
        self.values = {bid: getattr(block, "value", None) for bid, block in demo.blocks.items()}
        self.request = gr.Request(session_hash=session_hash)
        self.queue_delay = dict(queue_delay or {})
        self.errors: list[str] = []
        self._lock = threading.RLock()
        self._running: set[int] = set()
        self._deferred: set[int] = set()
        self._threads: list[threading.Thread] = []
        self._event_data: dict[int, gr.SelectData] = {}

    def value(self, component) -> object:
        with self._lock:
            return self.values[component._id]

    def type(self, component, text: str, *, delay: float = 0.0) -> None:
        """Type ``text`` into ``component`` key by key (a ``change`` per key), ``delay`` seconds apart."""
        start = self.value(component) or ""
        for i in range(1, len(text) + 1):
            self.set(component, start + text[:i])
            time.sleep(delay)

    def set(self, component, value, *, fire: bool = True) -> None:
        """Set a value as the user would, firing its ``change`` listeners (not with ``fire=False``: the
        value has changed but its listeners have not been sent yet)."""
        with self._lock:
            self.values[component._id] = value
        if fire:
            self.dispatch(("event", component._id, "change"))

    def load(self) -> None:
        """The page's ``load`` listeners."""
        for fn in self.fns:
            if any(name == "load" for _, name in fn.targets or []):
                self.dispatch(("fn", fn._id, ""))

    def click(self, button) -> None:
        self.dispatch(("event", button._id, "click"))

    def select(self, component, *, index, value, row_value=None) -> None:
        """A ``select`` event on ``component`` (a table row, a plot point) with this event data."""
        data = {"index": index, "value": value, "row_value": row_value, "selected": True}
        with self._lock:
            self._event_data[component._id] = gr.SelectData(component, data)
        self.dispatch(("event", component._id, "select"))

    def dispatch(self, event: Event) -> None:
        kind, target, name = event
        if kind == "fn":
            listeners = [f for f in self.fns if f._id == target]
        else:
            listeners = [f for f in self.fns if (target, name) in (f.targets or [])]
        for fn in listeners:
            with self._lock:
                if fn._id in self._running and fn.trigger_mode != "multiple":
                    if fn.trigger_mode == "always_last":
                        self._deferred.add(fn._id)
                    continue
                self._running.add(fn._id)
                args = [self.values[c._id] for c in fn.inputs]
                data = self._event_data.get(target) if kind == "event" else None
            thread = threading.Thread(target=self._run, args=(fn, args, event, data), daemon=True)
            with self._lock:
                self._threads.append(thread)
            thread.start()

    def _call(self, fn, args: list, data: gr.SelectData | None):
        extra = []
        for p in list(inspect.signature(fn.fn).parameters.values())[len(args):]:
            kind = str(p.annotation)
            extra.append(self.request if "Request" in kind else data if "Data" in kind else None)
        return fn.fn(*args, *extra)

    def _run(self, fn, args: list, event: Event, data: gr.SelectData | None = None) -> None:
        time.sleep(self.queue_delay.get(fn.concurrency_id, 0.0))
        ok = True
        try:
            out = self._call(fn, args, data)
        except Exception as exc:  # noqa: BLE001 - recorded, as the page shows an error and goes on
            ok = False
            self.errors.append(f"{fn.name}: {type(exc).__name__}: {exc}")
        else:
            outs = out if len(fn.outputs) != 1 else (out,)
            with self._lock:
                for component, value in zip(fn.outputs, outs or (), strict=False):
                    if isinstance(value, gr.components.Component):  # a returned component: its value is the new one
                        value = value.value
                    if not (isinstance(value, dict) and value.get("__type__") == "update"):
                        self.values[component._id] = value
        for follower in self.fns:
            if follower.trigger_after == fn._id and not (follower.trigger_only_on_success and not ok) \
                    and not (follower.trigger_only_on_failure and ok):
                self.dispatch(("fn", follower._id, ""))
        with self._lock:
            self._running.discard(fn._id)
            again = fn._id in self._deferred
            self._deferred.discard(fn._id)
        if again:
            self.dispatch(event)

    def settle(self, timeout: float = 60.0) -> bool:
        """Wait until no request runs or waits; False when ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                alive = [t for t in self._threads if t.is_alive()]
                self._threads = alive
                if not alive and not self._running:
                    return True
            alive[0].join(timeout=0.05) if alive else time.sleep(0.01)
        return False
