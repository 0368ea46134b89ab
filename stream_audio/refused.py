"""The one refusal: what was asked (place a call, stop its music, say something...) cannot be done now."""

from __future__ import annotations


class Refused(Exception):
    """The HTTP status for whoever asked, why in plain words, and when to ask again (Retry-After), if known."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
