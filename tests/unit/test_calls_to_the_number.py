"""Someone rings VONAGE_NUMBER: once Vonage has fetched the answer NCCO, the call is tracked as
incoming; on its answered event it is listed and hears the music, and it is hung up STREAM_SECONDS
later like a call the app placed. Unsigned, the Voice API is asked first whether it is real, so a
made-up call costs one request, is never listed, and is never answered again."""

from __future__ import annotations

import pytest

from stream_audio.call import Call
from stream_audio.call_life import CallState
from stream_audio.call_table import CallTable
from stream_audio.events import VoiceEvent
from stream_audio.refused import Refused
from tests.helpers import VONAGE_NUMBER
from tests.unit.helpers import STREAM_SECONDS, Account

CALLER = "447700900999"
BASE_URL = "https://example.test"
SIGNED = {"signature_secret": "a-secret-known-only-to-vonage-and-the-app"}


def test_a_signed_call_to_the_number_hears_the_music_and_is_hung_up_on_time_like_a_placed_one():
    account = Account(**SIGNED)
    assert account.calls.answer_inbound("in-1", "CON-in-1", CALLER, BASE_URL)
    assert account.state_of("in-1") is CallState.INCOMING

    account.vonage_says("in-1", "answered")
    account.run_for(STREAM_SECONDS + 1)

    assert account.voice.requests_for("in-1") == ["start_stream", "stop_stream", "hangup"]
    [(started, _, _)] = account.sent("start_stream")
    [(hung_up, _, _)] = account.sent("hangup")
    assert STREAM_SECONDS <= hung_up - started < STREAM_SECONDS + 0.5


def test_a_call_to_the_number_is_listed_from_the_caller_once_answered_not_before():
    account = Account(**SIGNED)
    account.calls.answer_inbound("in-1", "CON-in-1", CALLER, BASE_URL)
    assert account.calls.history.of("in-1") is None

    account.vonage_says("in-1", "answered")

    record = account.calls.history.of("in-1")
    assert (record.from_number, record.to_number, record.direction) == (CALLER, VONAGE_NUMBER, "inbound")


def test_an_unsigned_call_to_the_number_is_checked_with_the_voice_api_before_its_music():
    account = Account()
    account.calls.answer_inbound("in-1", "CON-in-1", CALLER, BASE_URL)

    account.vonage_says("in-1", "answered")
    account.run_for(STREAM_SECONDS + 1)

    assert account.voice.requests_for("in-1") == ["get_call", "start_stream", "stop_stream", "hangup"]


def test_a_made_up_call_to_the_number_costs_one_request_is_never_listed_and_never_answered_again(caplog):
    account = Account()
    account.voice.unknown.add("made-up")
    assert account.calls.answer_inbound("made-up", "CON-made-up", CALLER, BASE_URL)

    account.vonage_says("made-up", "answered")
    account.vonage_says("made-up", "answered")
    account.run_for(1)
    assert account.state_of("made-up") is None
    assert not account.calls.answer_inbound("made-up", "CON-made-up", CALLER, BASE_URL)
    account.vonage_says("made-up", "answered")
    account.vonage_says("made-up", "completed")
    account.run_for(5)

    assert account.voice.requests_for("made-up") == ["get_call"]
    assert account.calls.history.of("made-up") is None
    assert "a call to the number of which the call is over: no music" in caplog.text


def test_a_call_to_the_number_with_no_answered_event_is_forgotten_and_frees_its_place():
    account = Account(max_active_calls=1)
    assert account.calls.answer_inbound("in-1", "CON-in-1", CALLER, BASE_URL)
    assert not account.calls.answer_inbound("in-2", "CON-in-2", CALLER, BASE_URL)  # all lines busy

    account.run_for(11)

    assert account.state_of("in-1") is None
    assert account.calls.answer_inbound("in-2", "CON-in-2", CALLER, BASE_URL)
    assert account.voice.sent == []


def test_a_call_to_the_number_counts_toward_max_active_calls_and_placed_calls_toward_its_own():
    account = Account(max_active_calls=2)
    account.place_calls(1)
    assert account.calls.answer_inbound("in-1", "CON-in-1", CALLER, BASE_URL)

    assert not account.calls.answer_inbound("in-2", "CON-in-2", CALLER, BASE_URL)
    with pytest.raises(Refused) as refused:
        account.place_call()
    assert refused.value.status == 429


def test_a_caller_who_hangs_up_before_the_answered_event_is_forgotten_without_a_request():
    account = Account()
    account.calls.answer_inbound("in-1", "CON-in-1", CALLER, BASE_URL)

    account.vonage_says("in-1", "completed")
    account.run_for(1)

    assert account.state_of("in-1") is None
    assert account.voice.sent == []


def test_an_event_without_a_conversation_is_not_taken_for_a_call_known_by_none():
    table = CallTable()
    table.add(Call("in-1"))  # a call whose conversation the app does not know

    assert table.of(VoiceEvent("status", call_uuid="someone-elses-call", status="answered")) is None
