"""The call logic on a clock moved by hand: no sockets, no threads, no sleeps. FakeVoice stands
in for the SDK's Voice client, and fails on demand with the SDK's own exceptions."""

from __future__ import annotations

import sched
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from urllib3 import HTTPSConnectionPool
from urllib3.connection import HTTPSConnection
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError
from vonage_http_client import AuthenticationError, HttpRequestError, NotFoundError, RateLimitedError, ServerError
from vonage_voice import CallInfo, CreateCallResponse, Phone

from stream_audio.audio import Audio
from stream_audio.call import CallState
from stream_audio.call_flow import CallFlow
from stream_audio.events import read_event
from stream_audio.history import CallHistory
from stream_audio.pacer import WINDOW_SECONDS, Pacer
from stream_audio.settings import Settings, SettingsError
from stream_audio.voice_requests import VoiceRequests
from tests.helpers import TO_NUMBER, VONAGE_NUMBER

STREAM_SECONDS = 20  # in Account's settings, unless a test says otherwise


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


def read_timeout(request: str) -> Exception:
    """What the SDK raises when the Voice API does not answer `request` (a FakeVoice request's
    name) within VONAGE_API_TIMEOUT: requests' ReadTimeout for POST /v1/calls; for PUT, DELETE
    and GET, which urllib3 may retry, a ConnectionError once its (zero) retries are spent."""
    pool = HTTPSConnectionPool("api.nexmo.com", 443)
    timed_out = ReadTimeoutError(pool, "/v1/calls", "Read timed out. (read timeout=10)")
    if request == "create_call":
        return requests.exceptions.ReadTimeout(timed_out)
    return requests.ConnectionError(MaxRetryError(pool, "/v1/calls", reason=timed_out))


def refused_connection() -> Exception:
    """What the SDK raises when nothing accepts a connection at VONAGE_API_HOST."""
    refused = NewConnectionError(
        HTTPSConnection("api.nexmo.com", 443), "Failed to establish a new connection: [Errno 111] Connection refused"
    )
    return requests.ConnectionError(MaxRetryError(HTTPSConnectionPool("api.nexmo.com", 443), "/v1/calls", refused))


def unreadable_answer() -> Exception:
    """What the app's hook on the SDK's session raises for a success answer that is not JSON."""
    response = requests.Response()
    response.status_code = 200
    response._content = b"<html>gateway page</html>"
    response.headers["Content-Type"] = "text/html"
    return requests.exceptions.InvalidJSONError("a success answer that is not JSON", response=response)


# Each way the Voice API fails, as the SDK raises it for a request.
VOICE_API_FAILURES: dict[str, Callable[[str], Exception]] = {
    "401": lambda _: http_error(401),
    "404": lambda _: http_error(404),
    "429": lambda _: http_error(429),
    "500": lambda _: http_error(500),
    "503": lambda _: http_error(503),
    "a timeout": read_timeout,
    "a refused connection": lambda _: refused_connection(),
    "an answer that is not JSON": lambda _: unreadable_answer(),
}


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
        self._meanwhile("hangup")

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
        self._meanwhile("get_call")
        return answer

    def _meanwhile(self, request: str) -> None:
        if (happens := self.meanwhile.pop(request, None)) is not None:
            happens()


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

    def __init__(self, **settings: Any) -> None:
        self.settings = Settings(
            application_id="app-id",
            private_key="",
            vonage_number=VONAGE_NUMBER,
            to_number=TO_NUMBER,
            audio=Audio("music.mp3", "audio/mpeg", 20.0),
            base_url="https://example.test",
            **{"stream_seconds": STREAM_SECONDS, "max_active_calls": 1000, **settings},
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

    def place_calls(self, count: int) -> list[str]:
        """`count` calls, placed as fast as the account's limit on new calls allows."""
        placed = []
        for _ in range(count):
            placed.append(self.place_call())
            if len(placed) % self.settings.calls_per_second == 0:
                self.run_for(WINDOW_SECONDS)
        return placed

    def answered_call(self) -> str:
        """A call placed and answered, its music playing."""
        [call_uuid] = self.place_calls(1)
        self.vonage_says(call_uuid, "answered")
        self.run_for(0.1)
        assert self.state_of(call_uuid) is CallState.STREAMING
        return call_uuid

    def state_of(self, call_uuid: str) -> CallState | None:
        """The call's state; None once the app has let it go."""
        snapshot = self.calls.snapshot(call_uuid)
        return snapshot.state if snapshot else None

    def vonage_says(self, call_uuid: str, status: str, **fields: str) -> None:
        self.calls.on_event(read_event({"uuid": call_uuid, "status": status, **fields}))

    def run_for(self, seconds: float) -> None:
        run_for(seconds, self.clock, self.deadlines, self.pacer)

    def sent(self, request: str) -> list[tuple[float, str, str]]:
        return [sent for sent in self.voice.sent if sent[1] == request]

    def busiest_second(self, requests: set[str]) -> int:
        times = [when for when, name, _ in self.voice.sent if name in requests]
        return max((sum(start <= t < start + 1 for t in times) for start in times), default=0)


def problems_with(env: dict[str, str], project_dir: Path | None = None) -> list[str]:
    """What start-up would say is wrong with the settings in `env`."""
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env, project_dir)
    return raised.value.problems
