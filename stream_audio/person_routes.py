"""What a person uses: / to place a call, /call (the start-up link), and /calls/<uuid> to watch
a call live and act on it. Every route needs the call token; every button is a POST from this
app's own pages; /call places a call only when the person asks for one. Browsers get pages;
scripts (application/json, or */* as curl sends) get JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for

from stream_audio.access import asked_by_the_person, fetch_metadata, from_a_browser
from stream_audio.app_parts import parts
from stream_audio.bounded_json import UnreadableJson, read_json
from stream_audio.call import Call
from stream_audio.call_life import Next
from stream_audio.call_view import RESTARTED, call_list, call_view
from stream_audio.log_text import shown
from stream_audio.public_url import NoPublicUrl
from stream_audio.refused import Refused
from stream_audio.setting_values import MAX_SPOKEN_CHARACTERS

log = logging.getLogger(__name__)

blueprint = Blueprint("pages", __name__)

# 1,500 characters of text, each up to 12 bytes as JSON escapes, and room to spare.
MOST_SAY_BYTES = 32 * 1024
SEND_TEXT = "Send the words to say as `text`, in a form field or a JSON object"
OPEN_THE_LINK = "Open the link this server printed at start-up (/call?token=...) first."
PRESS_ON_THE_PAGE = (
    "Press the buttons on this app's own page: the cookie alone does nothing. "
    "A script sends the token itself (?token=... or Authorization: Bearer ...)."
)
ANOTHER_SITE = "Use this app's own pages: a request another site's page made is refused."
PRESENT_THE_TOKEN = (
    "No call placed: the cookie alone places no call, and this request does not say, as a browser does, that "
    "a person asked for one. A script sends the token itself (?token=... or Authorization: Bearer ...); "
    "in a browser, open the link this server printed at start-up."
)


@blueprint.before_request
def only_for_the_token_holder() -> Response | None:
    if request.method == "HEAD" and request.endpoint == "pages.place_call":
        # Flask answers HEAD from a GET view; a link preview must not cost a call.
        return Response("", 405, {"Allow": "GET, POST"})
    call_token = parts().call_token
    if not call_token.allows(request):
        log.warning("%s: refused a request from %s without the right token", shown(request.path), request.remote_addr)
        return failure(403, OPEN_THE_LINK)
    # The cookie reaches every local server the browser visits: a button's POST must also carry the
    # browser's word that this app's own page sent it, or present the token itself as a script does.
    if request.method != "POST" or call_token.presented(request):
        return None
    if not from_a_browser(request):
        who = request.remote_addr
        log.warning(
            "%s: refused a request from %s with the cookie alone, and no fetch metadata", shown(request.path), who
        )
        return failure(403, PRESENT_THE_TOKEN if request.endpoint == "pages.place_call" else PRESS_ON_THE_PAGE)
    if not asked_by_the_person(request):
        why = fetch_metadata(request)
        log.warning("%s: refused a request another site's page made (%s)", shown(request.path), why)
        return failure(403, ANOTHER_SITE)
    return None


@blueprint.after_request
def remember_the_token(answer: Response) -> Response:
    call_token = parts().call_token
    if call_token.in_query(request):
        call_token.remember(answer, request)
    return answer


# GET is the start-up link's; the page's Call buttons POST.
@blueprint.route("/call", methods=["GET", "POST"])
def place_call() -> Response | str:
    """Ring TO_NUMBER: a browser is sent on to the new call's page (303, so a reload places no second call)."""
    not_asked = _unless_asked()
    if not_asked is not None:
        return not_asked
    app = parts()
    try:
        uuid = app.calls.place_call(_public_url())
    except Refused as refused:
        return failure(refused.status, refused.reason, refused.retry_after)
    if wants_page():
        return redirect(url_for("pages.call_page", uuid=uuid), 303)
    s = app.settings
    return jsonify(
        uuid=uuid,
        to=s.to_number,
        audio=s.audio.source,
        stream_seconds=s.stream_seconds,
        message=f"Ringing {s.to_number} from {s.vonage_number}. Once answered, "
        f"{s.audio.source} plays for {s.stream_seconds:g} s, then the call ends.",
    )


