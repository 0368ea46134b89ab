"""What the tests share: one set of ids and numbers, one way to send a Vonage event, one wait."""

from __future__ import annotations

import logging
import math
import os
import re
import sched
import shutil
import subprocess
import sys
import threading
import time
import wave
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from vonage_http_client import AuthenticationError, HttpRequestError, NotFoundError, RateLimitedError, ServerError
from vonage_voice import CallInfo, CreateCallResponse, Phone
from waitress import wasyncore

from app import PROJECT_DIR, create_app
from stream_audio.app_parts import parts
from stream_audio.audio import Audio
from stream_audio.call import CallState
from stream_audio.call_flow import CallFlow
from stream_audio.events import read_event
from stream_audio.history import CallHistory
from stream_audio.pacer import WINDOW_SECONDS, Pacer
from stream_audio.server import listen, make_server
from stream_audio.settings import ALL_NAMES, Settings
from stream_audio.voice_requests import VoiceRequests
from tools import make_audio
from tools.app_process import AppProcess
from tools.standins.voice_api import VoiceApiStandIn
from tools.standins.webhook_events import event_request, signed_headers, vonage_event

APPLICATION_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
VONAGE_NUMBER = "447700900000"
TO_NUMBER = "447700900001"
SIGNATURE_SECRET = "sig-secret-0123456789abcdefghijklmnopqrstuv"
API_KEY = "abcd1234"
API_SECRET = "api-s3cr3t-0123456789"
APP_LOGGERS = ("app", "__main__", "stream_audio")
STREAM_SECONDS = 20  # in the fast tests' Account
CHROMIUM = Path("/usr/bin/chromium")  # Debian's, which the call page's tests drive


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `condition` until it is truthy (and return it); fail the test naming `what` if it never is."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.01)
    return result


def steps_sent(voice_api: VoiceApiStandIn, call_uuid: str) -> list[str]:
    """The Voice API requests creating calls or acting on call `call_uuid`, in order; checks of unsigned
    final events (GET call) left out."""
    return [r.step for r in voice_api.received if r.call_uuid in (call_uuid, None) and r.step != "get_call"]


def app_records(caplog: pytest.LogCaptureFixture, level: int = logging.NOTSET) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.split(".")[0] in APP_LOGGERS and r.levelno >= level]


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
        listening = listen(0)
        port = listening.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        # BASE_URL="" in `env` leaves the public URL to the ngrok agent at NGROK_API_URL.
        self.settings = Settings.from_env({"BASE_URL": self.url, **env, "PORT": str(port)}, project_dir)
        self.app = create_app(self.settings, project_dir)
        self.calls = parts(self.app).calls
        self.token = parts(self.app).call_token.value
        # A browser that has opened the start-up link, and so holds the token's cookie.
        self.browser = requests.Session()
        self.browser.cookies.set("call_token", self.token, domain="127.0.0.1")
        self._server = make_server(self.app, listening)
        self._thread = threading.Thread(target=self._server.run, name="app-server", daemon=True)
        self._thread.start()

    def link(self, path: str = "/call") -> str:
        """`path` with the call token in its query: /call is the link the app prints at start-up."""
        return f"{self.url}{path}?token={self.token}"

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


