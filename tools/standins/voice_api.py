"""A local stand-in for the Vonage Voice API: real HTTPS on loopback.

It answers the requests this app makes as the Voice API reference says (201 for a
new call, 200 for a call's details, for stream start and stop and for talk, 204 for a hang-up,
404 for a call that is over or that it never made), checks the RS256 JWT on every request against
the application's public key, checks each body against the reference's request schema
(voice_api_schemas), and records what it was sent. It knows every call it made, and every call
to the application's number it was told of (known_calls), through to its final status.
Tests make it fail on demand: any status, a stall, a body that is not JSON, or a
dropped connection after which it refuses all others. Asked to, it enforces an
account's rate limits as Vonage does: 429 beyond N requests in any rolling second,
counted separately for creating calls and for everything else, and nothing queued.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from tools.standins.https_server import ServedInBackground
from tools.standins.known_calls import KnownCall, KnownCalls
from tools.standins.trouble_on_demand import RateLimits, Trouble, Troubles
from tools.standins.voice_api_schemas import error_answer, schema_complaint

log = logging.getLogger(__name__)


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


class CallObserver(Protocol):
    """Whoever plays Vonage's part of each call around the Voice API, as `make demo` does
    (tools.standins.vonage_calls): told of each request as it arrives, and of the stand-in's own failures."""

    def request_arrived(self, step: str, call_uuid: str | None, body: Any) -> None: ...

    def call_created(self, call_uuid: str, body: dict) -> None: ...

    def stream_started(self, call_uuid: str, body: dict) -> None: ...

    def call_ends(self, call_uuid: str, why: str) -> None: ...

    def standin_failed(self, what: str) -> None: ...


class VoiceApiStandIn:
    """The Voice API on loopback. With an observer, that plays each call as Vonage would;
    without, tests play Vonage's part themselves."""

    def __init__(self, application_id: str, public_key_pem: str, ssl_context: ssl.SSLContext) -> None:
        self.application_id = application_id
        self._observer: CallObserver | None = None
        self._public_key = public_key_pem
        self.received: list[Received] = []
        self.rejected: list[str] = []  # why each unauthenticated or invalid request was refused
        self.failures: list[str] = []  # what went wrong in the stand-in itself: each request answered 500
        self._troubles = Troubles()
        self._limits = RateLimits()
        self.calls = KnownCalls()  # every call it made, or was rung with (by whoever plays Vonage)
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
        self._troubles.ask(step, Trouble(status, stall, raw_body, refuse, times))

    def enforce_limits(self, calls_per_second: int = 3, requests_per_second: int = 15) -> None:
        """From now on, answer 429 beyond these many requests in any rolling second, as Vonage does."""
        self._limits.enforce(calls_per_second, requests_per_second)

    def behave(self) -> None:
        self._troubles.clear()

    def callee_hangs_up(self, call_uuid: str, status: str = "completed") -> None:
        """The call ends on Vonage's side with `status`: later requests for it answer 404."""
        self.calls.end(call_uuid, status)

    def callee_answers(self, call_uuid: str) -> None:
        """The callee picks up: the call's details say so from now on."""
        self.calls.answered(call_uuid)

    @property
    def conversation_of(self) -> dict[str, str]:
        """Each call's conversation uuid, by call uuid."""
        return self.calls.conversations()

    def number_rung(self, caller: str, number: str) -> str:
        """`caller` rings the application's `number`: a call Vonage knows from now on, ringing; its uuid."""
        known = self.calls.add(KnownCall("inbound", caller, number))
        self.calls.rings(known.uuid)
        return known.uuid

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

        @app.errorhandler(Exception)
        def failed(error: Exception) -> Response | tuple:
            if isinstance(error, HTTPException):
                return error
            self._failed(f"{request.method} {request.path}", error)
            return error_answer(500, "The Voice API stand-in failed")

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
            return error_answer(401, "Invalid token")
        body = request.get_json(silent=True)
        complaint = schema_complaint(step, body)
        if complaint is not None:
            self.rejected.append(f"{step}: {complaint}")
            return error_answer(400, complaint)
        if not self._record(step, call_uuid, body, claims):
            return error_answer(429, "Rate limit hit. Please wait and try again.")
        if self._observer is not None:
            self._observer.request_arrived(step, call_uuid, body)
        failure = self._fail_as_asked(step)
        if failure is not None:
            return failure
        # An ended call's details can still be read; nothing else can be done to it.
        if call_uuid is not None and step != "get_call" and not self.calls.live(call_uuid):
            return error_answer(404, f"Call {call_uuid} is not in progress")
        return answer(body)

    def _failed(self, doing: str, error: Exception) -> None:
        """The stand-in itself broke: the observer (the demo) reports it, or the log shows it."""
        what = f"the Voice API stand-in failed on {doing}: {type(error).__name__}: {error}"
        with self._changed:
            self.failures.append(what)
        if self._observer is not None:
            self._observer.standin_failed(what)
        else:
            log.error("%s", what, exc_info=error)

    def _record(self, step: str, call_uuid: str | None, body: Any, claims: dict) -> bool:
        """Record the request as received, or as refused for going over the limits: whether it was received."""
        with self._changed:
            arrived = Received(step, request.method, request.path, body, call_uuid, claims, time.monotonic())
            if self._limits.over(step, arrived.at):
                self.refused.append(arrived)
                return False
            self.received.append(arrived)
            self._changed.notify_all()
            return True

    def _fail_as_asked(self, step: str) -> Response | tuple | None:
        """Play out the trouble misbehave() set for `step`: the answer it ends in, or None to answer normally."""
        trouble = self._troubles.next_for(step)
        if trouble.refuse:
            self._served.stop_listening()
            return "", 500  # never reaches the app: its connection is gone
        if trouble.stall:
            self._closing.wait(trouble.stall)
        if trouble.raw_body is not None:
            return Response(trouble.raw_body, status=trouble.status or 200, content_type="text/html")
        if trouble.status:
            return error_answer(trouble.status, "Failure requested by the test")
        return None

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
        call = self.calls.add(
            KnownCall("outbound", (body.get("from") or {}).get("number", ""), body["to"][0]["number"])
        )
        if self._observer is not None:
            self._observer.call_created(call.uuid, body)
        return jsonify(
            uuid=call.uuid, status=call.status, direction=call.direction, conversation_uuid=call.conversation_uuid
        ), 201

    def _call_details(self, call_uuid: str) -> tuple:
        details = self.calls.details(call_uuid)
        if details is None:
            return error_answer(404, f"Call {call_uuid} was not found")
        return jsonify(details), 200

    def _start_stream(self, call_uuid: str, body: Any) -> tuple:
        if self._observer is not None:
            self._observer.stream_started(call_uuid, body)
        return self._message("Stream started", call_uuid)

    def _hang_up(self, call_uuid: str) -> tuple:
        self.calls.end(call_uuid)
        if self._observer is not None:
            self._observer.call_ends(call_uuid, "the app hung up")
        return "", 204

    @staticmethod
    def _message(message: str, call_uuid: str) -> tuple:
        return jsonify(message=message, uuid=call_uuid), 200
