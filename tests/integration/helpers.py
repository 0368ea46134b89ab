"""The real app served by waitress in this process, Vonage's side of its webhooks, and
`python app.py setup` run against the account's stand-ins."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from flask import Response
from waitress import wasyncore

from app import PROJECT_DIR, create_app
from stream_audio.access import COOKIE, CallToken
from stream_audio.app_parts import parts
from stream_audio.server import CLEANUP_SECONDS, IDLE_CLIENT_SECONDS, listen, make_server
from stream_audio.settings import ALL_NAMES, Settings
from tests.helpers import APPLICATION_ID, TO_NUMBER, VONAGE_NUMBER, wait_until
from tools.standins.timeline import Timeline
from tools.standins.voice_api import VoiceApiStandIn
from tools.standins.vonage_calls import LikeVonage
from tools.standins.webhook_events import event_request, signed_headers, vonage_event

# What Chromium sends with a page the person opens themselves: the address bar, a bookmark, a link
# in a terminal. A link on one of this app's own pages says same-origin.
HTML = "text/html,application/xhtml+xml,*/*;q=0.8"
OPENED_BY_THE_PERSON = {
    "Accept": HTML,
    "Sec-Fetch-Site": "none",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-User": "?1",
    "Sec-Fetch-Dest": "document",
}


class ServedApp:
    """The app under test on loopback, in this process or as `python app.py`: where it is, its call
    token, and Vonage's side of its event webhook."""

    url: str
    token: str
    signature_secret: str

    def link(self, path: str = "/call") -> str:
        """`path` with the call token in its query: /call is the link the app prints at start-up."""
        return f"{self.url}{path}?token={self.token}"

    @property
    def cookie_value(self) -> str:
        """What the start-up link leaves in the browser's cookie: a key derived from the token, not the token."""
        return CallToken(self.token).cookie_value

    def vonage_sends(
        self, call_uuid: str, status: str, signed_at: int | None = None, **fields: Any
    ) -> requests.Response:
        """POST a call event to the webhook as Vonage does, signed when the app has a signature secret
        (`signed_at` alters the signature's iat); `fields` add to the event."""
        body, headers = event_request(vonage_event(call_uuid, status, VONAGE_NUMBER, TO_NUMBER, **fields))
        if self.signature_secret:
            claims = {} if signed_at is None else {"iat": signed_at}
            headers |= signed_headers(body, self.signature_secret, APPLICATION_ID, **claims)
        return self.post_to_webhook(body, headers)

    def post_to_webhook(self, body: bytes, headers: dict[str, str]) -> requests.Response:
        """POST `body` to the event webhook as it is: an event Vonage captured, a forgery, garbage."""
        return requests.post(self.url + "/webhooks/events", data=body, headers=headers, timeout=10)


class RunningApp(ServedApp):
    """The real app on a real HTTP server in this process."""

    def __init__(
        self,
        env: dict[str, str],
        project_dir: Path = PROJECT_DIR,
        idle_seconds: int = IDLE_CLIENT_SECONDS,
        cleanup_seconds: int = CLEANUP_SECONDS,
        **overrides: str,
    ) -> None:
        """The app with the settings `env` a user wrote and a test's `overrides`. Vonage reaches it at its
        own loopback URL unless `overrides` set BASE_URL ("" leaves that to the ngrok agent at NGROK_API_URL).
        The server drops a client idle `idle_seconds`, checking every `cleanup_seconds`, as python app.py's does."""
        # Bind first, so that BASE_URL and PORT can name the port the server really has.
        listening = listen(0)
        port = listening.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.settings = Settings.from_env({**env, "BASE_URL": self.url, **overrides, "PORT": str(port)}, project_dir)
        self.signature_secret = self.settings.signature_secret
        self.app = create_app(self.settings, project_dir)
        self.calls = parts(self.app).calls
        self.token = parts(self.app).call_token.value
        # A browser that has opened the start-up link, and so holds its cookie.
        self.browser = requests.Session()
        self.browser.cookies.set(COOKIE, self.cookie_value, domain="127.0.0.1")
        # A script that holds the call token, and sends it as curl does with -H "Authorization: Bearer ...".
        self.script = requests.Session()
        self.script.headers["Authorization"] = f"Bearer {self.token}"
        self._server = make_server(self.app, listening, idle_seconds, cleanup_seconds)
        self._thread = threading.Thread(target=self._server.run, name="app-server", daemon=True)
        self._thread.start()

    def press(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        """POST `path` as this app's own page does when a button is pressed: same-origin, with the cookie."""
        fetched = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}
        return self.browser.post(self.url + path, headers={**fetched, **(headers or {})}, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET `path` as a script holding the call token."""
        return self.script.get(self.url + path, timeout=10, **kwargs)

    def place_call(self) -> str:
        """GET /call as a script holding the call token; return the new call's uuid."""
        response = self.get("/call")
        assert response.status_code == 200, response.text
        return response.json()["uuid"]

    def callee_hangs_up(self, voice_api: VoiceApiStandIn, call_uuid: str, status: str = "completed") -> None:
        """The call ends on Vonage's side and Vonage says so; returns once the app has let the call go
        (without a signature secret, after the app has checked with the Voice API)."""
        voice_api.callee_hangs_up(call_uuid, status)
        assert self.vonage_sends(call_uuid, status).status_code == 204
        wait_until(lambda: self.calls.snapshot(call_uuid) is None, 5, f"the app letting call {call_uuid} go")

    def close(self) -> None:
        if self._thread.is_alive():
            # Waitress's loop ends once it watches no socket; closing them from its own
            # thread leaves it no socket to be polling meanwhile.
            try:
                self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._server._map))
            except OSError:
                pass  # the loop ended on its own between the check and the pull, and closed the trigger
            self._thread.join()
            self._server.task_dispatcher.shutdown()
        self.calls.close()


