"""A call Vonage ends before the app hangs it up is sent nothing more, whichever final status
says so: a callee who hangs up while the music plays, or a call never answered. Unsigned here,
so each final status is first confirmed with the Voice API (GET call)."""

from __future__ import annotations

import pytest

from tests.unit.helpers import STREAM_SECONDS


@pytest.mark.parametrize("final_status", ["completed", "cancelled", "failed"])
def test_a_callee_who_hangs_up_early_is_not_stopped_or_hung_up_again(account, caplog, final_status):
    call_uuid = account.answered_call()

    account.voice.ended[call_uuid] = final_status
    account.vonage_says(call_uuid, final_status)
    account.run_for(STREAM_SECONDS + 1)

    assert account.voice.requests_for(call_uuid) == ["create_call", "start_stream", "get_call"]
    assert f"call {call_uuid}: {final_status}; pending hang-up cancelled" in caplog.text
    assert account.state_of(call_uuid) is None


@pytest.mark.parametrize("final_status", ["busy", "unanswered", "rejected", "timeout"])
def test_a_call_that_is_never_answered_gets_no_music_and_no_hang_up(account, final_status):
    [call_uuid] = account.place_calls(1)
    account.vonage_says(call_uuid, "ringing")
    account.voice.ended[call_uuid] = final_status
    account.vonage_says(call_uuid, final_status)
    account.run_for(1)

    account.vonage_says(call_uuid, "answered")  # late and out of order: the call is over
    account.run_for(STREAM_SECONDS + 1)

    assert account.voice.requests_for(call_uuid) == ["create_call", "get_call"]
    assert account.state_of(call_uuid) is None
