"""The pages a person uses: / to place a call, /calls/<uuid> to watch it live and act on it.

The call's page asks GET /calls/<uuid>.json twice a second: between two asks an open page
holds a socket in waitress's loop, not a thread, so fifty open pages cost nothing. Its
buttons POST to the controls below, which queue Voice API work through CallFlow and its
pacer like everything else. Scripts keep getting JSON from /call; browsers get pages.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Request, Response, jsonify, redirect, render_template, request, url_for

from stream_audio.access import CallToken, from_this_site
from stream_audio.call_state import HANG_UP_STATES, MUSIC_STATES, CallState
from stream_audio.calls import CallFlow, Refused
from stream_audio.history import CallRecord
from stream_audio.say import text_to_say
from stream_audio.settings import Settings
from stream_audio.webhooks import CALL_UUID, shown

log = logging.getLogger(__name__)

OPEN_THE_LINK = "Open the link this server printed at start-up (/call?token=...) first."
ANOTHER_SITE = "Use this app's own pages: a request another site's page made is refused."
RESTARTED = "The app restarted; this call is no longer tracked."
# Only this app's own script, styles and pages, and no framing: nothing from a CDN, no clickjacking.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

HEADLINES = {
    CallState.PLACED: "Placed: waiting for the phone to ring",
    CallState.RINGING: "Ringing",
    CallState.ANSWERED: "Answered: starting the music",
    CallState.STREAMING: "Music playing",
    CallState.STOPPING_MUSIC: "Stopping the music",
    CallState.MUSIC_STOPPED: "Music stopped",
    CallState.HANGING_UP: "Hanging up",
    CallState.HUNG_UP: "Hung up: waiting for Vonage's final status",
    CallState.LEFT_TO_LENGTH_TIMER: "Could not hang up: Vonage's length_timer ends the call",
}


def wants_page(request: Request) -> bool:
    """True for a browser; scripts (application/json, or */* as curl and requests send) get JSON."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def failure(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    """`reason` as a readable page for a browser, as JSON for a script."""
    if wants_page(request):
        answer = Response(render_template("failure.html", status=status, reason=reason), status)
    else:
        answer = jsonify(error=reason)
        answer.status_code = status
    answer.headers.update(headers or {})
    return answer


def refusal(call_token: CallToken) -> Response | None:
    """A 403 for a request without the start-up link's token, or a POST another site's page made; None if allowed."""
    if not call_token.allows(request):
        log.warning("%s: refused a request from %s without the right token", shown(request.path), request.remote_addr)
        return failure(403, OPEN_THE_LINK)
    if request.method == "POST" and not from_this_site(request):
        log.warning("%s: refused a request another site's page made", shown(request.path))
        return failure(403, ANOTHER_SITE)
    return None


def placed(uuid: str, settings: Settings) -> Response:
    """The answer to a new call: its page for a browser (303, so a reload places no second call), JSON for a script."""
    if wants_page(request):
        return redirect(url_for("pages.call_page", uuid=uuid), 303)
    return jsonify(
        uuid=uuid,
        to=settings.to_number,
        audio=settings.audio.source,
        stream_seconds=settings.stream_seconds,
        message=f"Ringing {settings.to_number} from {settings.vonage_number}. Once answered, "
        f"{settings.audio.source} plays for {settings.stream_seconds:g} s, then the call ends.",
    )


def call_pages(calls: CallFlow, call_token: CallToken, settings: Settings) -> Blueprint:
    pages = Blueprint("pages", __name__)

    @pages.before_request
    def only_for_the_token_holder() -> Response | None:
        return refusal(call_token)

    @pages.after_request
    def page_headers(answer: Response) -> Response:
        if call_token.in_query(request):
            call_token.remember(answer, request)
        answer.headers["Content-Security-Policy"] = PAGE_POLICY
        answer.headers["Cache-Control"] = "no-store"
        return answer

    @pages.get("/")
    def home():
        return render_template(
            "home.html",
            to_number=settings.to_number,
            calls=[(record, _when(record.placed_at)) for record in calls.history.newest_first()],
        )

    @pages.get("/calls/<uuid>")
    def call_page(uuid: str):
        view = call_view(calls, settings, uuid)
        return render_template("call.html", uuid=uuid, view=view, restarted=RESTARTED), 200 if view else 404

    @pages.get("/calls/<uuid>.json")
    def call_now(uuid: str):
        view = call_view(calls, settings, uuid)
        return jsonify(view) if view else (jsonify(error=RESTARTED), 404)

    @pages.post("/calls/<uuid>/music/stop")
    def stop_music(uuid: str):
        return _control(uuid, calls.stop_music, "Stopping the music; the hang-up stays when it was due.")

    @pages.post("/calls/<uuid>/music/play")
    def play_music(uuid: str):
        return _control(uuid, calls.play_music, "Playing the music again until the hang-up.")

    @pages.post("/calls/<uuid>/hang-up")
    def hang_up(uuid: str):
        return _control(uuid, calls.hang_up, "Hanging up.")

    @pages.post("/calls/<uuid>/say")
    def say(uuid: str):
        try:
            calls.say(uuid, text_to_say(request))
        except Refused as refused:
            log.warning("call %s: refused to say something: %s", shown(uuid), refused.reason)
            return failure(refused.status, refused.reason)
        return _done(uuid, "Saying it into the call.")

    def _control(uuid: str, act, message: str):
        if calls.history.of(uuid) is None:
            return failure(404, RESTARTED)
        try:
            act(uuid)
        except Refused as refused:
            log.warning("call %s: %s refused: %s", uuid, request.path.rsplit("/", 1)[-1], refused.reason)
            return failure(refused.status, refused.reason)
        return _done(uuid, message)

    def _done(uuid: str, message: str):
        if wants_page(request):
            return redirect(url_for("pages.call_page", uuid=uuid), 303)
        return jsonify(uuid=uuid, message=message), 202

    return pages


def call_view(calls: CallFlow, settings: Settings, uuid: str) -> dict[str, Any] | None:
    """What the call's page shows of call `uuid` now, or None if this process holds no record of it."""
    if not CALL_UUID.fullmatch(uuid):
        return None
    now = calls.now_of(uuid)  # first: a call that has ended has its final status recorded by then
    record = calls.history.of(uuid)
    if record is None:
        return None
    state, hang_up_in = now if now else (None, None)
    over = state in (None, CallState.HUNG_UP, CallState.LEFT_TO_LENGTH_TIMER)
    return {
        "uuid": uuid,
        "from": settings.vonage_number,
        "to": settings.to_number,
        "state": state.value if state else "ended",
        "headline": _headline(state, hang_up_in, record),
        "hang_up_in": hang_up_in,
        "ended": state is None,
        "failure": record.failure,
        "playing": f"{settings.audio.source}, for {settings.stream_seconds:g} s"
        + (f", {settings.audio_loop} time(s)" if settings.audio_loop else ""),
        "steps": [
            {
                "at": _when(step.at),
                "after": f"+{step.at - record.placed_at:.1f} s",
                "what": step.what,
                "took": None if step.took_ms is None else f"Voice API {step.took_ms} ms",
                "failure": step.failure,
            }
            for step in record.steps
        ],
        "controls": {
            "stop_music": state is CallState.STREAMING,
            "play_music": state is CallState.MUSIC_STOPPED,
            "hang_up": state in HANG_UP_STATES,
            "say": state in MUSIC_STATES,
            "call_again": over,
        },
    }


def _headline(state: CallState | None, hang_up_in: float | None, record: CallRecord) -> str:
    if state is None:
        said = [
            f"after {record.duration} s" if record.duration else "",
            f"price {record.price}" if record.price else "",
        ]
        details = ", ".join(part for part in said if part)
        return f"Ended: {record.final_status}" + (f" ({details})" if details else "")
    if state is CallState.ANSWERED and hang_up_in is not None:
        return "Starting the music again"
    return HEADLINES[state]


def _when(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 10) % 10}"
