"""Patterns tab: a split's suspects grouped by why they are suspect; spot-check one, then decide the rest at once.

The table lists the patterns (:meth:`core.services.patterns.PatternService.patterns`): size, given-label and
suggested-class mixes, audited precision with its interval. Picking one shows its rows, most suspect first,
and the next row of its spot check: the reviewer judges k random rows one by one (recorded like any
decision). When the spot check's lower 95% bound reaches the threshold shown, "Apply to the rest" relabels
the pattern's other undecided rows to their suggested class, or marks them ambiguous, or skips them, as one
batch; "Undo batch" reverts a batch with new events. User text is shown in text boxes and tables (as text).

API endpoints for ``gradio_client``: ``patterns``, ``pattern_rows``, ``pattern_apply`` and ``batch_undo``.
"""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
import pandas as pd

from core.services.live import InputError
from core.services.patterns import BULK_ACTIONS, ROW_COLUMNS
from core.services.reviews import AccessDenied, ReviewStoreError
from dashboard.review_access import caller_from

TABLE_SHOWN = ["pattern", "name", "size", "open", "given", "suggested", "audited", "precision", "low", "high", "bulk"]
BATCH_SHOWN = ["batch", "kind", "action", "pattern", "rows", "reviewer", "time", "undone_by"]
ERRORS = (InputError, KeyError, ValueError, AccessDenied, ReviewStoreError)


def _error(exc: Exception) -> gr.Error:
    if isinstance(exc, ReviewStoreError):
        return gr.Error(f"The review database could not be used, so nothing was recorded: {exc}",
                        print_exception=False)
    return gr.Error(str(exc), print_exception=False)


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.round({c: 3 for c in ("precision", "low", "high", "score") if c in frame})


def _layout(service) -> SimpleNamespace:
    s = service.settings
    c = SimpleNamespace()
    gr.Markdown("Suspect rows grouped by the reason they are suspect. Pick a pattern, judge its spot check, then "
                "decide the rest in one action (each row still gets its own decision, undoable as a batch).")
    with gr.Row():
        c.refresh = gr.Button("Refresh", size="sm", elem_id="patterns-refresh")
        c.k = gr.Number(value=s.spot_check_k, precision=0, minimum=1, label="spot check rows (k)", elem_id="spot-k")
        c.threshold = gr.Slider(0.0, 1.0, value=s.spot_check_threshold, step=0.01,
                                label="threshold: lower 95% bound of the spot check's precision",
                                elem_id="spot-threshold")
        c.reviewer = gr.Textbox(label="your name (open access)", value=s.reviewer, elem_id="patterns-reviewer")
    c.table = gr.Dataframe(pd.DataFrame(columns=TABLE_SHOWN), label="patterns (largest first)", interactive=False,
                           wrap=True, max_height=320, elem_id="patterns-table")
    c.pattern = gr.Dropdown([], label="pattern", allow_custom_value=False, elem_id="pattern-select")
    c.rows = gr.Dataframe(pd.DataFrame(columns=ROW_COLUMNS), label="its rows, most suspect first", interactive=False,
                          wrap=True, max_height=300, elem_id="pattern-rows")
    with gr.Group():
        c.spot_text = gr.Textbox(label="spot check: next row to judge", interactive=False, lines=2,
                                 elem_id="spot-text")
        c.spot_meta = gr.Textbox(label="given label → suggested class", interactive=False, elem_id="spot-meta")
        with gr.Row():
            c.right = gr.Button("Suggested class is right", size="sm", elem_id="spot-right")
            c.keep = gr.Button("Given label is right", size="sm", elem_id="spot-keep")
            c.ambiguous = gr.Button("Ambiguous", size="sm", elem_id="spot-ambiguous")
        c.spot_line = gr.Markdown("", elem_id="spot-line")
    with gr.Row():
        c.action = gr.Radio(list(BULK_ACTIONS), value="relabel", label="bulk action on the rest", elem_id="bulk-action")
        c.apply = gr.Button("Apply to the rest", variant="primary", elem_id="bulk-apply")
    c.bulk_line = gr.Textbox(label="last bulk action", interactive=False, elem_id="bulk-line")
    c.batches = gr.Dataframe(pd.DataFrame(columns=BATCH_SHOWN), label="batches (newest first)", interactive=False,
                             wrap=True, max_height=200, elem_id="batches-table")
    with gr.Row():
        c.batch = gr.Dropdown([], label="batch", elem_id="batch-select")
        c.undo = gr.Button("Undo batch", elem_id="batch-undo")
    c.spot_id = gr.State(None)
    return c


