"""A local stand-in for the Vonage Voice API: real HTTPS on loopback.

It answers the four requests this app makes as the Voice API reference says
(201 for a new call, 200 for stream start and stop, 204 for a hang-up), checks
the RS256 JWT on every request against the application's public key, checks
each body against the reference's request schema, and records what it was sent.
Tests make it fail on demand: any status, a stall, a body that is not JSON, or a
dropped connection after which it refuses all others.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import re
import socket
import ssl
import threading
import time
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

import jsonschema
import jwt
import mutagen
import mutagen.mp3
import requests
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, jsonify, request

# Transcribed from the Voice API's OpenAPI description (voice.yml 1.3.7):
# CreateCallRequestAnswerUrl with CreateCallRequestBase, StartStreamRequest, UpdateCallRequestHangup.
PHONE_ENDPOINT = {
    "type": "object",
    "required": ["type", "number"],
    "properties": {
        "type": {"const": "phone"},
        "number": {"type": "string", "minLength": 7, "maxLength": 15, "pattern": r"^\d{7,15}$"},
    },
}
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
    "hangup": {
        "type": "object",
        "required": ["action"],
        "properties": {"action": {"const": "hangup"}},
    },
}
VALIDATORS = {step: jsonschema.Draft202012Validator(schema) for step, schema in REQUEST_SCHEMAS.items()}
ERROR_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def signed_headers(body: bytes, secret: str, application_id: str, **claims: Any) -> dict[str, str]:
    """The Authorization header Vonage puts on a webhook; `claims` override or (as None) drop claims."""
    payload = {
        "iat": int(time.time()),
        "jti": str(uuid_module.uuid4()),
        "iss": "Vonage",
        "api_key": "abcd1234",
        "application_id": application_id,
        "payload_hash": hashlib.sha256(body).hexdigest(),
    }
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    return {"Authorization": "Bearer " + jwt.encode(payload, secret, algorithm="HS256")}


# --- Throw-away credentials ---------------------------------------------------------

@dataclass(frozen=True)
class ThrowAwayCredentials:
    """An application key pair and a TLS certificate authority, made for one run."""

    private_key_path: Path
    private_pem: str
    public_pem: str
    ca_path: Path  # what a client trusts (REQUESTS_CA_BUNDLE)
    server_context: ssl.SSLContext  # the stand-in's certificate for 127.0.0.1, signed by that CA


def throwaway_credentials(folder: Path) -> ThrowAwayCredentials:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    (folder / "private.key").write_text(private_pem)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    return ThrowAwayCredentials(folder / "private.key", private_pem, public_pem, folder / "ca.pem", server_context)


# --- HTTPS with keep-alive, as Vonage serves the Voice API ---------------------------

class KeepAliveServer(ThreadingMixIn, WSGIServer):
    """Serves a WSGI app over HTTPS on loopback, keeping connections open between requests.

    Werkzeug's development server closes every connection (and drains the socket after
    each answer, so it cannot keep one open): against it the app would pay a TLS
    handshake per request that it never pays against Vonage.
    """

    daemon_threads = True

    def __init__(self, app: Any, ssl_context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _KeepAliveHandler)
        self.set_app(app)
        # The handshake happens in each connection's own thread, not in the accept loop.
        self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def drop_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away (a timeout, a dropped connection) is not news


class _QuietServerHandler(ServerHandler):
    http_version = "1.1"

    def log_exception(self, exc_info: Any) -> None:
        if not issubclass(exc_info[0], OSError):
            super().log_exception(exc_info)


class _KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def handle(self) -> None:
        # wsgiref answers one request per connection; HTTP/1.1 keeps it for the next.
        self.close_connection = False
        while not self.close_connection:
            try:
                self.raw_requestline = self.rfile.readline(65537)
            except OSError:
                return
            if not self.raw_requestline or not self.parse_request():
                return
            handler = _QuietServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(),
                                          multithread=True)
            handler.request_handler = self
            handler.run(self.server.get_app())

    def log_message(self, format: str, *args: Any) -> None:
        logging.getLogger("voice_api_standin").debug(format, *args)


@dataclass
class Received:
    """One authenticated request, as the stand-in saw it."""

    step: str  # create_call, start_stream, stop_stream or hangup
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


class VoiceApiStandIn:
    """The Voice API on loopback. With `vonage`, it also plays each call as Vonage would;
    without, tests play Vonage's part themselves."""

    def __init__(
        self, application_id: str, public_key_pem: str, ssl_context: ssl.SSLContext, vonage: LikeVonage | None = None
    ) -> None:
        self.application_id = application_id
        self._vonage = vonage
        self._public_key = public_key_pem
        self.received: list[Received] = []
        self.rejected: list[str] = []  # why each unauthenticated or invalid request was refused
        self._troubles: dict[str, Trouble] = {}
        self._live_calls: set[str] = set()
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._server = KeepAliveServer(self._make_app(), ssl_context)
        self.host = f"127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="voice-api-standin", daemon=True)
        self._thread.start()
        if vonage is not None:
            vonage.attach(self)

    # --- what tests use -------------------------------------------------------

    def misbehave(
        self, step: str, status: int | None = None, stall: float = 0.0, raw_body: str | None = None,
        refuse: bool = False, times: int | None = None,
    ) -> None:
        """Make later `step` requests (the next `times`, or all) stall for `stall` s, then
        answer `status` or `raw_body` (or normally). With `refuse`, the first one finds its
        connection dropped and the Voice API unreachable from then on: connections are refused."""
        self._troubles[step] = Trouble(status, stall, raw_body, refuse, times)

    def behave(self) -> None:
        self._troubles.clear()

    def callee_hangs_up(self, call_uuid: str) -> None:
        """The call ends on Vonage's side: later requests for it answer 404."""
        with self._changed:
            self._live_calls.discard(call_uuid)

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
        self._stop_listening()
        self._thread.join()

    def _stop_listening(self) -> None:
        self._server.shutdown()  # returns at once if it has already stopped
        self._server.server_close()
        self._server.drop_connections()

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

        @app.put("/v1/calls/<call_uuid>/stream")
        def start_stream(call_uuid: str):
            return self._handle("start_stream", call_uuid, lambda body: self._start_stream(call_uuid, body))

        @app.delete("/v1/calls/<call_uuid>/stream")
        def stop_stream(call_uuid: str):
            return self._handle("stop_stream", call_uuid, lambda _: self._message("Stream stopped", call_uuid))

        @app.put("/v1/calls/<call_uuid>")
        def update_call(call_uuid: str):
            return self._handle("hangup", call_uuid, lambda _: self._hang_up(call_uuid))

        return app

    def _handle(self, step: str, call_uuid: str | None, answer) -> Response | tuple:
        claims = self._verified_claims()
        if claims is None:
            return self._error(401, "Invalid token")
        body = request.get_json(silent=True)
        validator = VALIDATORS.get(step)
        if validator is not None:
            try:
                validator.validate(body)
            except jsonschema.ValidationError as invalid:
                self.rejected.append(f"{step}: {invalid.message}")
                return self._error(400, invalid.message)
        with self._changed:
            arrived = Received(step, request.method, request.path, body, call_uuid, claims, time.monotonic())
            self.received.append(arrived)
            self._changed.notify_all()
        if self._vonage is not None:
            self._vonage.request_arrived(step, call_uuid, body)
        trouble = self._trouble(step)
        if trouble.refuse:
            self._stop_listening()
            return "", 500  # never reaches the app: its connection is gone
        if trouble.stall:
            self._closing.wait(trouble.stall)
        if trouble.raw_body is not None:
            return Response(trouble.raw_body, status=trouble.status or 200, content_type="text/html")
        if trouble.status:
            return self._error(trouble.status, "Failure requested by the test")
        if call_uuid is not None and call_uuid not in self._live_calls:
            return self._error(404, f"Call {call_uuid} is not in progress")
        return answer(body)

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
            claims = jwt.decode(token, self._public_key, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "jti"]})
            if claims.get("application_id") != self.application_id:
                raise jwt.InvalidTokenError("wrong application_id")
        except jwt.InvalidTokenError as invalid:
            self.rejected.append(f"{request.method} {request.path}: {invalid}")
            return None
        return claims

    def _new_call(self, body: Any) -> tuple:
        call_uuid = str(uuid_module.uuid4())
        with self._changed:
            self._live_calls.add(call_uuid)
        if self._vonage is not None:
            self._vonage.call_created(call_uuid, body)
        return jsonify(uuid=call_uuid, status="started", direction="outbound",
                       conversation_uuid=f"CON-{uuid_module.uuid4()}"), 201

    def _start_stream(self, call_uuid: str, body: Any) -> tuple:
        if self._vonage is not None:
            self._vonage.stream_started(call_uuid, body)
        return self._message("Stream started", call_uuid)

    def _hang_up(self, call_uuid: str) -> tuple:
        self.callee_hangs_up(call_uuid)
        if self._vonage is not None:
            self._vonage.call_ends(call_uuid, "the app hung up")
        return "", 204

    @staticmethod
    def _message(message: str, call_uuid: str) -> tuple:
        return jsonify(message=message, uuid=call_uuid), 200

    @staticmethod
    def _error(status: int, detail: str) -> tuple:
        title = ERROR_TITLES.get(status, "Error")
        return jsonify(type=f"https://developer.nexmo.com/api-errors#{title.lower().replace(' ', '-')}",
                       title=title, detail=detail, instance=str(uuid_module.uuid4())), status


