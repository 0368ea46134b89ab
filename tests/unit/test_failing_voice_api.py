"""Vonage can fail. For each request the app makes and each way the Voice API fails, raised as
the SDK raises it: whoever asked gets a clear answer, the call is still hung up, a request is
retried (0.5 s, 1 s, 2 s ... apart) only where a retry can help and only while it still has a
point, and each failure is one log line naming the call, the step and the Voice API's answer.
On the fake clock, so every pause is exact; integration/test_failing_voice_api.py tries each
way of failing once over real HTTPS."""

from __future__ import annotations

import itertools
import logging

import pytest

from stream_audio.call import CallState
from stream_audio.call_flow import LATEST_MUSIC_START_SECONDS
from stream_audio.call_placing import CREATE_ATTEMPTS
from stream_audio.pacer import WINDOW_SECONDS
from stream_audio.refused import Refused
from tests.helpers import app_records
from tests.unit.helpers import STREAM_SECONDS, VOICE_API_FAILURES, Account, http_error, read_timeout

# What the app's log line says of each way of failing.
SAYS = {
    "401": "refused this app's credentials (401 Unauthorized)",
    "404": "answered 404",
    "429": "answered 429",
    "500": "answered 500",
    "503": "answered 503",
    "a timeout": "did not answer within 10 s",
    "a refused connection": "Could not reach the Voice API",
    "an answer that is not JSON": "could not understand",
}
TRANSIENT = {"429", "500", "503", "a timeout", "a refused connection"}
# POST /v1/calls is sent again only when it surely rang nobody; a timed-out one may have.
CREATE_AGAIN = TRANSIENT - {"a timeout"}
EVERY_WAY = pytest.mark.parametrize("kind", list(VOICE_API_FAILURES))


def the_voice_api_fails(account: Account, request: str, kind: str) -> None:
    """Every `request` from now on fails as `kind` says."""
    account.voice.failures[request] = [VOICE_API_FAILURES[kind](request)] * 100
    if kind == "a refused connection":
        # Nothing reaches the Voice API any more: the hang-up that follows is refused too.
        account.voice.failures["hangup"] = [VOICE_API_FAILURES[kind]("hangup")] * 100


def failure_lines(caplog: pytest.LogCaptureFixture, start: str) -> list[str]:
    return [line for line in app_records(caplog, logging.ERROR) if line.startswith(start)]


# --- each request, each way it fails -------------------------------------------------


@EVERY_WAY
def test_a_failed_call_request_gives_the_browser_a_clear_502_or_504_within_two_retries(
    account, monkeypatch, caplog, kind
):
    monkeypatch.setattr("stream_audio.call_placing.time.sleep", account.run_for)
    the_voice_api_fails(account, "create_call", kind)

    asked_at = account.clock()
    with pytest.raises(Refused) as refused:
        account.place_call()

    retries = CREATE_ATTEMPTS - 1 if kind in CREATE_AGAIN else 0
    assert refused.value.status == (504 if kind == "a timeout" else 502)
    assert SAYS[kind] in refused.value.reason
    tries = [when for when, _, _ in account.sent("create_call")]
    assert [b - a for a, b in itertools.pairwise([asked_at, *tries])] == [0, 0.5, 1][: retries + 1]
    lines = app_records(caplog, logging.ERROR)
    assert len(lines) == retries + 1
    assert all("POST /v1/calls failed" in line and SAYS[kind] in line for line in lines)
    assert ["Retrying in 0.5 s." in lines[0], "Retrying" in lines[-1]] == [bool(retries), False]
    account.voice.failures.clear()
    account.run_for(WINDOW_SECONDS)
    assert account.place_call()  # the app keeps going


@EVERY_WAY
def test_music_that_cannot_start_is_retried_while_it_can_still_play_then_the_call_is_hung_up(account, caplog, kind):
    [call_uuid] = account.place_calls(1)
    the_voice_api_fails(account, "start_stream", kind)

    account.vonage_says(call_uuid, "answered")
    answered_at = account.clock()
    account.run_for(account.settings.length_timer)

    tries = [when for when, _, _ in account.sent("start_stream")]
    lines = failure_lines(caplog, f"call {call_uuid}: PUT stream music.mp3 loop 0")
    assert len(lines) == len(tries)
    assert all(SAYS[kind] in line and "failed" in line for line in lines)
    if kind in TRANSIENT:
        # None so late that length_timer would cut the music short.
        assert [b - a for a, b in itertools.pairwise(tries)] == [0.5, 1, 2]
        assert tries[-1] < answered_at + LATEST_MUSIC_START_SECONDS
        assert "Retrying in 0.5 s." in lines[0] and "Retrying" not in lines[-1]
    else:
        assert len(tries) == 1
    assert f"call {call_uuid}: the music could not start; hanging up" in caplog.text
    assert account.sent("stop_stream") == []  # no music is playing, so there is none to stop
    if kind == "a refused connection":
        assert account.state_of(call_uuid) is CallState.LEFT_TO_LENGTH_TIMER
    else:
        assert account.state_of(call_uuid) is CallState.HUNG_UP


