"""Vonage can fail, and the SDK raises each way of failing as an exception of its own kind. Once
per way, against the Voice API stand-in over real HTTPS, on the request where it matters most:
the app recognises the failure, answers or acts on it in bounded time and logs it in one line.
Every request failing every way, with exact pauses, is unit/test_failing_voice_api.py."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import pytest

from stream_audio.call_placing import CREATE_ATTEMPTS
from tests.helpers import app_log, app_records, wait_for_log

TIMEOUT = 1  # VONAGE_API_TIMEOUT in these tests
# POST /v1/calls's answer, as the Voice API gives it
CREATED = {
    "uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356",
    "status": "started",
    "direction": "outbound",
    "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22",
}
STREAM_SECONDS = 1


@dataclass(frozen=True)
class Failure:
    trouble: dict[str, Any]  # how the stand-in fails the request: VoiceApiStandIn.misbehave's arguments
    says: str  # what the app's log line, and the browser's answer, say of it
    attempts: int = 1  # requests sent, retries included


# Creating a call: the browser waits for the answer, and a second request might ring the callee twice.
CALL_FAILURES = {
    "401": Failure({"status": 401}, "refused this app's credentials (401 Unauthorized)"),
    "429": Failure({"status": 429}, "answered 429", CREATE_ATTEMPTS),
    "a timeout": Failure({"stall": TIMEOUT + 2}, f"did not answer within {TIMEOUT} s"),
    "a refused connection": Failure({"refuse": True}, "Could not reach the Voice API", CREATE_ATTEMPTS),
    "an answer that is not JSON": Failure(
        {"status": 200, "raw_body": "<html>gateway page</html>"}, "could not understand"
    ),
    # A sound answer but for its size or its depth, which the app refuses before parsing it.
    "an answer over 1 MiB": Failure(
        {"status": 200, "raw_body": " " * 2**20 + json.dumps(CREATED)}, "could not understand"
    ),
    "an answer nested too deep": Failure(
        {"status": 200, "raw_body": "[" * 50_000 + "]" * 50_000}, "could not understand"
    ),
}


@pytest.fixture
def app(start_app):
    return start_app(VONAGE_API_TIMEOUT=str(TIMEOUT), STREAM_SECONDS=str(STREAM_SECONDS))


@pytest.mark.parametrize("kind", list(CALL_FAILURES))
def test_a_failed_call_request_gives_the_browser_a_clear_502_or_504_in_bounded_time(app, voice_api, caplog, kind):
    failure = CALL_FAILURES[kind]
    voice_api.misbehave("create_call", **failure.trouble)

    started = time.monotonic()
    response = app.get("/call")

    retries = failure.attempts - 1
    # Each try waits at most VONAGE_API_TIMEOUT, and the retries 0.5 s, then 1 s, before it.
    assert time.monotonic() - started < TIMEOUT + 1 + retries * 1.5
    assert response.status_code == (504 if kind == "a timeout" else 502)
    assert failure.says in response.json()["error"]
    lines = app_records(caplog, logging.ERROR)
    assert len(lines) == failure.attempts
    assert all("POST /v1/calls failed" in line and failure.says in line for line in lines)
    assert ["Retrying in 0.5 s." in lines[0], "Retrying" in lines[-1]] == [bool(retries), False]
    if kind != "a refused connection":  # refused connections never reach the stand-in
        assert len(voice_api.sent("create_call")) == failure.attempts
        voice_api.behave()
        assert app.get("/call").status_code == 200  # the app keeps going


def test_a_hang_up_answered_404_means_the_call_is_over_and_is_not_an_error(app, voice_api, caplog):
    call_uuid = app.place_call()
    voice_api.misbehave("hangup", status=404)

    app.vonage_sends(call_uuid, "answered")

    wait_for_log(caplog, f"call {call_uuid}: PUT hangup answered 404: already ended", timeout=STREAM_SECONDS + 4)
    assert len(voice_api.sent("hangup", call_uuid)) == 1
    assert app_records(caplog, logging.WARNING) == []


def test_a_hang_up_answered_500_is_sent_again(app, voice_api, caplog):
    call_uuid = app.place_call()
    voice_api.misbehave("hangup", status=500, times=1)

    app.vonage_sends(call_uuid, "answered")

    wait_for_log(caplog, f"call {call_uuid}: PUT hangup (attempt 2) done", timeout=STREAM_SECONDS + 4)
    [line] = app_records(caplog, logging.ERROR)
    assert line.startswith(f"call {call_uuid}: PUT hangup failed") and "answered 500" in line
    first, second = voice_api.sent("hangup", call_uuid)
    assert second.at - first.at >= 0.5


def test_music_answered_503_while_the_webhook_answered_at_once_starts_on_the_second_try(app, voice_api, caplog):
    # The SDK has no exception of its own for a 503: the app reads the status.
    call_uuid = app.place_call()
    voice_api.misbehave("start_stream", status=503, stall=0.9, times=1)

    started = time.monotonic()
    assert app.vonage_sends(call_uuid, "answered").status_code == 204
    assert time.monotonic() - started < 0.9  # before the Voice API answered: the webhook never waits on it

    wait_for_log(caplog, f"call {call_uuid}: PUT stream music.mp3 loop 0 (attempt 2) done", timeout=TIMEOUT + 4)
    [line] = app_records(caplog, logging.ERROR)
    assert line.startswith(f"call {call_uuid}: PUT stream music.mp3 loop 0 failed") and "answered 503" in line
    voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=STREAM_SECONDS + 4)
    assert "hanging up rather than leave the callee on a silent line" not in app_log(caplog)
