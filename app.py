"""Stream audio into a phone call: a Python/Flask port of Vonage's Node.js sample.

The file reads in the order a call lives:
  1. settings          read and check every setting once, at start-up
  2. Voice API client  the Vonage SDK, pointed at VONAGE_API_HOST
  3. answer NCCO       a greeting, then silence that keeps the line open
  4. GET /call         ring TO_NUMBER from VONAGE_NUMBER
  5. event webhook     check Vonage's signature; on `answered`, start the music;
                       on a final status, forget the call
  6. hang-up timer     STREAM_SECONDS after the music starts, stop it and hang up;
                       on shutdown, hang up every call still in progress
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import logging
import math
import os
import re
import sched
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from dotenv import load_dotenv
from flask import Flask, abort, jsonify, request, send_from_directory
from urllib3.exceptions import ReadTimeoutError
from vonage import Auth, HttpClientOptions, Vonage, VonageError
from vonage_http_client import AuthenticationError, HttpRequestError, NotFoundError
from vonage_jwt import VonageVerifyJwtError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler
from vonage_voice import AudioStreamOptions, CreateCallRequest, Phone, Stream, Talk, ToPhone, Voice

log = logging.getLogger("stream_audio")

PROJECT_DIR = Path(__file__).resolve().parent
PUBLIC_DIR = PROJECT_DIR / "public"

# Room after STREAM_SECONDS for the greeting and the Voice API's own latency;
# the NCCO and the call's length_timer both end the call this long after the window.
CALL_MARGIN_SECONDS = 10
MAX_LENGTH_TIMER_SECONDS = 7200
VOICE_API_WORKERS = 8
# Vonage's events are a few hundred bytes; anything near this is not from Vonage.
MAX_EVENT_BYTES = 64 * 1024


# --- 1. Settings ---------------------------------------------------------------

# The names the original blog post used, still honoured so an old .env keeps working.
LEGACY_NAMES = {
    "VONAGE_APPLICATION_ID": "NEXMO_APPLICATION_ID",
    "VONAGE_APPLICATION_PRIVATE_KEY_PATH": "NEXMO_APPLICATION_PRIVATE_KEY_PATH",
    "VONAGE_NUMBER": "NEXMO_NUMBER",
    "VONAGE_API_KEY": "NEXMO_API_KEY",
    "VONAGE_API_SECRET": "NEXMO_API_SECRET",
}
PHONE_NUMBER = re.compile(r"[1-9][0-9]{6,14}")
API_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class SettingsError(Exception):
    """Every problem with the settings, reported together so one edit fixes them all."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        lines = [f"Cannot start: {len(self.problems)} setting(s) need attention."]
        lines += [f"  - {problem}" for problem in self.problems]
        lines.append("Set them in the environment or in .env (see .env.example for each one).")
        return "\n".join(lines)


