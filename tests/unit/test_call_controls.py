"""Fast tests of the call page's controls on a controllable clock: Stop music, Play music and
Hang up queue their one request through the pacer, leave the hang-up when it was due, and
never add a second hang-up."""

from __future__ import annotations

import pytest

from stream_audio.call import Call, CallState
from stream_audio.refused import Refused
from tests.unit.helpers import STREAM_SECONDS, http_error


def test_stopped_music_is_not_stopped_again_when_time_is_up_and_the_call_is_hung_up_on_time(account):
    call_uuid = account.answered_call()
    [(started_at, _, _)] = account.sent("start_stream")

    account.calls.act(call_uuid, Call.stop_music)
    account.run_for(0.1)
    assert account.state_of(call_uuid) is CallState.MUSIC_STOPPED
    account.run_for(STREAM_SECONDS)

    assert account.voice.requests_for(call_uuid) == ["create_call", "start_stream", "stop_stream", "hangup"]
    [(hung_up_at, _, _)] = account.sent("hangup")
    assert hung_up_at - started_at == pytest.approx(STREAM_SECONDS, abs=0.2)


def test_music_played_again_stops_when_the_first_hang_up_was_due(account):
    call_uuid = account.answered_call()
    [(started_at, _, _)] = account.sent("start_stream")
    account.calls.act(call_uuid, Call.stop_music)
    account.run_for(5)
    assert account.calls.snapshot(call_uuid).hang_up_in == pytest.approx(STREAM_SECONDS - 5, abs=0.2)

    account.calls.act(call_uuid, Call.play_music)
    account.run_for(0.1)
    assert account.state_of(call_uuid) is CallState.STREAMING
    account.run_for(STREAM_SECONDS)

    assert account.voice.requests_for(call_uuid) == [
        "create_call",
        "start_stream",
        "stop_stream",
        "start_stream",
        "stop_stream",
        "hangup",
    ]
    [(hung_up_at, _, _)] = account.sent("hangup")
    assert hung_up_at - started_at == pytest.approx(STREAM_SECONDS, abs=0.2)


def test_hang_up_pressed_twice_sends_one_hang_up_and_time_up_sends_nothing_more(account):
    call_uuid = account.answered_call()

    account.calls.act(call_uuid, Call.hang_up)
    with pytest.raises(Refused, match="the call is hanging up"):
        account.calls.act(call_uuid, Call.hang_up)
    account.run_for(STREAM_SECONDS + 1)

    assert account.voice.requests_for(call_uuid) == ["create_call", "start_stream", "hangup"]
    assert account.state_of(call_uuid) is CallState.HUNG_UP


def test_a_ringing_call_can_be_hung_up_but_has_no_music_to_stop(account):
    [call_uuid] = account.place_calls(1)
    account.vonage_says(call_uuid, "ringing")

    with pytest.raises(Refused, match="Cannot stop the music now: the call is ringing"):
        account.calls.act(call_uuid, Call.stop_music)
    account.calls.act(call_uuid, Call.hang_up)
    account.run_for(1)
    account.vonage_says(call_uuid, "answered")  # too late: the hang-up went first
    account.run_for(1)

    assert account.voice.requests_for(call_uuid) == ["create_call", "hangup"]


def test_a_stop_the_voice_api_fails_leaves_the_music_playing_and_stop_music_on_offer(account):
    call_uuid = account.answered_call()
    account.voice.failures["stop_stream"] = [http_error(500)]

    account.calls.act(call_uuid, Call.stop_music)
    account.run_for(0.1)

    assert account.state_of(call_uuid) is CallState.STREAMING
    record = account.calls.history.of(call_uuid)
    assert record.failure.startswith("The Voice API answered 500")
    assert [step.what for step in record.steps][-2:] == ["Stop music pressed", "DELETE stream failed."]


def test_the_history_keeps_a_call_after_the_flow_has_forgotten_it_with_vonages_final_word(account):
    call_uuid = account.answered_call()
    account.run_for(STREAM_SECONDS + 1)
    account.vonage_says(call_uuid, "completed", duration="21", price="0.0084")

    record = account.calls.history.of(call_uuid)
    assert account.state_of(call_uuid) is None
    assert (record.final_status, record.duration, record.price) == ("completed", "21", "0.0084")
    assert [step.what for step in record.steps] == [
        "placed: POST /v1/calls",
        "answered; starting the music",
        "PUT stream music.mp3 loop 0 done",
        f"music playing; hang-up in {STREAM_SECONDS} s",
        "time is up; stopping the music, then hanging up",
        "DELETE stream done",
        "PUT hangup done",
        "hung up; waiting for Vonage's final status",
        "ended: completed (after 21 s, price 0.0084)",
    ]


def test_a_callee_who_hangs_up_while_the_music_is_stopped_has_the_pending_hang_up_cancelled(account, caplog):
    call_uuid = account.answered_call()
    account.calls.act(call_uuid, Call.stop_music)
    account.run_for(1)

    account.voice.ended[call_uuid] = "completed"
    account.vonage_says(call_uuid, "completed")
    account.run_for(STREAM_SECONDS)

    assert account.voice.requests_for(call_uuid) == ["create_call", "start_stream", "stop_stream", "get_call"]
    assert f"call {call_uuid}: completed; pending hang-up cancelled" in caplog.text
