"""Stream audio into a phone call: a Python/Flask port of Vonage's Node.js sample.

The routes read in the order a call lives:
  GET  /call               ring TO_NUMBER from VONAGE_NUMBER           (calls.CallFlow.place_call);
                           a browser is sent on to the call's page, /calls/<uuid>   (call_page.py)
  GET  /audio/answer.json  Vonage asks what to do: GREETING, then silence that holds the line
  GET  /audio/<file>       Vonage fetches the silence and AUDIO
  POST /webhooks/events    `answered` starts AUDIO (voice_requests.CallRequests._start_music);
                           STREAM_SECONDS later (_time_up) the app stops it (_stop_music) and
                           hangs up (_hang_up)
The call's page, its controls (Stop music, Play music, Hang up, Say) and the home page, /, are
in stream_audio/call_page.py.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask, abort, jsonify, request, send_from_directory
from vonage_voice import Stream, Talk
from werkzeug.exceptions import RequestEntityTooLarge

from stream_audio.access import CallToken
from stream_audio.account_setup import run_setup
from stream_audio.call_page import call_pages, failure, placed, refusal
from stream_audio.calls import CallFlow
from stream_audio.public_url import NoPublicUrl, PublicUrl
from stream_audio.server import listen, serve
from stream_audio.settings import DEFAULT_GREETING, Settings, SettingsError
from stream_audio.voice_api import make_voice_client
from stream_audio.voice_requests import CallNotPlaced
from stream_audio.webhooks import MAX_EVENT_BYTES, EventRefused, SignedEvents, json_of, read_event, shown

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent
PUBLIC_DIR = PROJECT_DIR / "public"


def answer_ncco(base_url: str, greeting: str = DEFAULT_GREETING, language: str = "en-US") -> list[dict]:
    """The greeting (none if empty), then silence looped until the app hangs up (or length_timer ends the call)."""
    actions = [Talk(text=greeting, language=language, style=0)] if greeting else []
    actions.append(Stream(streamUrl=[f"{base_url}/audio/silence.mp3"], loop=0))
    return [action.model_dump(mode="json", exclude_none=True) for action in actions]


def create_app(settings: Settings | None = None, project_dir: Path = PROJECT_DIR) -> Flask:
    """Build the app serving `project_dir`'s public/. Without `settings`, read them from the environment and .env."""
    if settings is None:
        load_dotenv(project_dir / ".env")
        settings = Settings.from_env(os.environ, project_dir)
    # The SDK logs request headers, JWT included, at DEBUG and repeats every failed
    # request at WARNING; this app's own one line per step says more, and no secrets.
    logging.getLogger("vonage").setLevel(logging.ERROR)
    app = Flask(__name__)
    # Werkzeug answers 413 to a longer Content-Length, but silently cuts a chunked body
    # short at this limit; one byte over the cap lets the webhook tell the two apart.
    app.config["MAX_CONTENT_LENGTH"] = MAX_EVENT_BYTES + 1
    calls = app.extensions["calls"] = CallFlow(settings, make_voice_client(settings))
    call_token = app.extensions["call_token"] = CallToken(settings.call_token)
    signed_events = SignedEvents(settings.signature_secret) if settings.signature_secret else None
    if signed_events is None:
        log.warning(
            "VONAGE_SIGNATURE_SECRET is not set, so events are NOT verified: anyone who finds BASE_URL can post "
            "fake ones, such as an `answered` that starts the music on a call still ringing. The app acts only on "
            "calls it placed, asks the Voice API before a final status ends a call in progress (so a forged "
            "`completed` cannot cancel a hang-up), and Vonage ends each call %d s after it is answered whatever "
            "happens. Set VONAGE_SIGNATURE_SECRET (dashboard, Settings) so that only Vonage's own events count.",
            settings.length_timer,
        )

    # GET is the start-up link's; the page's Call buttons POST.
    @app.route("/call", methods=["GET", "POST"])
    def place_call():
        # Flask answers HEAD from a GET view; a link preview must not cost a call.
        if request.method == "HEAD":
            return "", 405, {"Allow": "GET, POST"}
        if (turned_away := refusal(call_token)) is not None:
            return turned_away
        try:
            uuid = calls.place_call()
        except CallNotPlaced as refused:
            retry_after = {"Retry-After": str(refused.retry_after)} if refused.retry_after else {}
            response = failure(refused.status, refused.reason, retry_after)
        else:
            response = placed(uuid, settings)
        if call_token.in_query(request):
            call_token.remember(response, request)
        return response

    @app.get("/audio/answer.json")
    def answer():
        uuid = request.args.get("uuid", "")
        log.info("call %s: Vonage fetched the answer NCCO", shown(uuid or "(no uuid given)"))
        try:
            base_url = calls.base_url_of(uuid)
        except NoPublicUrl as why:
            log.error("answer NCCO: %s", why)
            return jsonify(error=str(why)), 503
        return jsonify(answer_ncco(base_url, settings.greeting, settings.greeting_language))

    # Without merge_slashes, //etc/passwd stays an absolute path that safe_join refuses
    # with a 404, rather than a redirect into public/.
    @app.get("/audio/<path:filename>", merge_slashes=False)
    def audio(filename: str):
        if any(part.startswith(".") for part in filename.split("/")):
            abort(404)
        # AUDIO was judged by its content, so it is served as what it is, whatever its name.
        content_type = settings.audio.content_type if filename == settings.audio.source else None
        return send_from_directory(project_dir / "public", filename, max_age=360000, mimetype=content_type)

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
            log.warning("event webhook: refused a body sent as %s", shown(request.mimetype or "no Content-Type"))
            return jsonify(error="Events must be JSON, sent with Content-Type: application/json"), 415
        try:
            event = read_event(json_of(request))
        except EventRefused as why:
            log.warning("event webhook: refused %s", why)
            return jsonify(error=f"Expected a Vonage event, not {why}"), 400
        # Anything else Vonage sends is acknowledged: a 4xx would send a live call down its fallback path.
        calls.on_event(event)
        return "", 204

    app.register_blueprint(call_pages(calls, call_token, settings))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error: RequestEntityTooLarge):
        log.warning("%s %s: refused a body over %d bytes", request.method, shown(request.path), MAX_EVENT_BYTES)
        return jsonify(error=f"The body is over {MAX_EVENT_BYTES} bytes"), 413

    return app


def main() -> int:
    if sys.argv[1:] == ["setup"]:
        return run_setup(PROJECT_DIR, os.environ)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(message)s")
    load_dotenv(PROJECT_DIR / ".env")
    try:
        settings = Settings.from_env(os.environ, PROJECT_DIR)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        public_url = PublicUrl(settings).current()
    except NoPublicUrl as why:
        print(f"Cannot start: {why}", file=sys.stderr)
        return 2
    try:
        listening = listen(settings.port)
    except OSError as error:
        print(f"Cannot listen on port {settings.port}: {error.strerror}. Set PORT to a free one.", file=sys.stderr)
        return 2
    app = create_app(settings)
    call_token = app.extensions["call_token"]
    link = call_token.link(f"http://localhost:{settings.port}")
    log.info(
        "Open %s to ring %s; Vonage reaches this server at %s%s",
        link if call_token.generated else link.replace(call_token.value, "<CALL_TOKEN>"),
        settings.to_number,
        public_url,
        "" if settings.base_url else " (found from ngrok, asked again for each call)",
    )
    try:
        serve(app, listening)
    finally:
        calls_not_ended = app.extensions["calls"].close()
    # The exit code says how it ended: README.md, "Shutdown".
    return 1 if calls_not_ended else 0


if __name__ == "__main__":
    sys.exit(main())
