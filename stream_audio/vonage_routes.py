"""What Vonage asks of this server: the answer NCCO, the audio files it streams, and the event webhook."""

from __future__ import annotations

import logging
import math

from flask import Blueprint, Response, abort, jsonify, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from stream_audio.app_parts import parts
from stream_audio.audio import NotPlayable, public_file
from stream_audio.bounded_json import UnreadableJson, read_json
from stream_audio.events import CALL_UUID, MAX_EVENT_BYTES, EventRefused, read_event
from stream_audio.log_text import shown
from stream_audio.ncco import ALL_LINES_BUSY, NO_CALLS_TAKEN, answer_ncco, one_sentence_ncco
from stream_audio.public_url import NoPublicUrl
from stream_audio.setting_values import PHONE_NUMBER

log = logging.getLogger(__name__)

blueprint = Blueprint("vonage", __name__)


@blueprint.get("/audio/answer.json")
def answer() -> Response | tuple[Response, int]:
    """The NCCO for a call being answered: one the app placed, or one to VONAGE_NUMBER. Vonage says
    which by the answer request's `to`; the uuid alone cannot, since Vonage may fetch this before
    POST /v1/calls has answered the app."""
    uuid, conversation_uuid, to, caller = (
        request.args.get(name, "") for name in ("uuid", "conversation_uuid", "to", "from")
    )
    app = parts()
    log.info("call %s: Vonage fetched the answer NCCO (to %s, from %s)", shown(uuid or "-"), shown(to), shown(caller))
    settings = app.settings
    if to.removeprefix("+") == settings.vonage_number and settings.inbound_calls == "decline":
        log.info("call %s: a call to the number; INBOUND_CALLS=decline, so it is told so and ends", shown(uuid))
        return jsonify(one_sentence_ncco(NO_CALLS_TAKEN, settings.greeting_language))
    call = app.calls.snapshot(uuid)
    try:
        base_url = call.base_url if call else app.public_url.current()
    except NoPublicUrl as why:
        log.error("answer NCCO: %s", why)
        return jsonify(error=str(why)), 503
    if to.removeprefix("+") == settings.vonage_number and call is None:
        return jsonify(_for_a_caller(uuid, conversation_uuid, caller.removeprefix("+"), base_url))
    # Fetched again for a call to the number (Vonage retries a slow answer): bounded as the first time.
    loops = _silence_loops() if call is not None and call.direction == "inbound" else 0
    return jsonify(answer_ncco(base_url, settings.greeting, settings.greeting_language, loops))


def _for_a_caller(uuid: str, conversation_uuid: str, caller: str, base_url: str) -> list[dict]:
    """Someone rang VONAGE_NUMBER: the greeting and the music, like a call the app placed, if there is room."""
    app = parts()
    settings = app.settings
    if not (CALL_UUID.fullmatch(uuid) and CALL_UUID.fullmatch(conversation_uuid) and PHONE_NUMBER.fullmatch(caller)):
        log.warning("answer NCCO: refused a call to the number with a uuid or caller not shaped as Vonage's")
        return one_sentence_ncco(ALL_LINES_BUSY, settings.greeting_language)
    if not app.calls.answer_inbound(uuid, conversation_uuid, caller, base_url):
        return one_sentence_ncco(ALL_LINES_BUSY, settings.greeting_language)
    return answer_ncco(base_url, settings.greeting, settings.greeting_language, _silence_loops())


def _silence_loops() -> int:
    """A caller's silence ends a while after length_timer: the NCCO itself ends the call if the app cannot."""
    app = parts()
    return math.ceil(app.settings.length_timer / app.silence.seconds)


# Without merge_slashes, //etc/passwd stays an absolute path that public_file refuses
# with a 404, rather than a redirect into public/.
@blueprint.get("/audio/<path:filename>", merge_slashes=False)
def audio(filename: str) -> Response:
    app = parts()
    try:
        path = public_file(app.public_dir, filename)
    except NotPlayable as why:
        log.warning("/audio/%s: not served: it %s", shown(filename), why)
        abort(404)
    # AUDIO was judged by its content, so it is served as what it is, whatever its name.
    content_type = app.settings.audio.content_type if filename == app.settings.audio.source else None
    return send_file(path, max_age=360000, mimetype=content_type)


@blueprint.post("/webhooks/events")
def event() -> Response | tuple[Response | str, int]:
    body = request.get_data()
    if len(body) > MAX_EVENT_BYTES:
        raise RequestEntityTooLarge()
    app = parts()
    if app.signed_events is not None:
        try:
            app.signed_events.check(request.headers.get("Authorization", ""), body)
        except EventRefused as why:
            log.warning("event webhook: refused an event not verified as Vonage's: %s", why)
            return jsonify(error="This event is not signed by Vonage for this app."), 401
    if not request.is_json:
        log.warning("event webhook: refused a body sent as %s", shown(request.mimetype or "no Content-Type"))
        return jsonify(error="Events must be JSON, sent with Content-Type: application/json"), 415
    try:
        event = read_event(read_json(body, MAX_EVENT_BYTES))
    except UnreadableJson as why:
        log.warning("event webhook: refused a body %s", why)
        return jsonify(error=f"Expected a Vonage event, not a body {why}"), 400
    except EventRefused as why:
        log.warning("event webhook: refused %s", why)
        return jsonify(error=f"Expected a Vonage event, not {why}"), 400
    # Anything else Vonage sends is acknowledged: a 4xx would send a live call down its fallback path.
    app.calls.on_event(event)
    return "", 204


@blueprint.app_errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> tuple[Response, int]:
    # Werkzeug answers 413 to a longer Content-Length, but silently cuts a chunked body short at
    # MAX_CONTENT_LENGTH; the app sets that one byte over the cap so the webhook can tell.
    log.warning("%s %s: refused a body over %d bytes", request.method, shown(request.path), MAX_EVENT_BYTES)
    return jsonify(error=f"The body is over {MAX_EVENT_BYTES} bytes"), 413
