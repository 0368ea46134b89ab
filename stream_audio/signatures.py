"""Whether an event is Vonage's own: signed for this body, recently, and only once."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import logging
import threading
import time

import jwt

from stream_audio.events import EventRefused

log = logging.getLogger(__name__)

EVENT_MAX_AGE_SECONDS = 5 * 60
CLOCK_SKEW_SECONDS = 30


class SignedEvents:
    """Accepts an event only if Vonage signed it, for this body, recently, and only once.

    Vonage puts an HS256 JWT in `Authorization: Bearer ...`, keyed by the account's
    signature secret, with `payload_hash` (SHA-256 of the body), `iat` and `jti`.
    """

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._forget_at: list[tuple[float, str]] = []  # a heap of (when, jti)

    def check(self, authorization: str, body: bytes) -> None:
        """Raise EventRefused unless `authorization` carries Vonage's signature of `body`."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise EventRefused("no Bearer token in the Authorization header")
        try:
            claims = jwt.decode(
                token.strip(),
                self._secret,
                algorithms=["HS256"],
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iat", "jti", "payload_hash"]},
            )
        except jwt.InvalidSignatureError:
            raise EventRefused("the signature does not match VONAGE_SIGNATURE_SECRET") from None
        except jwt.MissingRequiredClaimError as error:
            raise EventRefused(f"no {error.claim} claim") from None
        except jwt.ImmatureSignatureError:
            raise EventRefused(f"iat is more than {CLOCK_SKEW_SECONDS} s ahead of this clock") from None
        except jwt.InvalidTokenError as error:
            raise EventRefused(f"the token is not a valid JWT ({type(error).__name__})") from None
        payload_hash = str(claims["payload_hash"]).encode(errors="replace")
        if not hmac.compare_digest(payload_hash, hashlib.sha256(body).hexdigest().encode()):
            raise EventRefused("payload_hash does not match the body")
        now = time.time()
        if now - claims["iat"] > EVENT_MAX_AGE_SECONDS:
            raise EventRefused("iat is more than 5 minutes old")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise EventRefused("no jti claim")
        self._remember(jti, claims["iat"] + EVENT_MAX_AGE_SECONDS + CLOCK_SKEW_SECONDS, now)

    def _remember(self, jti: str, forget_at: float, now: float) -> None:
        # Once `iat` is outside the window the token is refused anyway, so its jti
        # need only be kept until then.
        with self._lock:
            while self._forget_at and self._forget_at[0][0] < now:
                self._seen.discard(heapq.heappop(self._forget_at)[1])
            if jti in self._seen:
                raise EventRefused("its jti has been seen before: a replayed request")
            self._seen.add(jti)
            heapq.heappush(self._forget_at, (forget_at, jti))


def warn_unsigned(length_timer: int) -> None:
    """Say once, at start-up, what anyone who finds BASE_URL can do while events are not verified."""
    log.warning(
        "VONAGE_SIGNATURE_SECRET is not set, so events are NOT verified: anyone who finds BASE_URL can post "
        "fake ones, such as an `answered` that starts the music on a call still ringing. The app acts only on "
        "calls it placed, asks the Voice API before a final status ends a call in progress (so a forged "
        "`completed` cannot cancel a hang-up), and Vonage ends each call %d s after it is answered whatever "
        "happens. Set VONAGE_SIGNATURE_SECRET (dashboard, Settings) so that only Vonage's own events count.",
        length_timer,
    )
