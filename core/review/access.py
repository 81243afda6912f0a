"""Who may write review decisions: one server-side check in front of every writing operation.

Three modes (``settings.access``):

- ``open``: anyone writes; the reviewer name is whatever the caller typed (a local, single-user tool).
- ``login``: Hugging Face sign-in on a Space. The reviewer is the signed-in user; an optional
  allow-list (``EMOTION_REVIEWERS``: user names and ``org:<name>`` entries, comma-separated) limits
  who may write. Reading stays open to everyone.
- ``password``: the whole app sits behind Gradio's login (``demo.launch(auth=...)``) with the
  ``name:password`` pairs of ``EMOTION_REVIEW_USERS``; the reviewer is the logged-in name.

:func:`check_writer` is pure (no Gradio, no I/O): the dashboard passes it what the server knows about
the caller (the OAuth profile Gradio injected from the signed session, or ``request.username``) and
never anything the caller typed, except the free-text name in ``open`` mode.

Example
-------
>>> check_writer("login", profile_username="ana", allowlist="ana,org:lab")
'ana'
>>> check_writer("login", profile_username="bo", profile_orgs=("lab",), allowlist="ana,org:lab")
'bo'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MODES: tuple[str, ...] = ("open", "login", "password")


class AccessDenied(PermissionError):
    """The caller may not write review decisions; the message tells them what to do."""


@dataclass(frozen=True)
class Caller:
    """What the server knows about whoever asks to write.

    ``profile_username`` and ``profile_orgs`` come from the Hugging Face OAuth profile in the signed
    session cookie, ``password_user`` from Gradio's own login (``request.username``), ``claimed`` is
    the free-text reviewer name (used in ``open`` mode only).
    """

    profile_username: str | None = None
    profile_orgs: tuple[str, ...] = ()
    password_user: str | None = None
    claimed: str = ""


def parse_allowlist(allowlist: str) -> tuple[frozenset[str], frozenset[str]]:
    """``"ana, org:lab"`` -> ``({"ana"}, {"lab"})``, case-folded (Hub names are case-insensitive)."""
    users, orgs = set(), set()
    for item in (x.strip() for x in (allowlist or "").split(",")):
        if not item:
            continue
        if item.lower().startswith("org:"):
            if item[4:].strip():
                orgs.add(item[4:].strip().casefold())
        else:
            users.add(item.casefold())
    return frozenset(users), frozenset(orgs)


def parse_users(text: str) -> list[tuple[str, str]]:
    """``"ana:pw1,bo:pw2"`` -> ``[("ana", "pw1"), ("bo", "pw2")]``; a ``ValueError`` names the bad entry.

    Passwords may contain ``:`` (the name ends at the first one) but not ``,``.
    """
    pairs: list[tuple[str, str]] = []
    for n, item in enumerate((x.strip() for x in (text or "").split(",")), 1):
        if not item:
            continue
        name, sep, password = item.partition(":")
        if not sep or not name.strip() or not password:
            raise ValueError(f"EMOTION_REVIEW_USERS entry {n} is not name:password")
        if name.strip() in {p[0] for p in pairs}:
            raise ValueError(f"EMOTION_REVIEW_USERS names {name.strip()!r} twice")
        pairs.append((name.strip(), password))
    return pairs


def profile_org_names(profile: dict | None) -> tuple[str, ...]:
    """The organisation handles in a Hugging Face OAuth profile (``orgs[].preferred_username``).

    The Hub lists an organisation there only when it granted access to the Space's OAuth app
    (``hf_oauth_authorized_org`` in the README front matter).
    """
    orgs = (profile or {}).get("orgs") or []
    names = []
    for org in orgs if isinstance(orgs, list) else []:
        if isinstance(org, dict):
            name = org.get("preferred_username") or org.get("name")
            if isinstance(name, str) and name:
                names.append(name)
    return tuple(names)


def check_writer(
    mode: str,
    *,
    profile_username: str | None = None,
    profile_orgs: Iterable[str] = (),
    password_user: str | None = None,
    allowlist: str = "",
    claimed: str = "",
) -> str:
    """The reviewer name to record, or :class:`AccessDenied` with a message for the caller.

    Parameters
    ----------
    mode : ``open``, ``login`` or ``password``.
    profile_username, profile_orgs : the signed-in Hugging Face user and their organisations (``login``).
    password_user : the name the caller logged in with through Gradio's ``auth=`` (``password``).
    allowlist : ``EMOTION_REVIEWERS``; empty means every signed-in (or logged-in) user may write.
    claimed : the free-text reviewer name, recorded as given in ``open`` mode and ignored otherwise.

    Raises
    ------
    AccessDenied : no identity where one is needed, or one that is not on the allow-list.
    ValueError : an unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"unknown review access mode {mode!r}; choose one of {MODES}")
    if mode == "open":
        return str(claimed or "").strip()
    if mode == "login":
        who = (profile_username or "").strip()
        if not who:
            raise AccessDenied("Sign in with Hugging Face (the button at the top of the Review tab) to record "
                               "review decisions; nothing was recorded.")
        how = "signed in"
    else:
        who = (password_user or "").strip()
        if not who:
            raise AccessDenied("Log in with a reviewer name and password to record review decisions; "
                               "nothing was recorded.")
        how = "logged in"
    users, orgs = parse_allowlist(allowlist)
    if (users or orgs) and who.casefold() not in users and not ({o.casefold() for o in profile_orgs} & orgs):
        raise AccessDenied(f"{who!r} is {how} but is not one of this app's reviewers (EMOTION_REVIEWERS); "
                           "nothing was recorded. Ask the owner to add you.")
    return who


def startup_problem(settings) -> str:
    """Why these access settings cannot serve at all (``""`` when they can)."""
    if settings.access not in MODES:
        return f"unknown review access mode {settings.access!r}; choose one of {MODES}"
    if settings.access == "password":
        try:
            users = parse_users(settings.review_users)
        except ValueError as exc:
            return str(exc)
        if not users:
            return ("--review-access password needs reviewers and passwords in the environment variable "
                    "EMOTION_REVIEW_USERS (name:password pairs separated by commas)")
    return ""


def startup_notes(settings) -> list[str]:
    """Lines for the start-up log about who may write."""
    if settings.access == "login" and not settings.space_id:
        return ["review access is 'login' but this is not a Hugging Face Space: sign-in is unavailable here, so "
                "nobody can record decisions (use --review-access password with EMOTION_REVIEW_USERS, or open)"]
    if settings.access == "login" and not settings.reviewers:
        return ["review access is 'login' without EMOTION_REVIEWERS: every signed-in Hugging Face user may "
                "record decisions"]
    return []


def authorize(mode: str, caller: Caller | None, *, allowlist: str = "") -> str:
    """:func:`check_writer` for a :class:`Caller` (``None`` is an anonymous caller)."""
    caller = caller or Caller()
    return check_writer(mode, profile_username=caller.profile_username, profile_orgs=caller.profile_orgs,
                        password_user=caller.password_user, allowlist=allowlist, claimed=caller.claimed)