def _pattern_view(service, split, pattern, k, threshold, action) -> tuple:
    """(rows, spot text, spot meta, spot id, spot line) of one pattern."""
    if not pattern:
        return pd.DataFrame(columns=ROW_COLUMNS), "", "", None, "Pick a pattern."
    gate = "relabel" if action == "skip" else action
    rows = service.patterns.pattern_rows(pattern, split, k=k)
    nxt = service.patterns.next_spot(pattern, split, k=k)
    check = service.patterns.spot_check(pattern, split, action=gate, k=k, threshold=threshold)
    if nxt is None:
        text, meta, sid = "(every spot-check row is judged)", "", None
    else:
        text, meta, sid = nxt["text"], f"{nxt['label']} → {nxt['suggest'] or '(none)'}", nxt["sample_id"]
    return _rounded(rows), text, meta, sid, check.line()


def _overview(service, split, selected) -> tuple:
    """(pattern table, pattern dropdown, batches table, batch dropdown)."""
    table = service.patterns.patterns(split)
    ids = table["pattern"].tolist()
    batches = service.patterns.batches(split)
    undoable = batches[(batches["kind"] == "apply") & (batches["undone_by"] == "") & (batches["action"] != "skip")]
    return (_rounded(table[TABLE_SHOWN]), gr.Dropdown(choices=ids, value=selected if selected in ids else None),
            batches[BATCH_SHOWN], gr.Dropdown(choices=undoable["batch"].tolist(),
                                              value=undoable["batch"].iat[0] if len(undoable) else None))