# --- Vonage around the Voice API: the call itself, seen from outside ------------------

NCCO_SCHEMA = jsonschema.Draft202012Validator(json.loads((Path(__file__).parent / "ncco-schema.json").read_text()))
# Vonage's limits for the app's webhooks: 1 s to connect, then 5 s (answer) or 10 s (event).
ANSWER_WEBHOOK_TIMEOUT = (1, 5)
EVENT_WEBHOOK_TIMEOUT = (1, 10)
SPOKEN_WORDS_PER_SECOND = 2.5


class Timeline:
    """A call's life as lines of `+seconds  who  what`, printed as they happen."""

    def __init__(self, out: Callable[[str], None] = print) -> None:
        self._out = out
        self._start: float | None = None  # the first line is +0.00s
        self._lock = threading.Lock()
        self.lines: list[str] = []
        self.problems: list[str] = []

    def add(self, who: str, what: str) -> None:
        with self._lock:
            if self._start is None:
                self._start = time.monotonic()
            line = f"+{time.monotonic() - self._start:.2f}s  {who:<9} {what}"
            self.lines.append(line)
            self._out(line)

    def problem(self, who: str, what: str) -> None:
        with self._lock:
            self.problems.append(what)
        self.add(who, f"PROBLEM: {what}")


@dataclass(eq=False)
class PlayedCall:
    uuid: str
    request: dict
    ended: threading.Event = field(default_factory=threading.Event)


