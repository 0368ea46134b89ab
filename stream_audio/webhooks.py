"""Whether an event webhook body is Vonage's: its shape, and (with a secret) its signature."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Request

# Vonage's events are a few hundred bytes; anything near this is not from Vonage.
MAX_EVENT_BYTES = 64 * 1024
# What a call uuid and a status look like; anything else is not from Vonage and is
# refused before it reaches a log line.
CALL_UUID = re.compile(r"[A-Za-z0-9-]{1,64}")
STATUS = re.compile(r"[a-z_]{1,32}")

EVENT_MAX_AGE_SECONDS = 5 * 60
CLOCK_SKEW_SECONDS = 30


class EventRefused(Exception):
    """Why an event was not accepted, in words fit for a log line."""


def shown(text: str) -> str:
    """`text` made safe for one log line: escaped, and cut short."""
    return repr(text[:80])[1:-1]


def json_of(request: Request) -> Any:
    """The request's JSON body, None if it is not JSON, or EventRefused if it nests too deep to parse."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise EventRefused("JSON nested too deep to read") from None


@dataclass(frozen=True)
class VoiceEvent:
    """What the app reads from one event body. Vonage sends more shapes than call statuses:
    transfer and input events carry no status; error, notify and record events no call uuid."""

    kind: str
    call_uuid: str | None = None
    conversation_uuid: str | None = None
    status: str | None = None
    reason: str | None = None  # why Vonage reports an error
    duration: str | None = None  # seconds, on a final status, as a string
    price: str | None = None
    detail: str | None = None  # why a call failed or was rejected
    disconnected_by: str | None = None

    @property
    def billing(self) -> str:
        """What Vonage said of a final status's cost and cause, for a log line: ` (after 21 s, price 0.004)`."""
        said = [
            f"{name} {value}"
            for name, value in (
                ("after", self.duration and f"{self.duration} s"),
                ("price", self.price),
                ("detail", self.detail),
                ("disconnected by", self.disconnected_by),
            )
            if value
        ]
        return f" ({', '.join(said)})" if said else ""


def read_event(body: Any) -> VoiceEvent:
    """The event in a parsed webhook body; EventRefused if it is not one Vonage could send."""
    if not isinstance(body, dict):
        raise EventRefused("a body that is not a JSON object")
    # human/machine events name the call `call_uuid`; error, notify and record events not at all.
    call_uuid = _checked(body, "uuid", CALL_UUID, "call uuid is not letters, digits and dashes") or _checked(
        body, "call_uuid", CALL_UUID, "call uuid is not letters, digits and dashes"
    )
    status = _checked(body, "status", STATUS, "status is not a lower-case word")
    return VoiceEvent(
        kind=_kind(body),
        call_uuid=call_uuid,
        conversation_uuid=_text(body, "conversation_uuid"),
        status=status,
        reason=_text(body, "reason"),
        duration=_text(body, "duration"),
        price=_text(body, "price"),
        detail=_text(body, "detail"),
        disconnected_by=_text(body, "disconnected_by"),
    )


def _kind(body: dict) -> str:
    """What sort of event this is; only `status` events speak of a call's progress."""
    if "dtmf" in body or "speech" in body:
        return "input"
    if body.get("type") == "transfer" or "conversation_uuid_to" in body:
        return "transfer"
    if body.get("type") == "record" or "recording_url" in body:
        return "record"  # a recording, or its transcription
    if "payload" in body:
        return "notify"
    if "status" in body:
        return "status"
    if "reason" in body:
        return "error"
    return "unknown"


def _checked(body: dict, name: str, pattern: re.Pattern, why: str) -> str | None:
    """The field if absent or as Vonage writes it; anything else is refused before it reaches a log line."""
    if name not in body:
        return None
    value = body[name]
    if not (isinstance(value, str) and pattern.fullmatch(value)):
        raise EventRefused(f"an event whose {why}")
    return value


def _text(body: dict, name: str) -> str | None:
    """A string field as it may be shown in a log line, or None when absent or not a string."""
    value = body.get(name)
    return shown(value) if isinstance(value, str) and value else None


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