class RunningProcess(AppProcess):
    """`python app.py`, and Vonage's side of its webhooks."""

    def link(self, path: str = "/call") -> str:
        """`path` with the call token in its query: /call is the link the app prints at start-up."""
        return f"{self.url}{path}?token={self.env['CALL_TOKEN']}"

    def place_call(self) -> str:
        response = requests.get(self.url + "/call", params={"token": self.env["CALL_TOKEN"]}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["uuid"]

    def wait_for_log(self, text: str, timeout: float = 5.0) -> None:
        wait_until(lambda: text in self.log(), timeout, f"app.py logging {text!r}")

    def threads(self) -> int:
        """How many threads the app's process has now."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"^Threads:\s+(\d+)$", status, re.MULTILINE)[1])

    def vonage_sends(self, call_uuid: str, status: str, secret: str = "") -> requests.Response:
        return post_event(self.url, call_uuid, status, secret)

    def callee_hangs_up(self, voice_api: VoiceApiStandIn, call_uuid: str, status: str = "completed") -> None:
        """The call ends on Vonage's side and Vonage says so; returns once the app has logged it."""
        voice_api.callee_hangs_up(call_uuid, status)
        assert self.vonage_sends(call_uuid, status).status_code == 204
        self.wait_for_log(f"call {call_uuid}: {status}")


# --- fakes for the fast tests of the call logic: no sockets, no sleeps --------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeDeadlines:
    """The Deadlines interface on the standard library's scheduler, run by hand on a FakeClock."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self._scheduler = sched.scheduler(clock, lambda _: None)

    def schedule(self, delay: float, action: Callable[..., Any], *args: Any) -> sched.Event:
        return self._scheduler.enter(delay, 0, action, args)

    def cancel(self, event: sched.Event) -> bool:
        try:
            self._scheduler.cancel(event)
        except ValueError:
            return False
        return True

    def stop(self) -> None:
        for event in self._scheduler.queue:
            self.cancel(event)

    def run_next(self, until: float) -> bool:
        """Run the next action due by `until`, moving the clock to its time; else move the clock to `until`."""
        queue = self._scheduler.queue
        if not queue or queue[0].time > until:
            self._clock.now = max(self._clock.now, until)
            return False
        self._clock.now = max(self._clock.now, queue[0].time)
        self._scheduler.run(blocking=False)
        return True


def http_error(status: int) -> Exception:
    """The SDK's own exception for an HTTP `status` from the Voice API."""
    response = requests.Response()
    response.status_code = status
    response._content = b'{"title": "Failure requested by the test"}'
    response.url = "https://api.nexmo.com/v1/calls"
    errors = {401: AuthenticationError, 404: NotFoundError, 429: RateLimitedError, 500: ServerError}
    return errors.get(status, HttpRequestError)(response)


@dataclass
class FakeVoice:
    """The SDK's Voice client as CallFlow uses it: records each request, fails on demand."""

    clock: FakeClock
    sent: list[tuple[float, str, str]] = field(default_factory=list)  # (when, request, call uuid)
    failures: dict[str, list[Exception]] = field(default_factory=dict)  # next errors, per request
    created: int = 0
    ended: dict[str, str] = field(default_factory=dict)  # call uuid -> final status, once the callee hung up
    unknown: set[str] = field(default_factory=set)  # call uuids the Voice API has never heard of
    # What happens once Vonage has answered a request but before the app has read the answer, once.
    meanwhile: dict[str, Callable[[], None]] = field(default_factory=dict)

    def _send(self, name: str, call_uuid: str) -> None:
        self.sent.append((self.clock(), name, call_uuid))
        if self.failures.get(name):
            raise self.failures[name].pop(0)

    def requests_for(self, call_uuid: str) -> list[str]:
        return [name for _, name, uuid in self.sent if uuid == call_uuid]

    def create_call(self, _request: Any) -> CreateCallResponse:
        self.created += 1
        call_uuid = f"call-{self.created}"
        self._send("create_call", call_uuid)
        return CreateCallResponse(
            uuid=call_uuid, status="started", direction="outbound", conversation_uuid=f"CON-{call_uuid}"
        )

    def play_audio_into_call(self, call_uuid: str, _options: Any) -> None:
        self._send("start_stream", call_uuid)

    def stop_audio_stream(self, call_uuid: str) -> None:
        self._send("stop_stream", call_uuid)

    def hangup(self, call_uuid: str) -> None:
        self._send("hangup", call_uuid)
        if (happens := self.meanwhile.pop("hangup", None)) is not None:
            happens()

    def get_call(self, call_uuid: str) -> CallInfo:
        self._send("get_call", call_uuid)
        if call_uuid in self.unknown:
            raise http_error(404)
        answer = CallInfo(
            uuid=call_uuid,
            conversation_uuid=f"CON-{call_uuid}",
            to=Phone(number=TO_NUMBER),
            status=self.ended.get(call_uuid, "answered"),
            direction="outbound",
            **{"from": Phone(number=VONAGE_NUMBER), "_links": {"self": {"href": f"/calls/{call_uuid}"}}},
        )
        if (happens := self.meanwhile.pop("get_call", None)) is not None:
            happens()
        return answer


def run_for(seconds: float, clock: FakeClock, deadlines: FakeDeadlines, pacer: Pacer) -> None:
    """`seconds` of the app's life on the fake clock: the pacer's queued work done as its workers
    would, as soon as the rolling second has room, and each deadline at its time."""
    until = clock.now + seconds
    while True:
        ready = pacer.take_ready()
        if isinstance(ready, tuple):
            pacer.run(*ready)
        elif not deadlines.run_next(min(until, clock.now + ready) if ready else until) and clock.now >= until:
            return


class Account:
    """The app's call logic and a fake Voice API, on one fake clock."""

    def __init__(self, **settings) -> None:
        self.settings = Settings(
            application_id="app-id",
            private_key="",
            vonage_number=VONAGE_NUMBER,
            to_number=TO_NUMBER,
            audio=Audio("music.mp3", "audio/mpeg", 20.0),
            base_url="https://example.test",
            stream_seconds=STREAM_SECONDS,
            **{"max_active_calls": 1000, **settings},
        )
        self.clock = FakeClock()
        self.deadlines = FakeDeadlines(self.clock)
        self.pacer = Pacer(
            self.settings.calls_per_second, self.settings.requests_per_second, workers=0, clock=self.clock
        )
        self.voice = FakeVoice(self.clock)
        history = CallHistory()
        requests = VoiceRequests(self.voice, self.settings, history)
        self.calls = CallFlow(self.settings, requests, history, self.deadlines, self.pacer, clock=self.clock)

    def place_call(self) -> str:
        return self.calls.place_call(self.settings.base_url)

    def state_of(self, call_uuid: str) -> CallState | None:
        """The call's state; None once the app has let it go."""
        snapshot = self.calls.snapshot(call_uuid)
        return snapshot.state if snapshot else None

    def place_calls(self, count: int) -> list[str]:
        placed = []
        for _ in range(count):
            placed.append(self.place_call())
            if len(placed) % self.settings.calls_per_second == 0:
                self.run_for(WINDOW_SECONDS)
        return placed

    def vonage_says(self, call_uuid: str, status: str, **fields: str) -> None:
        self.calls.on_event(read_event({"uuid": call_uuid, "status": status, **fields}))

    def run_for(self, seconds: float) -> None:
        run_for(seconds, self.clock, self.deadlines, self.pacer)

    def sent(self, request: str) -> list[tuple[float, str, str]]:
        return [sent for sent in self.voice.sent if sent[1] == request]

    def busiest_second(self, requests: set[str]) -> int:
        times = [when for when, name, _ in self.voice.sent if name in requests]
        return max((sum(start <= t < start + 1 for t in times) for start in times), default=0)


def copy_of_the_project(folder: Path) -> Path:
    """What `python app.py` needs, copied into `folder`: a clone whose .env and private.key the test owns."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("app.py", "public", "stream_audio", "templates", "static"):
        source = PROJECT_DIR / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, folder / name)
    return folder


def settings_left_to_dotenv(**settings: str) -> dict[str, str]:
    """This environment with no setting but `settings`, so that the project's .env supplies the rest."""
    return {**{k: v for k, v in os.environ.items() if k not in ALL_NAMES}, **settings}


def run_setup_process(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python app.py setup` in `project`, as a user runs it."""
    return subprocess.run(
        [sys.executable, "app.py", "setup"], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )


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