class LikeVonage:
    """What Vonage does around the Voice API requests, for a whole call.

    On a new call it fetches the answer NCCO and checks it against Vonage's schema,
    fetches and checks every audio file, rings, then posts started, ringing and
    answered to the event webhook (signed, when given a signature secret). It ends the
    call when the app hangs up, the callee hangs up, the NCCO runs out or length_timer
    passes, and then posts completed. Whatever it finds wrong goes in the timeline as a
    problem, as Vonage would fail.
    """

    def __init__(
        self, timeline: Timeline, signature_secret: str = "", ring_seconds: float = 1.0,
        callee_hangs_up_after: float | None = None,
    ) -> None:
        self.timeline = timeline
        self._signature_secret = signature_secret
        self._ring_seconds = ring_seconds
        self._callee_hangs_up_after = callee_hangs_up_after
        self._standin: VoiceApiStandIn | None = None
        self._calls: dict[str, PlayedCall] = {}
        self.endings: list[str] = []  # why each call ended
        self._finished = threading.Condition()
        self._unfinished = 0
        self._http = requests.Session()

    def attach(self, standin: VoiceApiStandIn) -> None:
        self._standin = standin

    def wait_until_done(self, timeout: float) -> bool:
        """Wait until every call has ended and its completed event was posted."""
        with self._finished:
            return self._finished.wait_for(lambda: self._unfinished == 0, timeout)

    # --- told by the stand-in, as requests arrive -------------------------------

    def request_arrived(self, step: str, call_uuid: str | None, body: Any) -> None:
        body = body if isinstance(body, dict) else {}
        if step == "create_call":
            to = ", ".join(str(t.get("number")) for t in body.get("to", []) if isinstance(t, dict))
            what = f"POST /v1/calls  to {to} from {(body.get('from') or {}).get('number')}"
        elif step == "start_stream":
            urls = body.get("stream_url") or ["?"]
            what = f"PUT stream {_file_name(urls[0])} loop {body.get('loop', 1)}"
        else:
            what = {"stop_stream": "DELETE stream", "hangup": "PUT hangup"}[step]
        self.timeline.add("app", f"-> Voice API  {what}")

    def call_created(self, call_uuid: str, body: dict) -> None:
        call = PlayedCall(call_uuid, body)
        with self._finished:
            self._calls[call_uuid] = call
            self._unfinished += 1
        threading.Thread(target=self._play, args=(call,), name=f"call-{call_uuid[:8]}", daemon=True).start()

    def stream_started(self, call_uuid: str, body: dict) -> None:
        url = body["stream_url"][0]
        threading.Thread(target=lambda: self._report(*self._check_audio(url)), daemon=True).start()

    def call_ends(self, call_uuid: str, why: str) -> None:
        call = self._calls.get(call_uuid)
        if call is not None:
            threading.Thread(target=self._end, args=(call, why), daemon=True).start()

    # --- the call ------------------------------------------------------------------

    def _play(self, call: PlayedCall) -> None:
        ncco_seconds = self._fetch_ncco(call)
        if ncco_seconds is None:
            self._end(call, "Vonage could not use the answer NCCO, so the call failed")
            return
        if call.ended.wait(self._ring_seconds):
            return
        statuses = ["started", "ringing", "answered"]
        self.timeline.add("vonage", f"-> app  event {' / '.join(statuses)}")
        for status in statuses:
            self._post_event(call, status)
        length_timer = call.request.get("length_timer", 7200)
        ends = [(length_timer, f"length_timer ({length_timer} s) passed"), (ncco_seconds, "the NCCO ran out")]
        if self._callee_hangs_up_after is not None:
            ends.append((self._callee_hangs_up_after, f"the callee hung up after {self._callee_hangs_up_after:g} s"))
        after, why = min(ends)
        if not call.ended.wait(after):
            self._end(call, why)

    def _end(self, call: PlayedCall, why: str) -> None:
        with self._finished:
            if call.ended.is_set():
                return
            call.ended.set()
            self.endings.append(why)
        self._standin.callee_hangs_up(call.uuid)
        self.timeline.add("vonage", f"call over: {why}")
        self.timeline.add("vonage", "-> app  event completed")
        self._post_event(call, "completed")
        with self._finished:
            self._unfinished -= 1
            self._finished.notify_all()

    def _fetch_ncco(self, call: PlayedCall) -> float | None:
        """Fetch and check the answer NCCO and its audio; how long it plays, or None if unusable."""
        url = call.request["answer_url"][0]
        to = call.request["to"][0]["number"]
        params = {"uuid": call.uuid, "conversation_uuid": f"CON-{call.uuid}", "to": to,
                  "from": (call.request.get("from") or {}).get("number", "")}
        try:
            answer = self._http.get(url, params=params, timeout=ANSWER_WEBHOOK_TIMEOUT)
            answer.raise_for_status()
            ncco = answer.json()
        except (requests.RequestException, ValueError) as error:
            self.timeline.problem("vonage", f"fetching the answer NCCO {_path(url)} failed: {_plainly(error)}")
            return None
        invalid = _ncco_problem(ncco)
        if invalid is not None:
            where = "/".join(str(part) for part in invalid.absolute_path) or "the top"
            self.timeline.problem("vonage", f"the answer NCCO fails Vonage's schema at {where}: {invalid.message}")
            return None
        audio = {u: self._check_audio(u) for action in ncco for u in action.get("streamUrl", [])}
        summary, seconds = [], 0.0
        for action in ncco:
            if action["action"] == "talk":
                summary.append(f'talk "{_first_words(action["text"])} ..."')
                seconds += _speaking_seconds(action["text"])
            elif action["action"] == "stream":
                known = [audio[u][0] for u in action["streamUrl"] if audio[u][0] is not None]
                loops = action.get("loop", 1)
                summary.append(f"stream {_file_name(action['streamUrl'][0])} "
                               f"({known[0] if known else 0:.0f} s x {loops or 'forever'})")
                seconds += math.inf if loops == 0 else sum(known) * loops
        self.timeline.add("vonage", f"fetched {_path(url)}: {' ; '.join(summary)}")
        for checked in audio.values():
            self._report(*checked)
        return seconds

    def _check_audio(self, url: str) -> tuple[float | None, str]:
        """Fetch `url` and check it is a playable MP3: its duration (None if not), and what to report."""
        try:
            answer = self._http.get(url, timeout=ANSWER_WEBHOOK_TIMEOUT)
            answer.raise_for_status()
            info = mutagen.mp3.MP3(io.BytesIO(answer.content)).info
        except requests.RequestException as error:
            return None, f"fetching {_path(url)} failed: {_plainly(error)}"
        except mutagen.MutagenError:
            return None, (f"{_path(url)} is not a playable MP3 "
                          f"({answer.headers.get('Content-Type', 'no Content-Type')})")
        channels = "mono" if info.channels == 1 else f"{info.channels} channels"
        return info.length, f"fetched {_path(url)}: MP3 {info.sample_rate / 1000:g} kHz {channels}, {info.length:.1f} s"

    def _report(self, duration: float | None, what: str) -> None:
        if duration is None:
            self.timeline.problem("vonage", what)
        else:
            self.timeline.add("vonage", what)

    def _post_event(self, call: PlayedCall, status: str) -> None:
        url = call.request["event_url"][0]
        event = {"uuid": call.uuid, "conversation_uuid": f"CON-{call.uuid}", "status": status,
                 "direction": "outbound", "from": (call.request.get("from") or {}).get("number", ""),
                 "to": call.request["to"][0]["number"],
                 "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json"}
        if self._signature_secret:
            headers |= signed_headers(body, self._signature_secret, self._standin.application_id)
        try:
            answer = self._http.post(url, data=body, headers=headers, timeout=EVENT_WEBHOOK_TIMEOUT)
        except requests.RequestException as error:
            self.timeline.problem("vonage", f"the event webhook {_path(url)} failed for {status}: {_plainly(error)}")
            return
        if not 200 <= answer.status_code <= 205:
            self.timeline.problem("vonage", f"the event webhook {_path(url)} answered {answer.status_code} "
                                            f"to {status}")