@dataclass(frozen=True)
class Settings:
    application_id: str
    private_key: str = field(repr=False)
    vonage_number: str
    to_number: str
    base_url: str
    stream_seconds: float = 20.0
    port: int = 3000
    api_host: str = "api.nexmo.com"
    api_timeout: int = 10
    ringing_timer: int = 60
    max_active_calls: int = 10
    call_token: str = field(default="", repr=False)
    api_key: str = ""
    api_secret: str = field(default="", repr=False)
    signature_secret: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read settings from `env`, raising SettingsError that names every bad one."""
        problems: list[str] = []

        def get(name: str) -> str:
            return (env.get(name) or env.get(LEGACY_NAMES.get(name, ""), "")).strip()

        def required(name: str) -> str:
            value = get(name)
            if not value:
                problems.append(f"{name} is not set")
            return value

        def phone_number(name: str) -> str:
            value = required(name)
            digits = value.removeprefix("+")
            if value and not PHONE_NUMBER.fullmatch(digits):
                problems.append(
                    f"{name} {value!r} is not a phone number: use 7-15 digits in E.164 form, "
                    "country code first, e.g. 447700900000"
                )
            return digits

        def number(name: str, default: float, kind: type, most: float) -> Any:
            text = get(name)
            if not text:
                return default
            try:
                value = kind(text)
            except ValueError:
                value = math.nan
            if not 0 < value <= most:
                what = "a whole number" if kind is int else "a number"
                problems.append(f"{name} {text!r} must be {what} above 0 and at most {most:g}")
                return default
            return value

        application_id = required("VONAGE_APPLICATION_ID")
        private_key = _read_private_key(get("VONAGE_APPLICATION_PRIVATE_KEY_PATH") or "private.key", problems)
        vonage_number = phone_number("VONAGE_NUMBER")
        to_number = phone_number("TO_NUMBER")
        base_url = _base_url(required("BASE_URL"), problems)
        stream_seconds = number("STREAM_SECONDS", 20.0, float, MAX_LENGTH_TIMER_SECONDS - CALL_MARGIN_SECONDS)
        port = number("PORT", 3000, int, 65535)
        api_timeout = number("VONAGE_API_TIMEOUT", 10, int, 120)
        ringing_timer = number("RINGING_TIMER", 60, int, 120)
        max_active_calls = number("MAX_ACTIVE_CALLS", 10, int, 10000)
        api_host = get("VONAGE_API_HOST") or "api.nexmo.com"
        if not API_HOST.fullmatch(api_host):
            problems.append(f"VONAGE_API_HOST {api_host!r} must be host[:port], without https://")
        if problems:
            raise SettingsError(problems)
        return cls(
            application_id=application_id,
            private_key=private_key,
            vonage_number=vonage_number,
            to_number=to_number,
            base_url=base_url,
            stream_seconds=stream_seconds,
            port=port,
            api_host=api_host,
            api_timeout=api_timeout,
            ringing_timer=ringing_timer,
            max_active_calls=max_active_calls,
            call_token=get("CALL_TOKEN"),
            api_key=get("VONAGE_API_KEY"),
            api_secret=get("VONAGE_API_SECRET"),
            signature_secret=get("VONAGE_SIGNATURE_SECRET"),
        )

    @property
    def length_timer(self) -> int:
        """Seconds Vonage lets the call run after `answered`, even if this app dies."""
        return math.ceil(self.stream_seconds) + CALL_MARGIN_SECONDS

    @property
    def longest_call(self) -> int:
        """Seconds after placing it by which Vonage has ended a call, whatever events were lost."""
        return self.ringing_timer + self.length_timer


def _read_private_key(path_setting: str, problems: list[str]) -> str:
    path = Path(path_setting)
    if not path.is_absolute():
        path = PROJECT_DIR / path
    name = "VONAGE_APPLICATION_PRIVATE_KEY_PATH"
    try:
        pem = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not a text file"
        problems.append(f"{name}: cannot read the private key at {path} ({reason})")
        return ""
    try:
        Auth(application_id="settings-check", private_key=pem).generate_application_jwt()
    # The SDK hands the key to PyJWT and cryptography, whose errors differ by what is
    # wrong with it; any of them means the file cannot sign Voice API requests.
    except Exception:
        problems.append(
            f"{name}: {path} is not a usable private key; expected the PEM file Vonage gave you, "
            "beginning -----BEGIN PRIVATE KEY-----"
        )
        return ""
    return pem


def _base_url(value: str, problems: list[str]) -> str:
    url = value.rstrip("/")
    parts = urlsplit(url)
    if value and (parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment):
        problems.append(
            f"BASE_URL {value!r} must be the public http(s) URL of this server, e.g. https://abc123.ngrok.app"
        )
    return url


# --- 2. Voice API client ---------------------------------------------------------

TOKEN_REUSE_SECONDS = 10 * 60


class ReusedTokenAuth(Auth):
    """The SDK's Auth, but one JWT serves every Voice API request for most of its life.

    The SDK signs a new RS256 JWT for each request, re-parsing the PEM key each time:
    about 33 ms of CPU. Vonage accepts a JWT until it expires (the SDK sets 15 minutes),
    so this signs one and renews it well before then.
    """

    def __init__(self, application_id: str, private_key: str) -> None:
        super().__init__(application_id=application_id, private_key=private_key)
        self._token_lock = threading.Lock()
        self._auth_string = b""
        self._renew_at = 0.0

    def create_jwt_auth_string(self) -> bytes:
        with self._token_lock:
            if time.monotonic() >= self._renew_at:
                self._auth_string = super().create_jwt_auth_string()
                self._renew_at = time.monotonic() + TOKEN_REUSE_SECONDS
            return self._auth_string


def make_voice_client(settings: Settings) -> Voice:
    auth = ReusedTokenAuth(settings.application_id, settings.private_key)
    options = HttpClientOptions(
        api_host=settings.api_host,
        timeout=settings.api_timeout,
        # One attempt per request, so a stalled Voice API costs at most `timeout`;
        # the SDK still retries a pooled connection the server had closed.
        max_retries=0,
        pool_maxsize=VOICE_API_WORKERS + 2,
    )
    return Vonage(auth, options).voice


def explain_voice_api_failure(error: Exception, timeout: int) -> tuple[int, str]:
    """The HTTP status to give whoever asked (502 or 504) and a plain-words reason."""
    if isinstance(error, AuthenticationError):
        return 502, (
            "The Voice API refused this app's credentials (401 Unauthorized). Check VONAGE_APPLICATION_ID "
            "and that VONAGE_APPLICATION_PRIVATE_KEY_PATH is that application's private key."
        )
    if isinstance(error, HttpRequestError):
        status = error.response.status_code
        detail = _vonage_error_detail(error.response)
        if status == 403:
            hint = "Check the account may call this number (trial accounts can only call verified numbers)."
        elif status == 429:
            hint = "Too many requests: wait a moment and try again."
        elif status >= 500:
            hint = "The fault is on Vonage's side: try again shortly."
        else:
            hint = "Check TO_NUMBER, VONAGE_NUMBER and BASE_URL."
        return 502, f"The Voice API answered {status} ({detail}). {hint}"
    if _is_timeout(error):
        return 504, f"The Voice API did not answer within {timeout} s. Try again; check VONAGE_API_HOST if it persists."
    if isinstance(error, requests.ConnectionError):
        return 502, "Could not reach the Voice API. Check this machine's network connection and VONAGE_API_HOST."
    return 502, "The Voice API gave an answer this app could not understand."


def is_transient(error: Exception) -> bool:
    """True for a failure worth retrying: 429, 5xx, a timeout or an unreachable Voice API."""
    if isinstance(error, HttpRequestError):
        return error.response.status_code == 429 or error.response.status_code >= 500
    return isinstance(error, requests.ConnectionError | requests.Timeout)


def _vonage_error_detail(response: requests.Response) -> str:
    try:
        body = response.json()
        return str(body.get("detail") or body.get("title") or response.reason)
    except (ValueError, AttributeError):
        return response.reason or "no reason given"


def _is_timeout(error: Exception) -> bool:
    # requests reports a read timeout on PUT and DELETE as a ConnectionError once
    # urllib3's (zero) retries are spent, so look at the cause as well as the type.
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.Timeout) or isinstance(reason, ReadTimeoutError)


# The SDK raises its own errors for HTTP failures, requests' for the network, and a
# ValueError (pydantic's) or TypeError when a success answer lacks the fields it models.
VOICE_API_ERRORS = (VonageError, requests.RequestException, ValueError, TypeError)


# --- 3. Answer NCCO and audio ----------------------------------------------------

GREETING = "<speak>Please hold to listen to some music.<break time='1s' /></speak>"


def answer_ncco(base_url: str, stream_seconds: float, silence_seconds: float) -> list[dict]:
    """The greeting, then enough loops of silence to keep the call open past the window."""
    loops = math.ceil((stream_seconds + CALL_MARGIN_SECONDS) / silence_seconds)
    actions = [
        Talk(text=GREETING, language="en-US", style=0),
        Stream(streamUrl=[f"{base_url}/audio/silence.mp3"], loop=loops),
    ]
    return [action.model_dump(mode="json", exclude_none=True) for action in actions]


# (samples per frame, frame-size factor, bitrates in kbit/s, sample rates) for Layer III,
# by the header's version bits: 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5.
_MPEG_LAYER3 = {
    3: (1152, 144, (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320), (44100, 48000, 32000)),
    2: (576, 72, (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160), (22050, 24000, 16000)),
    0: (576, 72, (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160), (11025, 12000, 8000)),
}


def mp3_duration(path: Path) -> float:
    """Seconds of audio in an MP3 file, by walking its frame headers.

    The app's own packages cannot read MP3, and the NCCO's loop count must come
    from the silence file's real length; the tests check this against mutagen.
    """
    data = path.read_bytes()
    offset = 0
    if data[:3] == b"ID3":
        offset = 10 + int.from_bytes(bytes(b & 0x7F for b in data[6:10]), "big")
    samples = 0
    sample_rate = 0
    while offset + 4 <= len(data):
        b1, b2 = data[offset + 1], data[offset + 2]
        version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
        if data[offset] != 0xFF or b1 & 0xE0 != 0xE0 or layer != 1 or version not in _MPEG_LAYER3:
            break
        per_frame, factor, bitrates, rates = _MPEG_LAYER3[version]
        bitrate_index, rate_index = b2 >> 4, (b2 >> 2) & 3
        if bitrate_index in (0, 15) or rate_index == 3:
            break
        sample_rate = rates[rate_index]
        offset += factor * bitrates[bitrate_index] * 1000 // sample_rate + ((b2 >> 1) & 1)
        samples += per_frame
    if not samples:
        raise ValueError("no MPEG Layer III frames found")
    return samples / sample_rate


# --- 5a. Events from Vonage: their shape and their signature ------------------------

# What a call uuid and a status look like; anything else is not from Vonage and is
# refused before it reaches a log line.
CALL_UUID = re.compile(r"[A-Za-z0-9-]{1,64}")
STATUS = re.compile(r"[a-z_]{1,32}")


def _shown(text: str) -> str:
    """`text` made safe for one log line: escaped, and cut short."""
    return repr(text[:80])[1:-1]


EVENT_MAX_AGE_SECONDS = 5 * 60
CLOCK_SKEW_SECONDS = 30


class EventRefused(Exception):
    """Why an event was not accepted as Vonage's, in words fit for a log line."""


