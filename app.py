"""Stream audio into a phone call: a Python/Flask port of Vonage's Node.js sample.

    python app.py          serve: open the link it prints to ring TO_NUMBER
    python app.py setup    create the Voice application, link the number and fill in .env

create_app builds the app: Vonage's side (the answer NCCO, the audio, the event webhook) is
stream_audio/vonage_routes.py; a person's side (/, /call, the call's page) is
stream_audio/person_routes.py; what happens to each call is stream_audio/call_flow.py.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from dotenv import load_dotenv
from flask import Flask

if TYPE_CHECKING:
    from stream_audio.settings import Settings

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent


def create_app(settings: Settings | None = None, project_dir: Path = PROJECT_DIR) -> Flask:
    """The app serving `project_dir`'s public/. Without `settings`, they are read from the environment and .env."""
    # Imported here, as in Flask's tutorial: `import app` (setup, --help, the tests' helpers) then
    # loads no Voice API SDK; the app's parts load once, when the app is built.
    from stream_audio import person_routes, vonage_routes
    from stream_audio.access import CallToken
    from stream_audio.answer_headers import protect
    from stream_audio.app_parts import AppParts
    from stream_audio.audio import choose
    from stream_audio.call_flow import CallFlow
    from stream_audio.events import MAX_EVENT_BYTES
    from stream_audio.history import CallHistory
    from stream_audio.public_url import PublicUrl
    from stream_audio.settings import Settings
    from stream_audio.signatures import SignedEvents, warn_unsigned
    from stream_audio.voice_api import make_voice_client
    from stream_audio.voice_requests import VoiceRequests

    if settings is None:
        load_dotenv(project_dir / ".env")
        settings = Settings.from_env(os.environ, project_dir)
    app = Flask(__name__)
    # One byte over the webhook's cap, so that a chunked body Werkzeug cut short there is still refused.
    app.config["MAX_CONTENT_LENGTH"] = MAX_EVENT_BYTES + 1
    history = CallHistory()
    requests = VoiceRequests(make_voice_client(settings), settings, history)
    signed_events = SignedEvents(settings.signature_secret) if settings.signature_secret else None
    if signed_events is None:
        warn_unsigned(settings.length_timer)
    AppParts(
        settings=settings,
        calls=CallFlow(settings, requests, history),
        call_token=CallToken(settings.call_token),
        public_url=PublicUrl(settings),
        signed_events=signed_events,
        public_dir=project_dir / "public",
        silence=choose("silence.mp3", project_dir / "public"),
    ).install(app)
    app.register_blueprint(vonage_routes.blueprint)
    app.register_blueprint(person_routes.blueprint)
    # Every answer, Flask's own error pages included.
    app.after_request(protect)
    return app


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(context: click.Context) -> None:
    """Serve the app: open the link it prints to ring TO_NUMBER."""
    if context.invoked_subcommand is None:
        sys.exit(serve())


@main.command()
def setup() -> None:
    """Create the Voice application, save its key, link the number and fill in .env."""
    # Loaded here alone: the account APIs' SDK modules take a while to import, and only setup needs them.
    from stream_audio.account_setup import run_setup

    sys.exit(run_setup(PROJECT_DIR, os.environ))


def serve() -> int:
    """Check the settings, find the public URL, then serve until Ctrl-C; the exit code (docs/security.md)."""
    from stream_audio.app_parts import parts
    from stream_audio.audio import NotPlayable
    from stream_audio.public_url import NoPublicUrl, PublicUrl
    from stream_audio.server import listen, serve_until_stopped
    from stream_audio.settings import Settings, SettingsError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(message)s")
    load_dotenv(PROJECT_DIR / ".env")
    try:
        settings = Settings.from_env(os.environ, PROJECT_DIR)
        public_url = PublicUrl(settings).current()
        listening = listen(settings.port)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    except NoPublicUrl as why:
        print(f"Cannot start: {why}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"Cannot listen on port {settings.port}: {error.strerror}. Set PORT to a free one.", file=sys.stderr)
        return 2
    try:
        app = create_app(settings)
    except NotPlayable as why:
        print(f"Cannot start: public/silence.mp3 {why}; `make audio` makes it again.", file=sys.stderr)
        return 2
    found = "" if settings.base_url else " (found from ngrok, asked again for each call)"
    log.info(
        "Vonage reaches this server at %s%s; open the link printed below to ring %s",
        public_url,
        found,
        settings.to_number,
    )
    # The link holds the call token: printed for the person at the terminal, never in a log line.
    print(parts(app).call_token.link(f"http://localhost:{settings.port}"), flush=True)
    try:
        serve_until_stopped(app, listening)
    finally:
        calls_not_ended = parts(app).calls.close()
    return 1 if calls_not_ended else 0


if __name__ == "__main__":
    main()