def _unless_asked() -> Response | str | None:
    """None if the person asked for a call; otherwise the answer that places none. A browser says
    how a request came (fetch metadata): whatever another page, an embed or a prefetch loads gets
    the Call button. A script must present the token itself: the cookie alone places nothing."""
    if from_a_browser(request):
        if asked_by_the_person(request):
            return None
        log.info(
            "/call: no call placed, the person did not ask for it (%s): answered the Call button",
            fetch_metadata(request),
        )
        return render_template("call_button.html", to_number=parts().settings.to_number)
    if parts().call_token.presented(request):
        return None
    log.warning("/call: refused a request from %s with the cookie alone, and no fetch metadata", request.remote_addr)
    return failure(403, PRESENT_THE_TOKEN)


@blueprint.get("/")
def home() -> str:
    return render_template("home.html", to_number=parts().settings.to_number, calls=call_list())


@blueprint.get("/calls/<uuid>")
def call_page(uuid: str) -> tuple[str, int]:
    view = call_view(uuid)
    to_number = parts().settings.to_number
    page = render_template("call.html", uuid=uuid, view=view, restarted=RESTARTED, to_number=to_number)
    return page, 200 if view else 404


@blueprint.get("/calls/<uuid>.json")
def call_now(uuid: str) -> Response | tuple[Response, int]:
    view = call_view(uuid)
    return jsonify(view) if view else (jsonify(error=RESTARTED), 404)


@blueprint.post("/calls/<uuid>/music/stop")
def stop_music(uuid: str) -> Response | tuple[Response, int]:
    return _press(uuid, Call.stop_music, "Stopping the music; the hang-up stays when it was due.")


@blueprint.post("/calls/<uuid>/music/play")
def play_music(uuid: str) -> Response | tuple[Response, int]:
    return _press(uuid, Call.play_music, "Playing the music again until the hang-up.")


@blueprint.post("/calls/<uuid>/hang-up")
def hang_up(uuid: str) -> Response | tuple[Response, int]:
    return _press(uuid, Call.hang_up, "Hanging up.")


@blueprint.post("/calls/<uuid>/say")
def say(uuid: str) -> Response | tuple[Response, int]:
    try:
        parts().calls.say(uuid, text_to_say())
    except Refused as refused:
        log.warning("call %s: refused to say something: %s", shown(uuid), refused.reason)
        return failure(refused.status, refused.reason)
    return _done(uuid, "Saying it into the call.")


def _press(uuid: str, pressed: Callable[[Call], Next], message: str) -> Response | tuple[Response, int]:
    calls = parts().calls
    if calls.history.of(uuid) is None:
        return failure(404, RESTARTED)
    try:
        calls.act(uuid, pressed)
    except Refused as refused:
        log.warning("call %s: %s refused: %s", uuid, request.path.rsplit("/", 1)[-1], refused.reason)
        return failure(refused.status, refused.reason)
    return _done(uuid, message)


def _done(uuid: str, message: str) -> Response | tuple[Response, int]:
    if wants_page():
        return redirect(url_for("pages.call_page", uuid=uuid), 303)
    return jsonify(uuid=uuid, message=message), 202


def _public_url() -> str:
    try:
        return parts().public_url.current()
    except NoPublicUrl as why:
        log.error("call to %s: not placed: %s", parts().settings.to_number, why)
        raise Refused(503, str(why)) from None


def wants_page() -> bool:
    """True for a browser; scripts (application/json, or */* as curl and requests send) get JSON."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def failure(status: int, reason: str, retry_after: int | None = None) -> Response:
    """`reason` as a readable page for a browser, as JSON for a script."""
    if wants_page():
        answer = Response(render_template("failure.html", status=status, reason=reason), status)
    else:
        answer = jsonify(error=reason)
        answer.status_code = status
    if retry_after:
        answer.headers["Retry-After"] = str(retry_after)
    return answer


def text_to_say() -> str:
    """The request's `text`, as a form field or in JSON, or Refused (400) saying why it cannot be spoken."""
    if request.is_json:
        try:
            body = read_json(request.get_data(), MOST_SAY_BYTES)
        except UnreadableJson as why:
            raise Refused(400, f"{SEND_TEXT}: this body is {why}.") from None
        text = body.get("text") if isinstance(body, dict) else None
    else:
        text = request.form.get("text")
    if not isinstance(text, str):
        raise Refused(400, f"{SEND_TEXT}.")
    text = text.strip()
    if not text:
        raise Refused(400, "There is nothing to say: the text is empty.")
    if len(text) > MAX_SPOKEN_CHARACTERS:
        raise Refused(
            400,
            f"The text is {len(text):,} characters long; the Voice API speaks at most "
            f"{MAX_SPOKEN_CHARACTERS:,} at a time. Shorten it, or say it in parts.",
        )
    return text
