"""Who may place calls and act on them: whoever holds the call token, only from this app's own
pages, and a call only when the person asks for one.

The token travels once in the start-up link (/call?token=...); the answer leaves a key derived
from it in an HttpOnly, SameSite=Strict cookie, so pages opened from that link keep working
without the token in their URLs. Cookies are not per port: every local server the browser
visits receives that key, but the key is not the token, and a request carrying it places a call
only with the browser's signs of a person asking (docs/security.md says how far that goes).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from flask import Request, Response

from stream_audio.log_text import shown

log = logging.getLogger(__name__)

COOKIE = "call_pass"
COOKIE_DAYS = 30
# What the cookie's key is derived for: a key for anything else would differ.
COOKIE_PURPOSE = b"stream-audio: the browser's cookie"


class CallToken:
    def __init__(self, token: str = "") -> None:
        # No CALL_TOKEN set: a fresh one per start, printed in the link to open, as Jupyter does.
        self.value = token or secrets.token_urlsafe(18)
        # Another local server that is sent the cookie learns this, not the token.
        self.cookie_value = hmac.new(self.value.encode(), COOKIE_PURPOSE, hashlib.sha256).hexdigest()

    def link(self, base: str) -> str:
        return f"{base}/call?token={self.value}"

    def in_query(self, request: Request) -> bool:
        return _same(request.args.get("token", ""), self.value)

    def presented(self, request: Request) -> bool:
        """True if `request` carries the token itself: in the query string, or as `Authorization: Bearer`."""
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        return self.in_query(request) or (scheme.lower() == "bearer" and _same(bearer.strip(), self.value))

    def allows(self, request: Request) -> bool:
        """True if `request` carries the token, or the cookie the start-up link left."""
        return self.presented(request) or _same(request.cookies.get(COOKIE, ""), self.cookie_value)

    def remember(self, response: Response, request: Request) -> None:
        """Keep the cookie's key, so pages opened from the link need no token in their URLs."""
        response.set_cookie(
            COOKIE,
            self.cookie_value,
            max_age=COOKIE_DAYS * 86400,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
        )


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(errors="replace"), expected.encode())


def from_a_browser(request: Request) -> bool:
    """True if the browser told where the request came from (fetch metadata); scripts say nothing."""
    return "Sec-Fetch-Site" in request.headers


def asked_by_the_person(request: Request) -> bool:
    """True for a page the person opened themselves (the address bar, a bookmark, the start-up link,
    a link on this app's own pages) or a POST from this app's own pages; False for whatever another
    page loads (an image, a frame, a script, a link followed from it) and for a prefetch or prerender."""
    headers = request.headers
    if "Sec-Purpose" in headers or "Purpose" in headers:
        return False
    if request.method == "POST":
        return headers.get("Sec-Fetch-Site") == "same-origin"
    return (
        headers.get("Sec-Fetch-Site") in ("none", "same-origin")
        and headers.get("Sec-Fetch-Mode") == "navigate"
        and headers.get("Sec-Fetch-Dest") == "document"
    )


def fetch_metadata(request: Request) -> str:
    """The fetch metadata of `request`, for the log line of a call not placed."""
    return (
        ", ".join(
            f"{name}: {shown(request.headers[name])}"
            for name in ("Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Purpose", "Purpose")
            if name in request.headers
        )
        or "no fetch metadata"
    )