def _ncco_problem(ncco: Any) -> jsonschema.ValidationError | None:
    """The schema's most telling complaint about `ncco`, or None if it is valid."""
    invalid = jsonschema.exceptions.best_match(NCCO_SCHEMA.iter_errors(ncco))
    if invalid is None or not invalid.context:
        return invalid
    # Each action is one branch of a oneOf; the telling errors are those of the branch
    # whose `action` matched, not "not valid under any of the given schemas".
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for error in invalid.context:
        branches.setdefault(error.schema_path[0], []).append(error)
    matched = [errors for errors in branches.values() if all(list(e.relative_path)[:1] != ["action"] for e in errors)]
    return jsonschema.exceptions.best_match(matched[0]) if len(matched) == 1 else invalid


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _file_name(url: str) -> str:
    return _path(url).rsplit("/", 1)[-1]


def _first_words(ssml: str, count: int = 2) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", ssml).split()[:count])


def _speaking_seconds(ssml: str) -> float:
    words = len(re.sub(r"<[^>]+>", " ", ssml).split())
    pauses = sum(float(n) / (1000 if unit == "ms" else 1) for n, unit in re.findall(r"time='([0-9.]+)(ms|s)'", ssml))
    return words / SPOKEN_WORDS_PER_SECOND + pauses


def _plainly(error: Exception) -> str:
    if isinstance(error, requests.HTTPError):
        return f"it answered {error.response.status_code}"
    if isinstance(error, requests.Timeout):
        return "it did not answer in time"
    if isinstance(error, requests.ConnectionError):
        return "could not connect"
    return "it did not answer JSON"
