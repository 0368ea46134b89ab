"""Fixtures: a throw-away key pair and TLS certificate, the Voice API stand-in,
and the real app served over real HTTP on loopback."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import requests
from werkzeug.serving import make_server

from app import RequestHandler, Settings, create_app
from tools.app_process import AppProcess, free_port, user_environment
from tools.voice_api_standin import ThrowAwayCredentials, VoiceApiStandIn, signed_headers, throwaway_credentials

APPLICATION_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
VONAGE_NUMBER = "447700900000"
TO_NUMBER = "447700900001"
SIGNATURE_SECRET = "sig-secret-0123456789abcdefghijklmnopqrstuv"


def app_log(caplog: pytest.LogCaptureFixture) -> str:
    """Every line the app itself has logged so far."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "stream_audio")


def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in app_log(caplog):
        assert time.monotonic() < deadline, f"no log line with {text!r} within {timeout} s"
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


@pytest.fixture(scope="session")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> ThrowAwayCredentials:
    """The application's key pair and the stand-in's TLS certificate, made for this run."""
    return throwaway_credentials(tmp_path_factory.mktemp("credentials"))


@pytest.fixture(autouse=True)
def trust_test_ca(monkeypatch: pytest.MonkeyPatch, credentials: ThrowAwayCredentials) -> None:
    """The SDK must trust the stand-in's throw-away CA, whatever this machine trusts."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(credentials.ca_path))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def voice_api(credentials: ThrowAwayCredentials) -> Iterator[VoiceApiStandIn]:
    standin = VoiceApiStandIn(APPLICATION_ID, credentials.public_pem, credentials.server_context)
    yield standin
    standin.close()


@pytest.fixture
def env(credentials: ThrowAwayCredentials, voice_api: VoiceApiStandIn) -> dict[str, str]:
    """Settings as a user writes them in .env; BASE_URL is filled in per server."""
    return {
        "VONAGE_APPLICATION_ID": APPLICATION_ID,
        "VONAGE_APPLICATION_PRIVATE_KEY_PATH": str(credentials.private_key_path),
        "VONAGE_NUMBER": VONAGE_NUMBER,
        "TO_NUMBER": TO_NUMBER,
        "STREAM_SECONDS": "1",
        "VONAGE_API_HOST": voice_api.host,
        "VONAGE_API_TIMEOUT": "2",
    }


class RunningApp:
    """The real app on a real HTTP server in this process, and Vonage's side of its webhooks."""

    def __init__(self, env: dict[str, str]) -> None:
        # Bind first, so that BASE_URL can name the port the server really has.
        self._server = make_server("127.0.0.1", 0, app=None, threaded=True, request_handler=RequestHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.settings = Settings.from_env({**env, "BASE_URL": self.url})
        self.app = create_app(self.settings)
        self._server.app = self.app
        self._thread = threading.Thread(target=self._server.serve_forever, name="app-server", daemon=True)
        self._thread.start()

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)

    def place_call(self) -> str:
        """Open /call as the browser does; return the new call's uuid."""
        response = self.get("/call")
        assert response.status_code == 200, response.text
        return response.json()["uuid"]

    def vonage_sends(self, call_uuid: str, status: str, **claims) -> requests.Response:
        """POST an event to the webhook as Vonage does, signed when the app has a signature secret."""
        event = {
            "uuid": call_uuid,
            "conversation_uuid": "CON-d4a6c2f2-1d8f-4a4b-9c6f-2b1f1f1f1f1f",
            "status": status,
            "direction": "outbound",
            "from": VONAGE_NUMBER,
            "to": TO_NUMBER,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json"}
        if self.settings.signature_secret:
            headers |= signed_headers(body, self.settings.signature_secret, APPLICATION_ID, **claims)
        return self.post_event(body, headers)

    def post_event(self, body: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(self.url + "/webhooks/events", data=body, headers=headers, timeout=10)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self.app.extensions["call_flow"].close()


@pytest.fixture
def start_app(env: dict[str, str]) -> Iterator[Callable[..., RunningApp]]:
    """Start the app with `env` plus any overrides, e.g. start_app(STREAM_SECONDS="2")."""
    started: list[RunningApp] = []

    def start(**overrides: str) -> RunningApp:
        started.append(RunningApp({**env, **overrides}))
        return started[-1]

    yield start
    for running in started:
        running.close()


@pytest.fixture
def running_app(start_app: Callable[..., RunningApp]) -> RunningApp:
    return start_app()


# --- `python app.py` as a user runs it -----------------------------------------------

class RunningProcess(AppProcess):
    """`python app.py`, and Vonage's side of its webhooks."""

    def wait_for_log(self, text: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert time.monotonic() < deadline, f"app.py logged no {text!r} within {timeout} s:\n{self.log()}"
            time.sleep(0.02)

    def vonage_sends(self, call_uuid: str, status: str, secret: str = "") -> requests.Response:
        body = json.dumps({"uuid": call_uuid, "status": status}).encode()
        headers = {"Content-Type": "application/json"}
        if secret:
            headers |= signed_headers(body, secret, APPLICATION_ID)
        return requests.post(self.url + "/webhooks/events", data=body, headers=headers, timeout=5)


@pytest.fixture
def start_process(credentials, voice_api, tmp_path) -> Iterator[Callable[..., RunningProcess]]:
    """Start `python app.py` with a user's settings, plus any overrides."""
    started: list[RunningProcess] = []

    def start(**overrides: str) -> RunningProcess:
        port = free_port()
        env = user_environment(**{
            "VONAGE_APPLICATION_ID": APPLICATION_ID,
            "VONAGE_APPLICATION_PRIVATE_KEY_PATH": str(credentials.private_key_path),
            "VONAGE_NUMBER": f"+{VONAGE_NUMBER}",
            "TO_NUMBER": TO_NUMBER,
            "BASE_URL": f"http://127.0.0.1:{port}/",
            "PORT": str(port),
            "STREAM_SECONDS": "1",
            "VONAGE_API_HOST": voice_api.host,
            "VONAGE_API_SECRET": "api-s3cr3t",
            "REQUESTS_CA_BUNDLE": str(credentials.ca_path),
            **overrides,
        })
        started.append(RunningProcess(env, tmp_path / f"app-{len(started)}.log"))
        assert started[-1].wait_until_serving(), f"app.py did not start serving:\n{started[-1].log()}"
        return started[-1]

    yield start
    for running in started:
        running.stop(signal.SIGKILL)


@pytest.fixture
def app_process(start_process) -> RunningProcess:
    return start_process()