def build_patterns_tab(service, split: gr.Dropdown) -> tuple:
    """The tab, wired; returns ``(fn, inputs, outputs)`` that fills it (on tab select)."""
    c = _layout(service)
    overview_out = [c.table, c.pattern, c.batches, c.batch]
    view_in = [split, c.pattern, c.k, c.threshold, c.action]
    view_out = [c.rows, c.spot_text, c.spot_meta, c.spot_id, c.spot_line]

    def overview(split_, selected):
        try:
            return _overview(service, split_ or None, selected)
        except ERRORS as exc:
            raise _error(exc) from None

    def view(split_, pattern, k, threshold, action):
        try:
            return _pattern_view(service, split_ or None, pattern, int(k or 0) or None, threshold, action)
        except ERRORS as exc:
            raise _error(exc) from None

    for event in (c.refresh.click, split.change):
        event(overview, [split, c.pattern], overview_out, api_visibility="private").then(
            view, view_in, view_out, api_visibility="private")
    def pick(frame: pd.DataFrame, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        return frame.iloc[int(row)]["pattern"]

    c.table.select(pick, c.table, c.pattern, api_visibility="private")
    for event in (c.pattern.change, c.k.change, c.threshold.change, c.action.change):
        event(view, view_in, view_out, api_visibility="private")
    _wire_writes(service, c, split, (view, view_in, view_out), (overview, [split, c.pattern], overview_out))
    _api_endpoints(service)
    return overview, [split, c.pattern], overview_out


def _wire_writes(service, c: SimpleNamespace, split, view: tuple, overview: tuple) -> None:
    """The spot-check judgements, the bulk action and the undo; each refreshes the view and the overview."""
    def judge(kind: str):
        def handler(split_, pattern, sid, reviewer, request: gr.Request, profile: gr.OAuthProfile | None):
            if sid is None:
                raise gr.Error("No spot-check row to judge: pick a pattern first.", print_exception=False)
            caller = caller_from(request, profile, reviewer)
            nxt = service.patterns.grouped(split_ or None).of(pattern).loc[int(sid)]
            action, label = {"right": ("relabel", nxt["suggest"]), "keep": ("keep", None),
                             "ambiguous": ("ambiguous", None)}[kind]
            try:
                service.reviews.decide(int(sid), action, split=split_ or None, new_label=label or None,
                                       note=f"spot check: {pattern}", caller=caller)
            except ERRORS as exc:
                raise _error(exc) from None
        return handler

    for button, kind in ((c.right, "right"), (c.keep, "keep"), (c.ambiguous, "ambiguous")):
        button.click(judge(kind), [split, c.pattern, c.spot_id, c.reviewer], None, api_visibility="private").then(
            *view, api_visibility="private")

    def apply(split_, pattern, action, k, threshold, reviewer, request: gr.Request, profile: gr.OAuthProfile | None):
        if not pattern:
            raise gr.Error("Pick a pattern first.", print_exception=False)
        try:
            out = service.patterns.apply(pattern, action, split_ or None, k=int(k or 0) or None, threshold=threshold,
                                         caller=caller_from(request, profile, reviewer))
        except ERRORS as exc:
            raise _error(exc) from None
        left = f"; {out['left_out']} left out (no suggested class)" if out["left_out"] else ""
        return f"batch {out['batch']}: {out['action']} on {out['rows']} rows{left}"

    def undo(split_, batch, reviewer, request: gr.Request, profile: gr.OAuthProfile | None):
        if not batch:
            raise gr.Error("Pick a batch to undo.", print_exception=False)
        try:
            out = service.patterns.undo(batch, split_ or None, caller=caller_from(request, profile, reviewer))
        except ERRORS as exc:
            raise _error(exc) from None
        kept = f"; {out['kept']} rows kept their later decision" if out["kept"] else ""
        return f"batch {out['undoes']} undone: {out['rows']} rows back to their previous decision{kept}"

    c.apply.click(apply, [split, c.pattern, c.action, c.k, c.threshold, c.reviewer], c.bulk_line,
                  api_visibility="private").then(*overview, api_visibility="private").then(*view,
                                                                                           api_visibility="private")
    c.undo.click(undo, [split, c.batch, c.reviewer], c.bulk_line, api_visibility="private").then(
        *overview, api_visibility="private").then(*view, api_visibility="private")


def _api_endpoints(service) -> None:
    """``patterns``, ``pattern_rows``, ``pattern_apply`` and ``batch_undo`` for ``gradio_client`` scripts."""

    def patterns(split: str = "", top_share: float = 0.0) -> list[dict]:
        """The split's patterns: id, name, size, given and suggested mixes, audited precision and interval."""
        try:
            table = service.patterns.patterns(split or None, top_share=top_share or None)
        except ERRORS as exc:
            raise _error(exc) from None
        return table.astype(object).where(table.notna(), None).to_dict(orient="records")

    def pattern_rows(pattern: str, split: str = "", limit: int = 100, k: int = 0, top_share: float = 0.0) -> list[dict]:
        """A pattern's rows, most suspect first, with the current decision and whether each is in the spot check."""
        try:
            rows = service.patterns.pattern_rows(pattern, split or None, k=int(k) or None, top_share=top_share or None)
        except ERRORS as exc:
            raise _error(exc) from None
        rows = rows.head(max(0, int(limit)))
        return rows.astype(object).where(rows.notna(), None).to_dict(orient="records")

    def pattern_apply(pattern: str, action: str, split: str = "", k: int = 0, threshold: float = -1.0,
                      top_share: float = 0.0, reviewer: str = "", request: gr.Request = None,
                      profile: gr.OAuthProfile | None = None) -> dict:
        """Relabel the rest of a pattern to the suggested class, mark it ambiguous, or skip it, once its spot check
        passes (``threshold`` < 0: the server's); returns the batch id and how many rows it decided."""
        try:
            return service.patterns.apply(pattern, action, split or None, k=int(k) or None,
                                          threshold=None if threshold is None or threshold < 0 else threshold,
                                          top_share=top_share or None, caller=caller_from(request, profile, reviewer))
        except ERRORS as exc:
            raise _error(exc) from None

    def batch_undo(batch: str, split: str = "", reviewer: str = "", request: gr.Request = None,
                   profile: gr.OAuthProfile | None = None) -> dict:
        """Revert a batch with new events: each row gets its previous current decision back."""
        try:
            return service.patterns.undo(batch, split or None, caller=caller_from(request, profile, reviewer))
        except ERRORS as exc:
            raise _error(exc) from None

    for fn in (patterns, pattern_rows, pattern_apply, batch_undo):
        gr.api(fn, api_name=fn.__name__)