def vonage_around(
    voice_api: VoiceApiStandIn, app: ServedApp, ring_seconds: float = 0.2, hangs_up_after: float | None = None
) -> LikeVonage:
    """Vonage playing each call around `voice_api` for `app`, as `make demo` does: it rings, fetches and
    checks the NCCO and the audio, posts each event (signed if the app has a signature secret) and ends
    the call; its timeline holds what it saw, and as problems what Vonage would fail."""
    return LikeVonage(voice_api, Timeline(), app.signature_secret, ring_seconds, hangs_up_after)


def steps_sent(voice_api: VoiceApiStandIn, call_uuid: str) -> list[str]:
    """The Voice API requests creating calls or acting on call `call_uuid`, in order; checks of unsigned
    final events (GET call) left out."""
    return [r.step for r in voice_api.received if r.call_uuid in (call_uuid, None) and r.step != "get_call"]


def settings_left_to_dotenv(**settings: str) -> dict[str, str]:
    """This environment with no setting but `settings`, so that the project's .env supplies the rest."""
    return {**{k: v for k, v in os.environ.items() if k not in ALL_NAMES}, **settings}


def run_setup_process(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python app.py setup` in `project`, as a user runs it."""
    return subprocess.run(
        [sys.executable, "app.py", "setup"], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )


def setup_in_process(project: Path, env: dict[str, str], capsys: pytest.CaptureFixture) -> subprocess.CompletedProcess:
    """`python app.py setup` in `project`, run in this process as app.py runs it, and what it printed
    to each stream, as run_setup_process gives them: the process adds only its own start-up. Setup
    configures no logging, so Python prints any warning logged meanwhile to standard error: so here."""
    from stream_audio.account_setup import run_setup  # as app.py imports it: only setup needs the account APIs

    capsys.readouterr()
    unconfigured = logging.StreamHandler(sys.stderr)
    unconfigured.setLevel(logging.WARNING)
    logging.getLogger().addHandler(unconfigured)
    try:
        status = run_setup(project, env)
    finally:
        logging.getLogger().removeHandler(unconfigured)
    printed = capsys.readouterr()
    return subprocess.CompletedProcess(["app.py", "setup"], status, printed.out, printed.err)


def run_setup_in_process(project: Path, env: dict[str, str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """run_setup as app.py calls it, in this process; its exit status and everything it printed."""
    finished = setup_in_process(project, env, capsys)
    return finished.returncode, finished.stdout + finished.stderr


def raw_answer(body: bytes | str, status: int = 200, content_type: str = "application/json") -> Response:
    """An answer an account API's stand-in sends as it is (see its answer_with): any body, any status."""
    return Response(body, status=status, content_type=content_type)


def private_pem(key: Any, password: bytes | None = None) -> str:
    """`key` (any kind cryptography makes) as a PKCS#8 PEM, encrypted with `password` if given."""
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def public_pem(key: Any) -> str:
    """The public half of `key` as Vonage shows an application's: a SubjectPublicKeyInfo PEM."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