class SignedEvents:
    """Accepts an event only if Vonage signed it, for this body, recently, and only once.

    Vonage puts an HS256 JWT in `Authorization: Bearer ...`, keyed by the account's
    signature secret, with `payload_hash` (SHA-256 of the body), `iat` and `jti`.
    """

    def __init__(self, secret: str, voice: Voice) -> None:
        self._secret = secret
        self._voice = voice
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._forget_at: list[tuple[float, str]] = []  # a heap of (when, jti)

    def check(self, authorization: str, body: bytes) -> None:
        """Raise EventRefused unless `authorization` carries Vonage's signature of `body`."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise EventRefused("no Bearer token in the Authorization header")
        claims = self._verified_claims(token.strip())
        payload_hash = str(claims.get("payload_hash", "")).encode(errors="replace")
        if not hmac.compare_digest(payload_hash, hashlib.sha256(body).hexdigest().encode()):
            raise EventRefused("payload_hash does not match the body")
        issued_at = claims.get("iat")
        now = time.time()
        age = now - issued_at if isinstance(issued_at, int | float) else math.inf
        if not -CLOCK_SKEW_SECONDS <= age <= EVENT_MAX_AGE_SECONDS:
            raise EventRefused("iat is more than 5 minutes from now")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise EventRefused("no jti claim")
        self._remember(jti, issued_at + EVENT_MAX_AGE_SECONDS + CLOCK_SKEW_SECONDS, now)

    def _verified_claims(self, token: str) -> dict:
        try:
            if not self._voice.verify_signature(token, self._secret):
                raise EventRefused("the signature does not match VONAGE_SIGNATURE_SECRET")
        except VonageVerifyJwtError as error:
            # The SDK's verifier allows no clock skew: it refuses an iat even a second
            # ahead of this machine's clock, after the signature has passed. This class
            # applies its own window to iat instead.
            if not isinstance(error.__context__, jwt.ImmatureSignatureError):
                raise EventRefused(f"the token is not a valid JWT ({type(error.__context__).__name__})") from None
        claims = jwt.decode(token, options={"verify_signature": False})
        return claims if isinstance(claims, dict) else {}

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


# --- The application ---------------------------------------------------------------

def create_app(settings: Settings | None = None) -> Flask:
    """Build the app. Without `settings`, read them from the environment and .env."""
    if settings is None:
        load_dotenv(PROJECT_DIR / ".env")
        settings = Settings.from_env(os.environ)
    try:
        silence_seconds = mp3_duration(PUBLIC_DIR / "silence.mp3")
    except (OSError, ValueError) as error:
        raise SettingsError([f"public/silence.mp3 is unusable ({error}); rebuild it with `make audio`"]) from None
    # The SDK logs request headers, JWT included, at DEBUG and repeats every failed
    # request at WARNING; this app's own one line per step says more, and no secrets.
    logging.getLogger("vonage").setLevel(logging.ERROR)

    app = Flask(__name__)
    # Werkzeug answers 413 to a longer Content-Length, but silently cuts a chunked body
    # short at this limit; one byte over the cap lets the webhook tell the two apart.
    app.config["MAX_CONTENT_LENGTH"] = MAX_EVENT_BYTES + 1
    voice = make_voice_client(settings)
    calls = CallFlow(settings, voice)
    app.extensions["call_flow"] = calls
    ncco = answer_ncco(settings.base_url, settings.stream_seconds, silence_seconds)
    signed_events = SignedEvents(settings.signature_secret, voice) if settings.signature_secret else None
    if signed_events is None:
        log.warning(
            "VONAGE_SIGNATURE_SECRET is not set: event webhooks are NOT verified, so anyone who finds "
            "BASE_URL can post events to this app"
        )

    @app.get("/audio/answer.json")
    def answer():
        log.info("call %s: Vonage fetched the answer NCCO", _shown(request.args.get("uuid", "(no uuid given)")))
        return jsonify(ncco)

    # Without merge_slashes, //etc/passwd stays an absolute path that safe_join refuses
    # with a 404, rather than a redirect into public/.
    @app.get("/audio/<path:filename>", merge_slashes=False)
    def audio(filename: str):
        if any(part.startswith(".") for part in filename.split("/")):
            abort(404)
        return send_from_directory(PUBLIC_DIR, filename, max_age=360000)

    # --- 4. GET /call ---
    @app.get("/call")
    def place_call():
        # Flask answers HEAD from a GET view; a link preview must not cost a call.
        if request.method == "HEAD":
            return "", 405, {"Allow": "GET"}
        token = request.args.get("token", "").encode(errors="replace")
        if settings.call_token and not hmac.compare_digest(token, settings.call_token.encode()):
            log.warning("/call: refused a request from %s without the right ?token=", request.remote_addr)
            return jsonify(error="This server needs /call?token=<CALL_TOKEN> to place a call."), 403
        try:
            uuid = calls.place_call()
        except CallNotPlaced as failure:
            return jsonify(error=failure.reason), failure.status
        return jsonify(
            uuid=uuid,
            to=settings.to_number,
            message=f"Ringing {settings.to_number} from {settings.vonage_number}. Once answered, "
            f"music plays for {settings.stream_seconds:g} s, then the call ends.",
        )

    # --- 5. The event webhook ---
    @app.post("/webhooks/events")
    def event_webhook():
        body = request.get_data()
        if len(body) > MAX_EVENT_BYTES:
            raise RequestEntityTooLarge()
        if signed_events is not None:
            try:
                signed_events.check(request.headers.get("Authorization", ""), body)
            except EventRefused as why:
                log.warning("event webhook: refused an event not verified as Vonage's: %s", why)
                return jsonify(error="This event is not signed by Vonage for this app."), 401
        if not request.is_json:
            log.warning("event webhook: refused a body sent as %s", _shown(request.mimetype or "no Content-Type"))
            return jsonify(error="Events must be JSON, sent with Content-Type: application/json"), 415
        event = request.get_json(silent=True)
        if not isinstance(event, dict):
            log.warning("event webhook: refused a body that is not a JSON object")
            return jsonify(error="Expected a JSON object"), 400
        uuid = event.get("uuid") or event.get("call_uuid")
        status = event.get("status")
        if not isinstance(uuid, str) or not CALL_UUID.fullmatch(uuid):
            log.warning("event webhook: refused an event without a call uuid")
            return jsonify(error="An event needs `uuid`: a string of letters, digits and dashes"), 400
        if not isinstance(status, str) or not STATUS.fullmatch(status):
            log.warning("event webhook: refused an event for call %s without a status", uuid)
            return jsonify(error="An event needs `status`: a lower-case word such as answered"), 400
        calls.on_event(uuid, status)
        return "", 204

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error: RequestEntityTooLarge):
        log.warning("%s %s: refused a body over %d bytes", request.method, _shown(request.path), MAX_EVENT_BYTES)
        return jsonify(error=f"The body is over {MAX_EVENT_BYTES} bytes"), 413

    return app


# --- 5-6. The call flow: events, the music stream and the timed hang-up -----------

class CallNotPlaced(Exception):
    """The Voice API did not create the call: the HTTP status for the browser and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


