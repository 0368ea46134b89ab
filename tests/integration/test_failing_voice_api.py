"""Vonage can fail. For each request the app makes and each way it can fail, the time
spent is bounded, whoever asked gets a clear answer, the webhook answers at once, the
call is still hung up (retried where a retry can help), and each failure is one log line
naming the call, the step and the Voice API's answer."""

from __future__ import annotations

import logging
import time

import pytest

from stream_audio.call_flow import LATEST_MUSIC_START_SECONDS
from stream_audio.call_placing import CREATE_ATTEMPTS
from stream_audio.setting_values import CALL_MARGIN_SECONDS
from tests.helpers import app_log, app_records, wait_for_log

STREAM_SECONDS = 1.0
TIMEOUT = 1  # VONAGE_API_TIMEOUT in these tests
LENGTH_TIMER = STREAM_SECONDS + CALL_MARGIN_SECONDS + 1

# How the Voice API fails, and what the app's log line says of each.
FAILURES = {
    "401": ({"status": 401}, "refused this app's credentials (401 Unauthorized)"),
    "404": ({"status": 404}, "answered 404"),
    "429": ({"status": 429}, "answered 429"),
    "500": ({"status": 500}, "answered 500"),
    "503": ({"status": 503}, "answered 503"),
    "a stall beyond the timeout": ({"stall": TIMEOUT + 2}, f"did not answer within {TIMEOUT} s"),
    "a refused connection": ({"refuse": True}, "Could not reach the Voice API"),
    "an answer that is not JSON": ({"status": 200, "raw_body": "<html>gateway page</html>"}, "could not understand"),
}
TRANSIENT = {"429", "500", "503", "a stall beyond the timeout", "a refused connection"}


@pytest.fixture
def app(start_app):
    return start_app(VONAGE_API_TIMEOUT=str(TIMEOUT), STREAM_SECONDS=str(STREAM_SECONDS))


def errors(caplog) -> list[str]:
    return app_records(caplog, logging.ERROR)


def the_failure_line(caplog, call_uuid: str, step: str, answer: str) -> str:
    [line] = [m for m in errors(caplog) if m.startswith(f"call {call_uuid}: {step} failed")]
    assert answer in line
    return line


# POST /v1/calls is sent again only when it surely rang nobody; a timed-out one may have.
CREATE_AGAIN = {"429", "500", "503", "a refused connection"}


@pytest.mark.parametrize(
    ("name", "failure", "expected"), [(name, *how) for name, how in FAILURES.items()], ids=FAILURES.keys()
)
def test_a_failed_call_request_gives_the_browser_a_clear_502_or_504_in_bounded_time(
    app, voice_api, caplog, name, failure, expected
):
    voice_api.misbehave("create_call", **failure)

    started = time.monotonic()
    response = app.get("/call")

    retries = CREATE_ATTEMPTS - 1 if name in CREATE_AGAIN else 0
    assert time.monotonic() - started < TIMEOUT + 1 + retries * 1.5
    assert response.status_code == (504 if "stall" in failure else 502)
    assert expected in response.json()["error"]
    lines = errors(caplog)
    assert len(lines) == retries + 1
    assert all("POST /v1/calls failed" in line and expected in line for line in lines)
    assert ["Retrying in 0.5 s." in lines[0], "Retrying" in lines[-1]] == [bool(retries), False]
    if "refuse" not in failure:
        assert len(voice_api.sent("create_call")) == retries + 1
        voice_api.behave()
        assert app.get("/call").status_code == 200  # the app keeps going


def test_a_call_refused_once_with_429_is_placed_on_the_second_try(app, voice_api, caplog):
    voice_api.misbehave("create_call", status=429, times=1)

    response = app.get("/call")

    assert response.status_code == 200
    first, second = voice_api.sent("create_call")
    assert 0.5 <= second.at - first.at < 0.8


@pytest.mark.parametrize(
    ("name", "failure", "expected"), [(name, *how) for name, how in FAILURES.items()], ids=FAILURES.keys()
)
def test_music_that_cannot_start_is_retried_while_it_can_still_play_then_the_call_is_hung_up(
    app, voice_api, caplog, name, failure, expected
):
    call_uuid = app.place_call()
    voice_api.misbehave("start_stream", **failure)

    started = time.monotonic()
    assert app.vonage_sends(call_uuid, "answered").status_code == 204
    assert time.monotonic() - started < 0.5  # the webhook never waits on the Voice API

    wait_for_log(
        caplog,
        f"call {call_uuid}: the music could not start; hanging up",
        timeout=LATEST_MUSIC_START_SECONDS + TIMEOUT + 2,
    )
    lines = [m for m in errors(caplog) if m.startswith(f"call {call_uuid}: PUT stream music.mp3 loop 0")]
    assert all(expected in line and "failed" in line for line in lines)
    if name in TRANSIENT:
        # Tries 0.5 s, 1 s, 2 s ... apart, none so late that length_timer would cut the music short.
        assert len(lines) >= 3 and "Retrying in 0.5 s." in lines[0] and "Retrying" not in lines[-1]
        tries = voice_api.sent("start_stream", call_uuid)
        assert tries[-1].at - tries[0].at < LATEST_MUSIC_START_SECONDS
    else:
        assert len(lines) == 1
    assert voice_api.sent("stop_stream") == []  # no music is playing, so there is none to stop
    if "refuse" in failure:
        wait_for_log(caplog, f"call {call_uuid}: gave up hanging up", timeout=LENGTH_TIMER)
    else:
        voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=2)


