"""Gradio pieces for who may review and where decisions are kept (:mod:`core.review.access`,
:mod:`core.review.sync`).

- :func:`caller_from` turns what Gradio knows about a request (``request.username`` behind
  ``auth=``, the ``gr.OAuthProfile`` from the signed session cookie) into a :class:`core.review.access.Caller`;
  every writing handler passes it to the reviews service (:mod:`core.services.reviews`), the one place
  that runs the check.
- :func:`launch_auth` gives ``demo.launch(auth=...)`` for ``password`` access.
- :func:`build_access_panel` is the top of the Review tab: the sign-in button (``login`` access, on a
  Space only), who the visitor writes as, the warning when decisions would be lost on restart, the
  sync status, and download/upload of every decision as JSON Lines.

Gradio mocks Hugging Face sign-in when a ``gr.LoginButton`` exists outside a Space: anyone who clicks
it is signed in as the owner of the server's token (GHSA-h3h8-3v2v-rg7m). This module creates a
``LoginButton`` only when Gradio itself sees a Space (:func:`oauth_is_real`), so the mocked routes are
never added; :func:`assert_no_mocked_oauth` checks a built app.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from core.services.reviews import AccessDenied, Caller, ReviewStoreError, caller_of, password_users


def oauth_is_real() -> bool:
    """Whether Gradio would add the real Hugging Face OAuth routes (it mocks them everywhere else)."""
    from gradio.utils import get_space

    return get_space() is not None


def assert_no_mocked_oauth(demo: gr.Blocks) -> None:
    """Refuse an app that would get Gradio's mocked sign-in (a LoginButton outside a Space)."""
    if demo.expects_oauth and not oauth_is_real():
        raise RuntimeError("refusing to serve a LoginButton outside a Hugging Face Space: Gradio would mock the "
                           "sign-in with the server's own Hub account (GHSA-h3h8-3v2v-rg7m)")


def caller_from(request: gr.Request | None, profile: gr.OAuthProfile | None, typed_name: str = "") -> Caller:
    """What the server knows about a caller; never trusts a typed name except as the free-text name."""
    username = getattr(request, "username", None) if request is not None else None
    return caller_of(profile, password_user=username if isinstance(username, str) and username else None,
                     claimed=typed_name)


def launch_auth(service) -> list[tuple[str, str]] | None:
    """``auth=`` for ``demo.launch``: the ``EMOTION_REVIEW_USERS`` pairs in ``password`` access, else ``None``.

    Raises ``ValueError`` when ``password`` access has no (or malformed) users.
    """
    return password_users(service.settings)


def access_line(service, request: gr.Request | None, profile: gr.OAuthProfile | None) -> str:
    """Who the visitor writes as, or why they cannot write."""
    mode = service.settings.access
    if mode == "open":
        return "Anyone may record decisions here; the reviewer name is the one typed below."
    if mode == "login" and not oauth_is_real():
        return ("Review decisions need Hugging Face sign-in, which only works on a Space: this server accepts no "
                "writes. Run with --review-access password (and EMOTION_REVIEW_USERS) to review here.")
    try:
        who = service.reviews.authorize(caller_from(request, profile))
    except AccessDenied as exc:
        return f"You can read everything, but not record decisions: {exc}"
    return f"Recording decisions as **{who}**."


@dataclass
class AccessPanel:
    """Components of the Review tab's access panel (for tests and the app)."""

    who: gr.Markdown
    warning: gr.Markdown
    sync: gr.Markdown
    load: tuple = ()  # (fn, inputs, outputs) for the page's load event: who the visitor writes as


def build_access_panel(service) -> AccessPanel:
    """Sign-in, who writes, the restart warning, sync status and decision download/upload."""
    mode = service.settings.access
    warning_text = service.reviews.ephemeral_warning()
    with gr.Row(equal_height=True):
        if mode == "login" and oauth_is_real():
            gr.LoginButton(scale=0, min_width=240)
        who = gr.Markdown(elem_id="review-access")
    warning = gr.Markdown(warning_text, visible=bool(warning_text), elem_id="review-ephemeral-warning")
    sync = gr.Markdown(service.reviews.sync_status(), elem_id="review-sync-status")
    with gr.Accordion("Carry decisions by hand (JSON Lines)", open=bool(warning_text)):
        with gr.Row():
            download = gr.Button("Download every decision", elem_id="review-events-download")
            upload = gr.File(label="upload decisions (.jsonl)", file_types=[".jsonl"], elem_id="review-events-upload")
        carried = gr.File(label="download", interactive=False, elem_id="review-events-file")
        upload_note = gr.Textbox(label="upload", interactive=False, elem_id="review-events-note")

    def who_is(request: gr.Request, profile: gr.OAuthProfile | None) -> str:
        return access_line(service, request, profile)

    def on_upload(file, request: gr.Request, profile: gr.OAuthProfile | None) -> str:
        if not file:
            return ""
        try:
            return service.reviews.import_file(file, caller=caller_from(request, profile))
        except (AccessDenied, ReviewStoreError, OSError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    timer = gr.Timer(30)  # the sync status, refreshed (a private event, not an API endpoint)
    timer.tick(service.reviews.sync_status, None, sync, api_visibility="private")
    download.click(lambda: str(service.reviews.export_events()), None, carried, api_visibility="private")
    upload.upload(on_upload, upload, upload_note, api_visibility="private")
    return AccessPanel(who, warning, sync, load=(who_is, None, who))
