"""What every answer tells the browser: no framing, nothing from elsewhere, no sniffing, no referrer,
and no copy of a page kept; the app's own answers and its error pages, Flask's and waitress's alike."""

from __future__ import annotations

from flask import Response

# Only this app's own script, styles and pages, and no framing: nothing from a CDN, no clickjacking.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
EVERY_ANSWER = {
    "Content-Security-Policy": PAGE_POLICY,
    # A page's address may hold the call token (the start-up link): no link on it passes that on.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# Pages show calls and numbers: no browser or proxy keeps a copy.
NOT_KEPT = {"Cache-Control": "no-store"}
# The same, for what waitress answers itself: requests it refuses before the app sees them.
SERVER_ANSWER = [*EVERY_ANSWER.items(), *NOT_KEPT.items()]


def protect(answer: Response) -> Response:
    """`answer` with EVERY_ANSWER's headers; not kept by caches, unless it says how to keep it (the audio)."""
    answer.headers.update(EVERY_ANSWER)
    if answer.mimetype == "text/html" or "Cache-Control" not in answer.headers:
        answer.headers.update(NOT_KEPT)
    return answer
