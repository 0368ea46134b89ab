"""A local stand-in for the Vonage Voice API: real HTTPS on loopback.

It answers the requests this app makes as the Voice API reference says (201 for a
new call, 200 for a call's details, for stream start and stop and for talk, 204 for a hang-up), checks
the RS256 JWT on every request against the application's public key, checks
each body against the reference's request schema, and records what it was sent.
Tests make it fail on demand: any status, a stall, a body that is not JSON, or a
dropped connection after which it refuses all others. Asked to, it enforces an
account's rate limits as Vonage does: 429 beyond N requests in any rolling second,
counted separately for creating calls and for everything else, and nothing queued.
"""

from __future__ import annotations

import ssl
import threading
import time
import uuid as uuid_module
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import jsonschema
import jwt
from flask import Flask, Response, jsonify, request

from tools.standins.https_server import ServedInBackground

# Transcribed from the Voice API's OpenAPI description (voice.yml 1.3.7):
# CreateCallRequestAnswerUrl with CreateCallRequestBase, StartStreamRequest, StartTalkRequest,
# UpdateCallRequestHangup. `level` is a number, as the SDK sends it and Vonage takes it (the
# reference's schema says string). The text's 1,500-character limit is the Voice API's documented one.
PHONE_ENDPOINT = {
    "type": "object",
    "required": ["type", "number"],
    "properties": {
        "type": {"const": "phone"},
        "number": {"type": "string", "minLength": 7, "maxLength": 15, "pattern": r"^\d{7,15}$"},
    },
}
TTS_LANGUAGES = [
    "ar",
    "ca-ES",
    "cmn-CN",
    "cmn-TW",
    "cs-CZ",
    "cy-GB",
    "da-DK",
    "de-DE",
    "el-GR",
    "en-AU",
    "en-GB",
    "en-GB-WLS",
    "en-IN",
    "en-US",
    "en-ZA",
    "es-ES",
    "es-MX",
    "es-US",
    "eu-ES",
    "fi-FI",
    "fil-PH",
    "fr-CA",
    "fr-FR",
    "he-IL",
    "hi-IN",
    "hu-HU",
    "id-ID",
    "is-IS",
    "it-IT",
    "ja-JP",
    "ko-KR",
    "nb-NO",
    "nl-NL",
    "no-NO",
    "pl-PL",
    "pt-BR",
    "pt-PT",
    "ro-RO",
    "ru-RU",
    "sk-SK",
    "sv-SE",
    "th-TH",
    "tr-TR",
    "uk-UA",
    "vi-VN",
    "yue-CN",
]
URL_LIST = {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^https?://"}}
REQUEST_SCHEMAS = {
    "create_call": {
        "type": "object",
        "required": ["to", "answer_url"],
        "properties": {
            "to": {"type": "array", "minItems": 1, "items": PHONE_ENDPOINT},
            "from": PHONE_ENDPOINT,
            "answer_url": URL_LIST,
            "answer_method": {"enum": ["GET", "POST"]},
            "event_url": URL_LIST,
            "event_method": {"enum": ["GET", "POST"]},
            "length_timer": {"type": "integer", "minimum": 1, "maximum": 7200},
            "ringing_timer": {"type": "integer", "minimum": 1, "maximum": 120},
        },
    },
    "start_stream": {
        "type": "object",
        "required": ["stream_url"],
        "properties": {
            "stream_url": URL_LIST,
            "loop": {"type": "integer", "minimum": 0},
            "level": {"type": "number", "minimum": -1, "maximum": 1},
        },
    },
    "start_talk": {
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 1500},
            "language": {"enum": TTS_LANGUAGES},
            "style": {"type": "integer"},
            "loop": {"type": "integer", "minimum": 0},
            "level": {"type": "number", "minimum": -1, "maximum": 1},
        },
    },
    "hangup": {
        "type": "object",
        "required": ["action"],
        "properties": {"action": {"const": "hangup"}},
    },
}
VALIDATORS = {step: jsonschema.Draft202012Validator(schema) for step, schema in REQUEST_SCHEMAS.items()}
ERROR_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Received:
    """One authenticated request, as the stand-in saw it."""

    step: str  # create_call, get_call, start_stream, stop_stream, start_talk or hangup
    method: str
    path: str
    body: Any
    call_uuid: str | None
    claims: dict
    at: float  # time.monotonic() on arrival; the same clock across processes on Linux