FINAL_STATUSES = frozenset({"completed", "busy", "cancelled", "unanswered", "rejected", "failed", "timeout"})
KNOWN_STATUSES = FINAL_STATUSES | {"started", "ringing", "answered", "human", "machine"}

# The hang-up is the request whose loss costs the user money, so it is retried on a
# transient failure: after 0.5 s, 1 s and 2 s.
HANGUP_ATTEMPTS = 4
HANGUP_FIRST_RETRY_SECONDS = 0.5
# How long shutdown waits for its hang-ups; Vonage's length_timer ends any it missed.
SHUTDOWN_SECONDS = 5


@dataclass(eq=False)
class Call:
    uuid: str
    answered: bool = False
    streaming: bool = False
    hung_up: bool = False  # this app has hung up, or given up trying
    ended: bool = False  # Vonage reported a final status, or the call outlived longest_call
    hangup: sched.Event | None = None
    expiry: sched.Event | None = None

    @property
    def in_progress(self) -> bool:
        return not (self.hung_up or self.ended)


class CallFlow:
    """The calls this app placed, and what it does for each as events arrive.

    Webhook requests only update this table and hand Voice API work to a small pool
    of threads, so Vonage never waits on the Voice API for its answer.
    """

    def __init__(self, settings: Settings, voice: Voice) -> None:
        self._settings = settings
        self._voice = voice
        self._music_url = f"{settings.base_url}/audio/music.mp3"
        self._calls: dict[str, Call] = {}
        self._being_placed = 0
        self._lock = threading.Lock()
        self._workers = ThreadPoolExecutor(VOICE_API_WORKERS, thread_name_prefix="voice-api")
        self._timer = HangupTimer()

    def __len__(self) -> int:
        """How many calls the table holds: in progress, or hung up and awaiting their final event."""
        with self._lock:
            return len(self._calls)

    def place_call(self) -> str:
        """Ring TO_NUMBER; return the new call's uuid, or raise CallNotPlaced saying why."""
        s = self._settings
        with self._lock:
            in_progress = self._being_placed + sum(call.in_progress for call in self._calls.values())
            if in_progress >= s.max_active_calls:
                log.warning("/call: refused: %d call(s) in progress, the most MAX_ACTIVE_CALLS allows", in_progress)
                raise CallNotPlaced(
                    429, f"{in_progress} call(s) are already in progress, the most MAX_ACTIVE_CALLS allows. "
                    "Try again when one has ended."
                )
            self._being_placed += 1
        call = None
        try:
            call = Call(self._create_call())
        finally:
            # One step, so that no other request sees the call counted twice or not at all.
            with self._lock:
                self._being_placed -= 1
                if call is not None:
                    self._calls[call.uuid] = call
                    # If the final event is lost, the call still stops counting once Vonage has ended it.
                    call.expiry = self._timer.schedule(s.longest_call, self._forget, call)
        return call.uuid

    def _create_call(self) -> str:
        s = self._settings
        call_request = CreateCallRequest(
            to=[ToPhone(number=s.to_number)],
            from_=Phone(number=s.vonage_number),
            answer_url=[f"{s.base_url}/audio/answer.json"],
            event_url=[f"{s.base_url}/webhooks/events"],
            ringing_timer=s.ringing_timer,
            length_timer=s.length_timer,
        )
        started = time.monotonic()
        try:
            response = self._voice.create_call(call_request)
        except VOICE_API_ERRORS as error:
            failure = CallNotPlaced(*explain_voice_api_failure(error, s.api_timeout))
            log.error("call to %s: POST /v1/calls failed after %s: %s", s.to_number, _since(started), failure.reason)
            raise failure from error
        log.info(
            "call %s: placed to %s from %s, length_timer %d s (POST /v1/calls %s, took %s)",
            response.uuid, s.to_number, s.vonage_number, s.length_timer, response.status, _since(started),
        )
        return response.uuid

    def on_event(self, uuid: str, status: str) -> None:
        """Act on one Voice API event; never blocks on the Voice API."""
        with self._lock:
            call = self._calls.get(uuid)
            if call is None:
                log.info("call %s: event %s for a call this app is not handling; nothing sent", uuid, status)
            elif status not in KNOWN_STATUSES:
                log.info("call %s: ignored an event with an unknown status %s", uuid, status)
            elif status == "answered" and call.answered:
                log.info("call %s: repeated answered event; the music is already arranged, nothing sent", uuid)
            elif status == "answered":
                call.answered = True
                log.info("call %s: answered; starting the music", uuid)
                self._workers.submit(self._start_music, call)
            elif status in FINAL_STATUSES:
                cancelled = self._end(call)
                log.info(
                    "call %s: %s; %s", uuid, status,
                    "pending hang-up cancelled, nothing more sent" if cancelled else "nothing more to send",
                )
            else:
                log.info("call %s: %s", uuid, status)

    def close(self) -> None:
        """Hang up every call still in progress (waiting at most SHUTDOWN_SECONDS), then stop."""
        self._timer.stop()
        with self._lock:
            in_progress = [call for call in self._calls.values() if call.in_progress]
            self._calls.clear()
        still_sending = set()
        if in_progress:
            log.info("shutting down: ending %d call(s) in progress", len(in_progress))
            endings = [self._workers.submit(self._end_now, call) for call in in_progress]
            done, still_sending = wait(endings, timeout=SHUTDOWN_SECONDS)
            ended = sum(ending.result() for ending in done)
            log.info(
                "shutting down: ended %d of %d call(s)%s", ended, len(in_progress),
                "" if ended == len(in_progress) else "; Vonage's length_timer ends the rest",
            )
        # A request still in flight ends within VONAGE_API_TIMEOUT; the interpreter waits for it.
        self._workers.shutdown(wait=not still_sending, cancel_futures=True)

    def _end(self, call: Call) -> bool:
        """Forget `call` (the lock is held); True if a pending hang-up was cancelled."""
        call.ended = True
        self._calls.pop(call.uuid, None)
        if call.expiry is not None:
            self._timer.cancel(call.expiry)
        return call.hangup is not None and self._timer.cancel(call.hangup)

    def _forget(self, call: Call) -> None:
        with self._lock:
            if call.ended:
                return
            self._end(call)
        log.warning(
            "call %s: no final event within %d s of placing it; Vonage has ended it, so it is forgotten",
            call.uuid, self._settings.longest_call,
        )

    def _start_music(self, call: Call) -> None:
        options = AudioStreamOptions(stream_url=[self._music_url], loop=0)
        failure = self._request(call, "PUT stream music.mp3 loop 0", self._voice.play_audio_into_call, options)
        delay = self._settings.stream_seconds
        with self._lock:
            if call.ended:
                log.info("call %s: ended while the music was starting; no hang-up needed", call.uuid)
                return
            call.streaming = failure is None
            call.hangup = self._timer.schedule(delay, self._workers.submit, self._stop_and_hang_up, call)
        log.info("call %s: hang-up in %g s", call.uuid, delay)

    def _stop_and_hang_up(self, call: Call) -> None:
        self._stop_music(call)
        self._hang_up(call)

    def _stop_music(self, call: Call) -> None:
        # Vonage answers 404 once the call (or its stream) is over: the callee hung up
        # and the `completed` event is still on its way. Nothing is wrong then.
        if call.streaming and self._is_live(call):
            self._request(call, "DELETE stream", self._voice.stop_audio_stream, gone_is_fine=True)

    def _hang_up(self, call: Call, attempt: int = 1) -> None:
        if not self._is_live(call):
            return
        retry_in = HANGUP_FIRST_RETRY_SECONDS * 2 ** (attempt - 1) if attempt < HANGUP_ATTEMPTS else None
        step = "PUT hangup" if attempt == 1 else f"PUT hangup (attempt {attempt} of {HANGUP_ATTEMPTS})"
        failure = self._request(call, step, self._voice.hangup, gone_is_fine=True, retry_in=retry_in)
        with self._lock:
            if call.ended:
                return
            if failure is not None and is_transient(failure) and retry_in is not None:
                call.hangup = self._timer.schedule(retry_in, self._workers.submit, self._hang_up, call, attempt + 1)
                return
            call.hung_up = True
        if failure is not None:
            log.error(
                "call %s: gave up hanging up; Vonage's length_timer ends the call %d s after it was answered",
                call.uuid, self._settings.length_timer,
            )

    def _end_now(self, call: Call) -> bool:
        """Shutdown's one try at stopping the music and hanging up; True if the call is over."""
        self._stop_music(call)
        failure = self._request(call, "PUT hangup (shutting down)", self._voice.hangup, gone_is_fine=True)
        with self._lock:
            call.hung_up = failure is None
        return failure is None

    def _is_live(self, call: Call) -> bool:
        with self._lock:
            return not call.ended

    def _request(
        self, call: Call, step: str, send: Callable[..., Any], *args: Any,
        gone_is_fine: bool = False, retry_in: float | None = None,
    ) -> Exception | None:
        """Send one Voice API request for `call` and log it in one line; the error if it failed."""
        started = time.monotonic()
        try:
            send(call.uuid, *args)
        except VOICE_API_ERRORS as error:
            if gone_is_fine and isinstance(error, NotFoundError):
                log.info("call %s: %s answered 404: already ended (took %s)", call.uuid, step, _since(started))
                return None
            reason = explain_voice_api_failure(error, self._settings.api_timeout)[1]
            then = f"; retrying in {retry_in:g} s" if retry_in is not None and is_transient(error) else ""
            log.error("call %s: %s failed after %s: %s%s", call.uuid, step, _since(started), reason, then)
            return error
        log.info("call %s: %s done (took %s)", call.uuid, step, _since(started))
        return None


