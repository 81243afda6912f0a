"""Credentials out of anything people see: the sync URL's user info, token-like query values, ``hf_`` tokens.

Used by :mod:`core.review.sync` for its status line, its ``repr``, its log lines and the errors it reports,
and by :mod:`core.analysis.precomputed` for its log lines.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_SECRET_PARAM = re.compile(r"(token|key|secret|password|passwd|pwd|sig|signature|auth|credential)", re.IGNORECASE)
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{8,}")


def redact_url(url: str) -> str:
    """``url`` without credentials: user and password become ``***``, as do secret-looking query values.

    >>> redact_url("https://ana:s3cret@host/x?token=abc&rev=main")
    'https://***@host/x?token=***&rev=main'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(
        f"{name}=***" if _SECRET_PARAM.search(name) else (f"{name}={value}" if sep else name)
        for name, sep, value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return redact_text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


def url_secrets(url: str) -> list[str]:
    """The secret parts of ``url``: its user info and the values of secret-looking query parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [parts.netloc.rsplit("@", 1)[0]] if "@" in parts.netloc else []
    found += [v for k, _, v in (q.partition("=") for q in parts.query.split("&")) if v and _SECRET_PARAM.search(k)]
    return sorted({f for f in found if len(f) >= 3}, key=len, reverse=True)


def redact_text(text: str, *urls: str) -> str:
    """``text`` with the secrets of ``urls`` (wherever they appear, e.g. in a path an error names), any
    ``scheme://user:password@`` and any ``hf_`` token replaced by ``***``."""
    for url in urls:
        for secret in url_secrets(url or ""):
            text = text.replace(secret, "***")
    return _HF_TOKEN.sub("hf_***", _USERINFO.sub(r"\1***@", text))
