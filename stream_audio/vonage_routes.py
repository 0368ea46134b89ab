"""What Vonage asks of this server: the answer NCCO, the audio files it streams, and the event webhook."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, jsonify, request, send_from_directory
from werkzeug.exceptions import RequestEntityTooLarge

from stream_audio.app_parts import parts
from stream_audio.events import MAX_EVENT_BYTES, EventRefused, json_of, read_event
from stream_audio.log_text import shown
from stream_audio.ncco import answer_ncco
from stream_audio.public_url import NoPublicUrl

log = logging.getLogger(__name__)

blueprint = Blueprint("vonage", __name__)


@blueprint.get("/audio/answer.json")
def answer() -> Response | tuple[Response, int]:
    """The NCCO for a call the callee has answered, built from the public URL it was placed with."""
    uuid = request.args.get("uuid", "")
    log.info("call %s: Vonage fetched the answer NCCO", shown(uuid or "(no uuid given)"))
    app = parts()
    # A call not on record yet gets the public URL of the moment: Vonage may fetch the NCCO
    # before POST /v1/calls has answered the app, and the URL is the same a few ms on.
    call = app.calls.snapshot(uuid)
    try:
        base_url = call.base_url if call else app.public_url.current()
    except NoPublicUrl as why:
        log.error("answer NCCO: %s", why)
        return jsonify(error=str(why)), 503
    return jsonify(answer_ncco(base_url, app.settings.greeting, app.settings.greeting_language))


# Without merge_slashes, //etc/passwd stays an absolute path that safe_join refuses
# with a 404, rather than a redirect into public/.
@blueprint.get("/audio/<path:filename>", merge_slashes=False)
def audio(filename: str) -> Response:
    if any(part.startswith(".") for part in filename.split("/")):
        abort(404)
    app = parts()
    # AUDIO was judged by its content, so it is served as what it is, whatever its name.
    content_type = app.settings.audio.content_type if filename == app.settings.audio.source else None
    return send_from_directory(app.public_dir, filename, max_age=360000, mimetype=content_type)


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
        event = read_event(json_of(request))
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
