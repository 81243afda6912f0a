"""check_writer: who may write review decisions in each access mode."""

from __future__ import annotations

import pytest

from core.review.access import (
    AccessDenied,
    Caller,
    authorize,
    check_writer,
    parse_allowlist,
    parse_users,
    profile_org_names,
)
from core.settings import Settings


def test_open_mode_records_the_typed_name_and_anyone_may_write() -> None:
    assert check_writer("open", claimed="  ana ") == "ana"
    assert check_writer("open") == ""
    assert check_writer("open", claimed="eve", allowlist="ana") == "eve"  # no identity to check against


@pytest.mark.parametrize("mode", ["login", "password"])
def test_an_anonymous_caller_is_refused(mode: str) -> None:
    with pytest.raises(AccessDenied, match="nothing was recorded"):
        check_writer(mode, claimed="ana")  # a typed name is no identity


def test_login_records_the_signed_in_user_not_the_typed_name() -> None:
    assert check_writer("login", profile_username="ana", claimed="somebody else") == "ana"
    with pytest.raises(AccessDenied, match="Sign in with Hugging Face"):
        check_writer("login", password_user="ana")  # a password login is not a Hub sign-in


def test_login_allowlist_by_user_and_by_org() -> None:
    allow = "Ana, org:Emotion-Lab"
    assert check_writer("login", profile_username="ana", allowlist=allow) == "ana"  # names are case-insensitive
    assert check_writer("login", profile_username="bo", profile_orgs=("emotion-lab",), allowlist=allow) == "bo"
    with pytest.raises(AccessDenied, match="'eve' is signed in but is not one of this app's reviewers"):
        check_writer("login", profile_username="eve", profile_orgs=("other-lab",), allowlist=allow)


def test_password_records_the_logged_in_name() -> None:
    assert check_writer("password", password_user="bo", claimed="ana") == "bo"
    with pytest.raises(AccessDenied, match="Log in with a reviewer name"):
        check_writer("password", profile_username="bo")
    with pytest.raises(AccessDenied, match="not one of"):
        check_writer("password", password_user="bo", allowlist="ana")


def test_unknown_mode_is_an_error_not_open_access() -> None:
    with pytest.raises(ValueError, match="unknown review access mode"):
        check_writer("public", claimed="ana")


def test_authorize_uses_a_caller_and_none_is_anonymous() -> None:
    assert authorize("login", Caller(profile_username="ana")) == "ana"
    with pytest.raises(AccessDenied):
        authorize("password", None)


def test_parsers() -> None:
    assert parse_allowlist(" ana ,org:lab,, org: ,BO") == (frozenset({"ana", "bo"}), frozenset({"lab"}))
    assert parse_users("ana:pw1, bo:p:w2") == [("ana", "pw1"), ("bo", "p:w2")]
    for bad, match in [("ana", "entry 1"), ("ana:x,:pw", "entry 2"), ("ana:x,ana:y", "twice"), ("ana:", "entry 1")]:
        with pytest.raises(ValueError, match=match):
            parse_users(bad)
    profile = {"preferred_username": "ana", "orgs": [{"preferred_username": "lab", "name": "The Lab"}, "junk"]}
    assert profile_org_names(profile) == ("lab",)
    assert profile_org_names(None) == () and profile_org_names({"orgs": "x"}) == ()


def test_settings_default_mode_is_login_on_a_space_and_open_elsewhere() -> None:
    assert Settings.from_sources([], env={}).access == "open"
    assert Settings.from_sources([], env={"SPACE_ID": "ana/emotion-lens"}).access == "login"
    on_space = Settings.from_sources(["--review-access", "password"], env={"SPACE_ID": "a/b"})
    assert on_space.access == "password"
    assert Settings.from_sources([], env={"EMOTION_REVIEW_USERS": "ana:pw"}).review_users == "ana:pw"
