"""What the tests share: one set of ids and numbers, one way to send a Vonage event, one wait."""

from __future__ import annotations

import logging
import math
import threading
import time
import wave
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from app import PROJECT_DIR, create_app
from stream_audio.server import RequestHandler
from stream_audio.settings import Settings
from tools import make_audio
from tools.app_process import AppProcess
from tools.webhook_events import event_request, signed_headers, vonage_event

APPLICATION_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
VONAGE_NUMBER = "447700900000"
TO_NUMBER = "447700900001"
SIGNATURE_SECRET = "sig-secret-0123456789abcdefghijklmnopqrstuv"
APP_LOGGERS = ("app", "__main__", "stream_audio")


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `condition` until it is truthy (and return it); fail the test naming `what` if it never is."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.01)
    return result


def app_records(caplog: pytest.LogCaptureFixture, level: int = logging.NOTSET) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.split(".")[0] in APP_LOGGERS and r.levelno >= level]


def app_log(caplog: pytest.LogCaptureFixture) -> str:
    """Every line the app itself has logged so far."""
    return "\n".join(app_records(caplog))


def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 5.0) -> None:
    wait_until(lambda: text in app_log(caplog), timeout, f"a log line with {text!r}")


def post_event(base_url: str, call_uuid: str, status: str, secret: str = "", **fields: Any) -> requests.Response:
    """POST a call event to the app's webhook as Vonage does, signed when given the secret."""
    event = vonage_event(call_uuid, status, VONAGE_NUMBER, TO_NUMBER, **fields)
    body, headers = event_request(event, secret, APPLICATION_ID)
    return requests.post(base_url + "/webhooks/events", data=body, headers=headers, timeout=10)


class RunningApp:
    """The real app on a real HTTP server in this process, and Vonage's side of its webhooks."""

    def __init__(self, env: dict[str, str], project_dir: Path = PROJECT_DIR) -> None:
        # Bind first, so that BASE_URL and PORT can name the port the server really has.
        self._server = make_server("127.0.0.1", 0, app=None, threaded=True, request_handler=RequestHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # BASE_URL="" in `env` leaves the public URL to the ngrok agent at NGROK_API_URL.
        self.settings = Settings.from_env({"BASE_URL": self.url, **env, "PORT": str(self._server.server_port)},
                                          project_dir)
        self.app = create_app(self.settings, project_dir)
        self.calls = self.app.extensions["calls"]
        self.token = self.app.extensions["call_token"].value
        # A browser that has opened the start-up link, and so holds the token's cookie.
        self.browser = requests.Session()
        self.browser.cookies.set("call_token", self.token, domain="127.0.0.1")
        self._server.app = self.app
        self._thread = threading.Thread(target=self._server.serve_forever, name="app-server", daemon=True)
        self._thread.start()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET `path` as the browser that opened the start-up link."""
        return self.browser.get(self.url + path, timeout=10, **kwargs)

    def place_call(self) -> str:
        """Open /call as the browser does; return the new call's uuid."""
        response = self.get("/call")
        assert response.status_code == 200, response.text
        return response.json()["uuid"]

    def vonage_sends(self, call_uuid: str, status: str, **claims: Any) -> requests.Response:
        """POST an event as Vonage does, signed when the app has a signature secret; `claims` alter the signature."""
        event = vonage_event(call_uuid, status, VONAGE_NUMBER, TO_NUMBER)
        body, headers = event_request(event)
        if self.settings.signature_secret:
            headers |= signed_headers(body, self.settings.signature_secret, APPLICATION_ID, **claims)
        return self.post_event(body, headers)

    def post_event(self, body: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(self.url + "/webhooks/events", data=body, headers=headers, timeout=10)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self.calls.close()


class RunningProcess(AppProcess):
    """`python app.py`, and Vonage's side of its webhooks."""

    def place_call(self) -> str:
        response = requests.get(self.url + "/call", params={"token": self.env["CALL_TOKEN"]}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["uuid"]

    def wait_for_log(self, text: str, timeout: float = 5.0) -> None:
        wait_until(lambda: text in self.log(), timeout, f"app.py logging {text!r}")

    def vonage_sends(self, call_uuid: str, status: str, secret: str = "") -> requests.Response:
        return post_event(self.url, call_uuid, status, secret)


def write_wav(path: Path, seconds: float, sample_width: int = 2, rate: int = 8000) -> Path:
    """A mono WAV of a quiet 440 Hz tone, `sample_width` bytes a sample (2: 16-bit PCM, as the Voice API takes)."""
    frames = int(seconds * rate)
    if sample_width == 2:
        samples = array("h", (int(3000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(frames))).tobytes()
    else:
        samples = bytes(frames * sample_width)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(sample_width)
        out.setframerate(rate)
        out.writeframes(samples)
    return path


def write_mp3(path: Path, seconds: float) -> Path:
    """A mono MP3 of the project's own synthesised music, cut to `seconds`."""
    path.write_bytes(make_audio.encode(make_audio.music()[: int(seconds * make_audio.SAMPLE_RATE)]))
    return path