def _since(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.0f} ms"


class HangupTimer:
    """One thread that runs each scheduled action at its own deadline.

    The standard library's scheduler keeps the deadlines; waking its sleep with an
    Event lets a newly scheduled, earlier deadline take effect at once.
    """

    def __init__(self) -> None:
        self._wakeup = threading.Event()
        self._stopping = False
        self._scheduler = sched.scheduler(time.monotonic, self._sleep)
        self._thread = threading.Thread(target=self._run, name="hangup-timer", daemon=True)
        self._thread.start()

    def schedule(self, delay: float, action: Callable[..., Any], *args: Any) -> sched.Event:
        event = self._scheduler.enter(delay, 0, action, args)
        self._wakeup.set()
        return event

    def cancel(self, event: sched.Event) -> bool:
        """Cancel `event`; False if it has already run."""
        try:
            self._scheduler.cancel(event)
        except ValueError:
            return False
        return True

    def stop(self) -> None:
        self._stopping = True
        for event in self._scheduler.queue:
            self.cancel(event)
        self._wakeup.set()
        self._thread.join()

    def _sleep(self, seconds: float | None) -> None:
        if self._wakeup.wait(seconds):
            self._wakeup.clear()

    def _run(self) -> None:
        while True:
            self._scheduler.run()
            if self._stopping:
                return
            self._sleep(None)


# --- Running it --------------------------------------------------------------------

class RequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, answering without Nagle's delay and logging no query strings."""

    def setup(self) -> None:
        super().setup()
        # Werkzeug writes the headers and the body separately; with Nagle's algorithm the
        # body waits for the client's delayed ACK of the headers, adding up to 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # /call?token= carries a secret, so the query string is left out.
        path = _shown(self.path.partition("?")[0])
        self.log("info", '"%s %s %s" %s %s', self.command, path, self.request_version, code, size)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(message)s")
    load_dotenv(PROJECT_DIR / ".env")
    try:
        settings = Settings.from_env(os.environ)
        app = create_app(settings)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    # Turn SIGTERM into a normal exit so the `finally` below stops the threads.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info(
        "Open http://localhost:%d/call to ring %s; Vonage reaches this server at %s",
        settings.port, settings.to_number, settings.base_url,
    )
    try:
        app.run(host="127.0.0.1", port=settings.port, request_handler=RequestHandler)
    finally:
        app.extensions["call_flow"].close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