@pytest.mark.parametrize(("failure", "expected"), FAILURES.values(), ids=FAILURES.keys())
def test_a_failed_stream_stop_is_one_log_line_and_the_call_is_still_hung_up(app, voice_api, caplog, failure, expected):
    call_uuid = app.place_call()
    voice_api.misbehave("stop_stream", **failure)
    app.vonage_sends(call_uuid, "answered")

    voice_api.wait_for("stop_stream", call_uuid=call_uuid, timeout=STREAM_SECONDS + 2)
    if "refuse" in failure:
        wait_for_log(caplog, f"call {call_uuid}: gave up hanging up", timeout=LENGTH_TIMER)
    else:
        voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=TIMEOUT + 2)
    if failure.get("status") == 404:
        assert f"call {call_uuid}: DELETE stream answered 404: already ended" in app_log(caplog)
    else:
        the_failure_line(caplog, call_uuid, "DELETE stream", expected)


@pytest.mark.parametrize(
    ("name", "failure", "expected"), [(name, *how) for name, how in FAILURES.items()], ids=FAILURES.keys()
)
def test_a_failed_hang_up_is_retried_with_backoff_when_a_retry_can_help(
    app, voice_api, caplog, name, failure, expected
):
    call_uuid = app.place_call()
    voice_api.misbehave("hangup", **failure)
    app.vonage_sends(call_uuid, "answered")
    voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=STREAM_SECONDS + 2)

    if name in TRANSIENT:
        # Tries 0.5 s, 1 s, 2 s, 4 s ... apart, each bounded by the timeout, until the next would
        # come after Vonage's length_timer has ended the call anyway.
        wait_for_log(caplog, f"call {call_uuid}: gave up hanging up (a retry would come after", timeout=LENGTH_TIMER)
        failures = [m for m in errors(caplog) if f"call {call_uuid}: PUT hangup" in m]
        assert len(failures) >= 4 and all(expected in m for m in failures)
        pauses = [m.partition("Retrying in ")[2] for m in failures]
        assert pauses[:3] == ["0.5 s.", "1 s.", "2 s."] and pauses[-1] == ""
        if "refuse" not in failure:
            assert len(voice_api.sent("hangup", call_uuid)) == len(failures)
    else:
        time.sleep(1.0)
        assert len(voice_api.sent("hangup", call_uuid)) == 1  # 401 and 404 will not change by retrying
        if name == "401":
            the_failure_line(caplog, call_uuid, "PUT hangup", expected)
            assert f"call {call_uuid}: gave up hanging up" in app_log(caplog)
        elif name == "404":
            assert f"call {call_uuid}: PUT hangup answered 404: already ended" in app_log(caplog)
        else:
            # A success answer the app cannot read says nothing of whether the call ended:
            # it is a failure, and retrying would not make it readable.
            the_failure_line(caplog, call_uuid, "PUT hangup", expected)
            assert f"call {call_uuid}: gave up hanging up" in app_log(caplog)


def test_a_hang_up_that_fails_twice_succeeds_on_the_third_try(app, voice_api, caplog):
    call_uuid = app.place_call()
    voice_api.misbehave("hangup", status=503, times=2)
    app.vonage_sends(call_uuid, "answered")

    wait_for_log(caplog, f"call {call_uuid}: PUT hangup (attempt 3) done", timeout=STREAM_SECONDS + 4)

    first, second, third = voice_api.sent("hangup", call_uuid)
    assert 0.5 <= second.at - first.at < 0.8 and 1.0 <= third.at - second.at < 1.3
    assert "gave up" not in app_log(caplog)


def test_a_callee_who_hangs_up_between_retries_ends_them(app, voice_api, caplog):
    call_uuid = app.place_call()
    voice_api.misbehave("hangup", status=503)
    app.vonage_sends(call_uuid, "answered")
    wait_for_log(caplog, f"call {call_uuid}: PUT hangup failed", timeout=STREAM_SECONDS + 2)

    app.callee_hangs_up(voice_api, call_uuid)
    time.sleep(1.0)

    assert len(voice_api.sent("hangup", call_uuid)) == 1
    assert f"call {call_uuid}: completed; pending hang-up cancelled" in app_log(caplog)