@EVERY_WAY
def test_a_failed_stream_stop_is_one_log_line_and_the_call_is_still_hung_up(account, caplog, kind):
    call_uuid = account.answered_call()
    the_voice_api_fails(account, "stop_stream", kind)

    account.run_for(account.settings.length_timer)

    assert len(account.sent("stop_stream")) == 1  # not retried: the hang-up right after ends the stream
    stop_failures = failure_lines(caplog, f"call {call_uuid}: DELETE stream")
    if kind == "404":
        assert stop_failures == []
        assert f"call {call_uuid}: DELETE stream answered 404: already ended" in caplog.text
    else:
        [line] = stop_failures
        assert SAYS[kind] in line and "failed" in line
    if kind == "a refused connection":
        assert f"call {call_uuid}: gave up hanging up" in caplog.text
    else:
        assert len(account.sent("hangup")) == 1
        assert account.state_of(call_uuid) is CallState.HUNG_UP


@EVERY_WAY
def test_a_failed_hang_up_is_retried_with_backoff_when_a_retry_can_help(account, caplog, kind):
    call_uuid = account.answered_call()
    [(answered_at, _, _)] = account.sent("start_stream")
    the_voice_api_fails(account, "hangup", kind)

    account.run_for(account.settings.length_timer)

    tries = [when for when, _, _ in account.sent("hangup")]
    lines = failure_lines(caplog, f"call {call_uuid}: PUT hangup")
    if kind in TRANSIENT:
        # Until the next try would come after Vonage's length_timer has ended the call anyway.
        assert [b - a for a, b in itertools.pairwise(tries)] == [0.5, 1, 2, 4]
        assert tries[-1] < answered_at + account.settings.length_timer < tries[-1] + 8
        assert len(lines) == len(tries) and all(SAYS[kind] in line for line in lines)
        assert [line.partition("Retrying in ")[2] for line in lines] == ["0.5 s.", "1 s.", "2 s.", "4 s.", ""]
        assert f"call {call_uuid}: gave up hanging up (a retry would come after" in caplog.text
        assert account.state_of(call_uuid) is CallState.LEFT_TO_LENGTH_TIMER
    elif kind == "404":
        assert len(tries) == 1 and lines == []
        assert f"call {call_uuid}: PUT hangup answered 404: already ended" in caplog.text
        assert account.state_of(call_uuid) is CallState.HUNG_UP
    else:
        # Retrying changes neither a 401 nor a success answer the app cannot read, which says
        # nothing of whether the call ended.
        assert len(tries) == 1
        [line] = lines
        assert SAYS[kind] in line and "Retrying" not in line
        assert f"call {call_uuid}: gave up hanging up (retrying cannot change this answer)" in caplog.text
        assert account.state_of(call_uuid) is CallState.LEFT_TO_LENGTH_TIMER


# --- a failure that does not last ----------------------------------------------------


def test_a_call_refused_once_with_429_is_placed_half_a_second_later_but_one_that_timed_out_is_not_sent_again(
    account, monkeypatch
):
    monkeypatch.setattr("stream_audio.call_placing.time.sleep", account.run_for)
    account.voice.failures["create_call"] = [http_error(429)]
    account.place_call()
    first, second = [when for when, _, _ in account.sent("create_call")]
    assert second - first == 0.5

    account.voice.failures["create_call"] = [read_timeout("create_call")]
    with pytest.raises(Refused) as not_placed:
        account.place_call()
    assert not_placed.value.status == 504
    assert len(account.sent("create_call")) == 3  # one more: a call that may exist is not rung twice


@pytest.mark.parametrize("request_name", ["start_stream", "hangup"])
@pytest.mark.parametrize("status", [429, 500])
def test_a_transient_failure_of_a_start_or_a_hang_up_is_retried_after_half_a_second(account, request_name, status):
    [call_uuid] = account.place_calls(1)
    account.voice.failures[request_name] = [http_error(status)]

    account.vonage_says(call_uuid, "answered")
    account.run_for(STREAM_SECONDS + 5)

    tries = [when for when, name, _ in account.sent(request_name)]
    assert len(tries) == 2 and tries[1] - tries[0] == pytest.approx(0.5, abs=0.06)
    assert account.voice.requests_for(call_uuid).count("hangup") == (2 if request_name == "hangup" else 1)
    assert account.state_of(call_uuid) is CallState.HUNG_UP


def test_a_hang_up_that_fails_twice_succeeds_on_the_third_try(account, caplog):
    call_uuid = account.answered_call()
    account.voice.failures["hangup"] = [http_error(503)] * 2

    account.run_for(STREAM_SECONDS + 5)

    first, second, third = [when for when, _, _ in account.sent("hangup")]
    assert (second - first, third - second) == (0.5, 1)
    assert f"call {call_uuid}: PUT hangup (attempt 3) done" in caplog.text
    assert "gave up" not in caplog.text
    assert account.state_of(call_uuid) is CallState.HUNG_UP


def test_a_callee_who_hangs_up_between_retries_ends_them(account, caplog):
    call_uuid = account.answered_call()
    account.voice.failures["hangup"] = [http_error(503)] * 10
    account.run_for(STREAM_SECONDS)
    assert len(account.sent("hangup")) == 1  # and a retry is due in 0.5 s

    account.voice.ended[call_uuid] = "completed"
    account.vonage_says(call_uuid, "completed")
    account.run_for(10)

    assert len(account.sent("hangup")) == 1
    assert f"call {call_uuid}: completed; pending hang-up cancelled" in caplog.text
