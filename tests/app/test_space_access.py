"""Only reviewers write: password access on a real server, login access through Gradio's own injection.

Hugging Face sign-in cannot happen off a Space (and must not be mocked, GHSA-h3h8-3v2v-rg7m), so the
``login`` tests build the real app in-process and call its real handlers the way Gradio does
(``gradio.helpers.special_args`` fills ``gr.Request`` and ``gr.OAuthProfile`` from a session).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import gradio as gr
import pytest
from starlette.requests import Request as StarletteRequest

from core.review.store import ReviewStore
from tests.app.space_server import small_data, start_app
from tests.conftest import needs_emotion

pytestmark = needs_emotion

USERS = "ana:pw-ana,bo:s3cret:with:colons"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return small_data(tmp_path_factory.mktemp("data"))


def _count(db: Path) -> int:
    return ReviewStore(db).count() if db.exists() else 0


def _post(url: str, payload: dict) -> tuple[int, str]:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# ---------------------------------------------------------------------------------------------
# password: a real server behind Gradio's auth=


@pytest.fixture(scope="module")
def password_server(tmp_path_factory, tiny_model_dir, data):
    server = start_app(tiny_model_dir, data, tmp_path_factory.mktemp("pw") / "cache",
                       env={"EMOTION_REVIEW_ACCESS": "password", "EMOTION_REVIEW_USERS": USERS})
    yield server
    server.stop()


def test_password_anonymous_review_decide_is_refused_and_nothing_recorded(password_server):
    from gradio_client import Client

    before = _count(password_server.db)
    status, _ = _post(password_server.url + "gradio_api/call/review_decide", {"data": [0, "keep", "", "", "", "eve"]})
    assert status in (401, 403)
    from gradio_client.exceptions import AuthenticationError

    with pytest.raises(AuthenticationError, match="credentials were not provided"):  # cannot even read the config
        Client(password_server.url, verbose=False).predict(0, "keep", "", "", "", "eve", api_name="/review_decide")
    with pytest.raises(ValueError, match="Could not login"):  # a wrong password is no login
        Client(password_server.url, auth=("ana", "wrong"), verbose=False)
    assert _count(password_server.db) == before


def test_password_logged_in_review_decide_is_recorded_under_the_login_name(password_server):
    from gradio_client import Client

    before = _count(password_server.db)
    client = Client(password_server.url, auth=("bo", "s3cret:with:colons"), verbose=False)
    got = client.predict(4, "relabel", "fear", "n", "", "mallory", api_name="/review_decide")
    assert got["reviewer"] == "bo"  # the typed name is ignored
    store = ReviewStore(password_server.db)
    assert _count(password_server.db) == before + 1
    assert store.events()[-1]["reviewer"] == "bo" and store.events()[-1]["event_id"] == got["event_id"]


# ---------------------------------------------------------------------------------------------
# login: the real app in-process, handlers called as Gradio calls them


@pytest.fixture(scope="module")
def login_app(tmp_path_factory, tiny_model_dir, data):
    from core.services.emotion import EmotionService
    from core.settings import Settings
    from dashboard.app import build_app

    cache = tmp_path_factory.mktemp("login")
    settings = Settings(model=str(tiny_model_dir), data=str(data), cache_dir=cache, review_access="login",
                        reviewers="ana,org:emotion-lab", batch_size=16)
    service = EmotionService.load(settings, show_progress=False)
    return service, build_app(service)


def _request(profile: dict | None) -> gr.Request:
    session = {} if profile is None else {"oauth_info": {"userinfo": profile, "expires_at": int(time.time()) + 600}}
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": [], "session": session}
    return gr.Request(request=StarletteRequest(scope))


def _profile(username: str, orgs: tuple[str, ...] = ()) -> dict:
    return {"preferred_username": username, "name": username.title(), "profile": f"https://huggingface.co/{username}",
            "picture": "", "orgs": [{"preferred_username": o, "name": o} for o in orgs]}


def _call(demo: gr.Blocks, api_name: str, inputs: list, profile: dict | None):
    """Call an endpoint's function with Gradio's own injection of ``gr.Request`` and ``gr.OAuthProfile``."""
    from gradio.helpers import special_args

    fn = next(f.fn for f in demo.fns.values() if f.api_name == api_name)
    args, *_ = special_args(fn, inputs=list(inputs), request=_request(profile))
    return fn(*args)


def _ui_action(demo: gr.Blocks):
    return next(f.fn for f in demo.fns.values()
                if f.fn is not None and f.fn.__qualname__ == "_Queue.act.<locals>.handler")


def test_login_without_a_profile_refuses_and_records_nothing(login_app):
    service, demo = login_app
    before = service.reviews.count()
    with pytest.raises(gr.Error, match="Sign in with Hugging Face"):
        _call(demo, "review_decide", [0, "keep", "", "", "", "ana"], None)  # a typed name is no sign-in
    from gradio.helpers import special_args

    ui = _ui_action(demo)  # the Review tab's button handler
    args, *_ = special_args(ui, inputs=[[service.analyses.default_split, 0], None, None, "ana", "", "any", "any", 0.0,
                                        1.0, []], request=_request(None))
    with pytest.raises(gr.Error, match="Sign in"):
        ui(*args)
    assert service.reviews.count() == before


def test_login_with_a_profile_records_that_user(login_app):
    service, demo = login_app
    got = _call(demo, "review_decide", [1, "relabel", "anger", "", "", "mallory"], _profile("ana"))
    assert got["reviewer"] == "ana"
    org_member = _call(demo, "review_decide", [2, "keep", "", "", "", ""], _profile("carla", ("emotion-lab",)))
    assert org_member["reviewer"] == "carla"
    stored = service.reviews.events()[-2:]
    assert [e["reviewer"] for e in stored] == ["ana", "carla"]
    assert [e["event_id"] for e in stored] == [got["event_id"], org_member["event_id"]]


def test_login_unlisted_user_is_refused(login_app):
    service, demo = login_app
    before = service.reviews.count()
    with pytest.raises(gr.Error, match="'eve' is signed in but is not one of this app's reviewers"):
        _call(demo, "review_decide", [3, "keep", "", "", "", "ana"], _profile("eve", ("other-org",)))
    assert service.reviews.count() == before


def test_reading_stays_open_in_login_mode(login_app):
    _, demo = login_app
    rows = _call(demo, "review_queue", ["any", "any", "", 5], None)
    assert len(rows) == 5 and {"sample_id", "text"} <= set(rows[0])


# ---------------------------------------------------------------------------------------------
# never Gradio's mocked sign-in off a Space


@pytest.mark.server
def test_login_mode_off_a_space_has_no_login_button_and_no_mocked_routes(tmp_path, tiny_model_dir, data, login_app):
    _, demo = login_app
    assert not demo.expects_oauth  # no LoginButton, so Gradio adds no (mocked) OAuth routes
    server = start_app(tiny_model_dir, data, tmp_path / "cache", env={"EMOTION_REVIEW_ACCESS": "login"})
    try:
        for path in ("login/huggingface", "login/callback"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(server.url + path, timeout=30)
            assert err.value.code == 404
        from gradio_client import Client

        with pytest.raises(Exception, match="Sign in"):
            Client(server.url, verbose=False).predict(0, "keep", "", "", "", "eve", api_name="/review_decide")
        assert _count(server.db) == 0
        assert "sign-in is unavailable here" in server.output()
    finally:
        server.stop()


def _on_a_space(monkeypatch) -> None:
    """The environment a Space with ``hf_oauth: true`` gives the app (Gradio reads the OAuth values at import)."""
    import gradio.oauth

    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.setenv("SPACE_ID", "ana/emotion-lens")
    for name, value in (("OAUTH_CLIENT_ID", "client"), ("OAUTH_CLIENT_SECRET", "secret"),
                        ("OAUTH_SCOPES", "openid profile"), ("OPENID_PROVIDER_URL", "https://huggingface.co")):
        monkeypatch.setattr(gradio.oauth, name, value)


def test_a_login_button_is_refused_once_off_a_space(monkeypatch):
    from dashboard.review_access import assert_no_mocked_oauth

    _on_a_space(monkeypatch)
    with gr.Blocks() as demo:
        gr.LoginButton()
    assert_no_mocked_oauth(demo)  # on a Space Gradio added the real routes
    monkeypatch.delenv("SYSTEM")
    with pytest.raises(RuntimeError, match="GHSA-h3h8-3v2v-rg7m"):
        assert_no_mocked_oauth(demo)


def test_on_a_space_the_review_tab_has_the_login_button(login_app, monkeypatch):
    from dashboard.app import build_app

    service, _ = login_app
    _on_a_space(monkeypatch)
    demo = build_app(service)
    assert demo.expects_oauth
    paths = {getattr(r, "path", None) for r in demo.app.routes}
    assert {"/login/huggingface", "/login/callback", "/logout"} <= paths


def test_decisions_download_and_upload_round_trip_behind_the_check(login_app, tmp_path):
    from core.review.access import AccessDenied, Caller
    service, _ = login_app
    elsewhere = ReviewStore(tmp_path / "elsewhere.sqlite")  # decisions carried by hand from another Space
    made = [elsewhere.record(service.dataset_key, i, action="keep", old_label="joy", reviewer="ana") for i in (7, 8)]
    upload = tmp_path / "review-decisions.jsonl"
    upload.write_text("".join(json.dumps({k: v for k, v in e.items() if k != "id"}) + "\n"
                              for e in elsewhere.events()))
    upload.write_text(upload.read_text() + "not json\n")
    before = service.reviews.count()
    with pytest.raises(AccessDenied):
        service.reviews.import_file(upload, caller=Caller(claimed="ana"))
    assert service.reviews.count() == before
    line = service.reviews.import_file(upload, caller=Caller(profile_username="ana"))
    assert line.startswith("2 new decisions imported, 0 already present, 0 set aside, 1 refused (line 3: not JSON")
    assert {d.event_id for d in made} <= {e["event_id"] for e in service.reviews.events()}
    (tmp_path / "mine").mkdir()
    with pytest.raises(AccessDenied, match="Exports are for reviewers only"):  # names and notes: reviewers only
        service.reviews.export_events(tmp_path / "mine", caller=Caller(claimed="ana"))
    assert not (tmp_path / "mine" / "review-decisions.jsonl").exists()
    again = service.reviews.import_file(service.reviews.export_events(tmp_path / "mine",
                                                                      caller=Caller(profile_username="ana")),
                                        caller=Caller(profile_username="ana"))
    assert again == f"0 new decisions imported, {service.reviews.count()} already present, 0 set aside, 0 refused."