@dataclass
class Trouble:
    status: int | None = None
    stall: float = 0.0
    raw_body: str | None = None
    refuse: bool = False
    times: int | None = None  # None: every request from now on


class CallObserver(Protocol):
    """Whoever plays Vonage's part of each call around the Voice API, as `make demo` does
    (tools.standins.vonage_calls): told of each request as it arrives."""

    def request_arrived(self, step: str, call_uuid: str | None, body: Any) -> None: ...

    def call_created(self, call_uuid: str, body: dict) -> None: ...

    def stream_started(self, call_uuid: str, body: dict) -> None: ...

    def call_ends(self, call_uuid: str, why: str) -> None: ...


class VoiceApiStandIn:
    """The Voice API on loopback. With an observer, that plays each call as Vonage would;
    without, tests play Vonage's part themselves."""

    def __init__(self, application_id: str, public_key_pem: str, ssl_context: ssl.SSLContext) -> None:
        self.application_id = application_id
        self._observer: CallObserver | None = None
        self._public_key = public_key_pem
        self.received: list[Received] = []
        self.rejected: list[str] = []  # why each unauthenticated or invalid request was refused
        self._troubles: dict[str, Trouble] = {}
        self._live_calls: set[str] = set()
        self._limits: dict[str, int] = {}
        self._arrivals: dict[str, deque[float]] = {"create_call": deque(), "other": deque()}
        self.conversation_of: dict[str, str] = {}  # call uuid -> its conversation uuid
        self._created: dict[str, dict] = {}  # call uuid -> the request that created it
        self._status: dict[str, str] = {}  # call uuid -> its status, as GET /v1/calls/{uuid} tells it
        self.refused: list[Received] = []  # requests answered 429 for going over the limits
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._served = ServedInBackground(self._make_app(), ssl_context, "voice-api-standin")
        self.host = self._served.host

    def report_calls_to(self, observer: CallObserver) -> None:
        """From now on, tell `observer` of each request, for it to play Vonage's part of the call."""
        self._observer = observer

    # --- what tests use -------------------------------------------------------

    def misbehave(
        self,
        step: str,
        status: int | None = None,
        stall: float = 0.0,
        raw_body: str | None = None,
        refuse: bool = False,
        times: int | None = None,
    ) -> None:
        """Make later `step` requests (the next `times`, or all) stall for `stall` s, then
        answer `status` or `raw_body` (or normally). With `refuse`, the first one finds its
        connection dropped and the Voice API unreachable from then on: connections are refused."""
        self._troubles[step] = Trouble(status, stall, raw_body, refuse, times)

    def enforce_limits(self, calls_per_second: int = 3, requests_per_second: int = 15) -> None:
        """From now on, answer 429 beyond these many requests in any rolling second, as Vonage does."""
        self._limits = {"create_call": calls_per_second, "other": requests_per_second}

    def behave(self) -> None:
        self._troubles.clear()

    def callee_hangs_up(self, call_uuid: str, status: str = "completed") -> None:
        """The call ends on Vonage's side with `status`: later requests for it answer 404."""
        with self._changed:
            self._live_calls.discard(call_uuid)
            self._status[call_uuid] = status

    def callee_answers(self, call_uuid: str) -> None:
        """The callee picks up: the call's details say so from now on."""
        with self._changed:
            self._status[call_uuid] = "answered"

    def number_rung(self, caller: str, number: str) -> str:
        """`caller` rings the application's `number`: a call Vonage knows from now on; its uuid."""
        call_uuid = str(uuid_module.uuid4())
        with self._changed:
            self._live_calls.add(call_uuid)
            self.conversation_of[call_uuid] = f"CON-{call_uuid}"
            self._created[call_uuid] = {"to": [{"type": "phone", "number": number}], "from": {"number": caller}}
            self._status[call_uuid] = "ringing"
        return call_uuid

    def sent(self, step: str, call_uuid: str | None = None) -> list[Received]:
        with self._changed:
            return [r for r in self.received if r.step == step and call_uuid in (None, r.call_uuid)]

    def wait_for(self, step: str, count: int = 1, call_uuid: str | None = None, timeout: float = 5.0) -> list[Received]:
        """Wait until `count` `step` requests have arrived; fail the test if they do not."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(found := self.sent(step, call_uuid)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} {step} request(s) within {timeout} s, got {len(found)}")
                self._changed.wait(remaining)
            return found

    def close(self) -> None:
        self._closing.set()  # ends any stall at once
        self._served.close()

    # --- the Voice API --------------------------------------------------------

    def _make_app(self) -> Flask:
        app = Flask("voice_api_standin")

        @app.before_request
        def read_the_whole_body() -> None:
            # Whatever the answer, so the kept-alive connection is ready for the next request.
            request.get_data()

        @app.post("/v1/calls")
        def create_call():
            return self._handle("create_call", None, self._new_call)

        @app.get("/v1/calls/<call_uuid>")
        def get_call(call_uuid: str):
            return self._handle("get_call", call_uuid, lambda _: self._call_details(call_uuid))

        @app.put("/v1/calls/<call_uuid>/stream")
        def start_stream(call_uuid: str):
            return self._handle("start_stream", call_uuid, lambda body: self._start_stream(call_uuid, body))

        @app.delete("/v1/calls/<call_uuid>/stream")
        def stop_stream(call_uuid: str):
            return self._handle("stop_stream", call_uuid, lambda _: self._message("Stream stopped", call_uuid))

        @app.put("/v1/calls/<call_uuid>/talk")
        def start_talk(call_uuid: str):
            return self._handle("start_talk", call_uuid, lambda _: self._message("Talk started", call_uuid))

        @app.put("/v1/calls/<call_uuid>")
        def update_call(call_uuid: str):
            return self._handle("hangup", call_uuid, lambda _: self._hang_up(call_uuid))

        return app

    def _handle(self, step: str, call_uuid: str | None, answer: Callable[[Any], tuple]) -> Response | tuple:
        claims = self._verified_claims()
        if claims is None:
            return self._error(401, "Invalid token")
        body = request.get_json(silent=True)
        complaint = _schema_complaint(step, body)
        if complaint is not None:
            self.rejected.append(f"{step}: {complaint}")
            return self._error(400, complaint)
        if not self._record(step, call_uuid, body, claims):
            return self._error(429, "Rate limit hit. Please wait and try again.")
        if self._observer is not None:
            self._observer.request_arrived(step, call_uuid, body)
        failure = self._fail_as_asked(step)
        if failure is not None:
            return failure
        # An ended call's details can still be read; nothing else can be done to it.
        if call_uuid is not None and call_uuid not in self._live_calls and step != "get_call":
            return self._error(404, f"Call {call_uuid} is not in progress")
        return answer(body)

    def _record(self, step: str, call_uuid: str | None, body: Any, claims: dict) -> bool:
        """Record the request as received, or as refused for going over the limits: whether it was received."""
        with self._changed:
            arrived = Received(step, request.method, request.path, body, call_uuid, claims, time.monotonic())
            if self._over_the_limit(step, arrived.at):
                self.refused.append(arrived)
                return False
            self.received.append(arrived)
            self._changed.notify_all()
            return True

    def _fail_as_asked(self, step: str) -> Response | tuple | None:
        """Play out the trouble misbehave() set for `step`: the answer it ends in, or None to answer normally."""
        trouble = self._trouble(step)
        if trouble.refuse:
            self._served.stop_listening()
            return "", 500  # never reaches the app: its connection is gone
        if trouble.stall:
            self._closing.wait(trouble.stall)
        if trouble.raw_body is not None:
            return Response(trouble.raw_body, status=trouble.status or 200, content_type="text/html")
        if trouble.status:
            return self._error(trouble.status, "Failure requested by the test")
        return None

    def _over_the_limit(self, step: str, now: float) -> bool:
        kind = "create_call" if step == "create_call" else "other"
        if kind not in self._limits:
            return False
        arrivals = self._arrivals[kind]
        arrivals.append(now)  # refused requests count too: Vonage sees them all
        while arrivals[0] <= now - 1.0:
            arrivals.popleft()
        return len(arrivals) > self._limits[kind]

    def _trouble(self, step: str) -> Trouble:
        with self._changed:
            trouble = self._troubles.get(step, Trouble())
            if trouble.times is not None:
                trouble.times -= 1
                if trouble.times <= 0:
                    del self._troubles[step]
            return trouble

    def _verified_claims(self) -> dict | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            if scheme != "Bearer":
                raise jwt.InvalidTokenError("no Bearer token")
            claims = jwt.decode(
                token, self._public_key, algorithms=["RS256"], options={"require": ["iat", "exp", "jti"]}
            )
            if claims.get("application_id") != self.application_id:
                raise jwt.InvalidTokenError("wrong application_id")
        except jwt.InvalidTokenError as invalid:
            self.rejected.append(f"{request.method} {request.path}: {invalid}")
            return None
        return claims

    def _new_call(self, body: Any) -> tuple:
        call_uuid = str(uuid_module.uuid4())
        conversation_uuid = f"CON-{uuid_module.uuid4()}"
        with self._changed:
            self._live_calls.add(call_uuid)
            self.conversation_of[call_uuid] = conversation_uuid
            self._created[call_uuid] = body
            self._status[call_uuid] = "started"
        if self._observer is not None:
            self._observer.call_created(call_uuid, body)
        return jsonify(uuid=call_uuid, status="started", direction="outbound", conversation_uuid=conversation_uuid), 201

    def _call_details(self, call_uuid: str) -> tuple:
        """GetCallResponse, with the billing fields Vonage adds once the call has ended."""
        with self._changed:
            if call_uuid not in self._created:
                return self._error(404, f"Call {call_uuid} was not found")
            created, status = self._created[call_uuid], self._status[call_uuid]
        details = {
            "_links": {"self": {"href": f"/calls/{call_uuid}"}},
            "uuid": call_uuid,
            "conversation_uuid": self.conversation_of[call_uuid],
            "to": created["to"][0],
            "from": created.get("from", {"type": "phone", "number": "unknown"}),
            "status": status,
            "direction": "outbound",
            "network": "23410",
        }
        if status == "completed":
            details |= {
                "rate": "0.01200000",
                "price": "0.00400000",
                "duration": "20",
                "start_time": "2026-11-25 12:00:00",
                "end_time": "2026-11-25 12:00:20",
            }
        return jsonify(details), 200

    def _start_stream(self, call_uuid: str, body: Any) -> tuple:
        if self._observer is not None:
            self._observer.stream_started(call_uuid, body)
        return self._message("Stream started", call_uuid)

    def _hang_up(self, call_uuid: str) -> tuple:
        self.callee_hangs_up(call_uuid)
        if self._observer is not None:
            self._observer.call_ends(call_uuid, "the app hung up")
        return "", 204

    @staticmethod
    def _message(message: str, call_uuid: str) -> tuple:
        return jsonify(message=message, uuid=call_uuid), 200

    @staticmethod
    def _error(status: int, detail: str) -> tuple:
        title = ERROR_TITLES.get(status, "Error")
        return jsonify(
            type=f"https://developer.nexmo.com/api-errors#{title.lower().replace(' ', '-')}",
            title=title,
            detail=detail,
            instance=str(uuid_module.uuid4()),
        ), status


def _schema_complaint(step: str, body: Any) -> str | None:
    """Why `body` fails the reference's request schema for `step`, or None if it passes (or `step` has none)."""
    validator = VALIDATORS.get(step)
    if validator is None:
        return None
    try:
        validator.validate(body)
    except jsonschema.ValidationError as invalid:
        return invalid.message
    return None
