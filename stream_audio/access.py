"""Who may place calls and act on them: whoever holds the call token, and only from this app's own pages.

The token travels once in the start-up link (/call?token=...); the answer sets it as an
HttpOnly, SameSite=Strict cookie, so pages opened from that link keep working without
it in their URLs, and another site can neither read it nor send it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from urllib.parse import urlsplit

from flask import Request, Response

log = logging.getLogger(__name__)

COOKIE = "call_token"
COOKIE_DAYS = 30


class CallToken:
    def __init__(self, token: str = "") -> None:
        # No CALL_TOKEN set: a fresh one per start, printed in the link to open, as Jupyter does.
        self.generated = not token
        self.value = token or secrets.token_urlsafe(18)

    def link(self, base: str) -> str:
        return f"{base}/call?token={self.value}"

    def in_query(self, request: Request) -> bool:
        return self._matches(request.args.get("token", ""))

    def allows(self, request: Request) -> bool:
        """True if `request` carries the token, in the query string or the cookie set from it."""
        return self.in_query(request) or self._matches(request.cookies.get(COOKIE, ""))

    def remember(self, response: Response, request: Request) -> None:
        """Keep the token in a cookie, so pages opened from the link need no token in their URLs."""
        response.set_cookie(
            COOKIE, self.value, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="Strict", secure=request.is_secure
        )

    def _matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(errors="replace"), self.value.encode())


def from_this_site(request: Request) -> bool:
    """False for a request another site's page made: a state change must come from this app's own pages."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host
