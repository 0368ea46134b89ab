"""Without VONAGE_SIGNATURE_SECRET anyone who finds BASE_URL can post events. A final status for a
call in progress is checked with the Voice API (GET /v1/calls/{uuid}) before the app forgets the
call, so a forged one neither cancels the hang-up nor frees a MAX_ACTIVE_CALLS slot; a genuine one
is never lost, and strangers' floods cost at most a fixed share of the account's requests.
Fast tests on a fake clock; test_public_url.py tries the same on `python app.py`."""

from __future__ import annotations

import pytest

from stream_audio.call_life import CallState
from stream_audio.pacer import CHECKS_PER_SECOND
from stream_audio.refused import Refused
from tests.unit.helpers import STREAM_SECONDS, Account, http_error


def test_a_forged_completed_is_checked_ignored_and_the_call_still_ends_on_time(account, caplog):
    call_uuid = account.answered_call()

    account.vonage_says(call_uuid, "completed")
    account.run_for(STREAM_SECONDS + 1)

    assert account.voice.requests_for(call_uuid) == ["create_call", "start_stream", "get_call", "stop_stream", "hangup"]
    assert account.sent("hangup")[0][0] - account.sent("start_stream")[0][0] < STREAM_SECONDS + 0.5
    assert "ignored a completed event that the Voice API contradicts: the call is answered" in caplog.text


def test_a_forged_final_event_does_not_free_the_calls_max_active_calls_slot(caplog):
    account = Account(max_active_calls=1)
    [ringing] = account.place_calls(1)

    account.vonage_says(ringing, "busy")
    account.run_for(1)

    assert account.state_of(ringing) is CallState.PLACED
    with pytest.raises(Refused) as refused:
        account.place_call()
    assert refused.value.status == 429


def test_a_callee_who_really_hangs_up_early_is_confirmed_and_gets_no_stop_and_no_hang_up(account, caplog):
    call_uuid = account.answered_call()
    account.deadlines.run_next(account.clock() + STREAM_SECONDS)  # time is up: the stop is queued

    account.voice.ended[call_uuid] = "completed"
    account.vonage_says(call_uuid, "completed", duration="21", price="0.0042")
    account.run_for(5)

    # The check goes ahead of the queued stop, so a dead call is sent nothing more.
    assert account.voice.requests_for(call_uuid) == ["create_call", "start_stream", "get_call"]
    assert account.state_of(call_uuid) is None
    assert f"call {call_uuid}: completed; pending hang-up cancelled" in caplog.text


def test_a_call_that_really_was_not_answered_frees_its_slot_once_confirmed():
    account = Account(max_active_calls=1)
    [ringing] = account.place_calls(1)

    account.voice.ended[ringing] = "unanswered"
    account.vonage_says(ringing, "unanswered")
    account.run_for(1)

    assert account.state_of(ringing) is None
    assert account.place_call()


def test_with_signed_events_a_final_status_is_taken_at_its_word_without_asking():
    account = Account(signature_secret="a-secret-known-only-to-vonage-and-the-app")
    [call_uuid] = account.place_calls(1)
    account.vonage_says(call_uuid, "answered")
    account.run_for(1)

    account.vonage_says(call_uuid, "completed")
    account.run_for(STREAM_SECONDS + 1)

    assert account.voice.requests_for(call_uuid) == ["create_call", "start_stream"]


def test_a_flood_of_forged_final_events_costs_at_most_three_checks_a_second_and_every_call_still_ends_on_time():
    account = Account()
    calls = account.place_calls(6)
    for call_uuid in calls:
        account.vonage_says(call_uuid, "answered")
    account.run_for(1)

    for _ in range(2 * STREAM_SECONDS):
        for _ in range(100):
            for call_uuid in calls:
                account.vonage_says(call_uuid, "completed")
        account.run_for(0.5)

    assert len(account.sent("get_call")) > STREAM_SECONDS  # every call is asked about, again and again
    assert account.busiest_second({"get_call"}) == CHECKS_PER_SECOND
    assert all(account.voice.requests_for(c).count("hangup") == 1 for c in calls)
    assert all(account.state_of(c) in (CallState.HUNG_UP, None) for c in calls)  # once hung up, an ending is believed


def test_a_genuine_unanswered_is_confirmed_even_while_forged_endings_of_other_calls_are_checked():
    account = Account(max_active_calls=6)
    *answered, ringing = account.place_calls(6)
    for call_uuid in answered:
        account.vonage_says(call_uuid, "answered")
    account.run_for(1)
    for call_uuid in answered:
        account.vonage_says(call_uuid, "completed")  # forged: five checks queued at once

    account.voice.ended[ringing] = "unanswered"
    account.vonage_says(ringing, "unanswered")
    account.run_for(3)

    assert account.state_of(ringing) is None  # its slot is free again, its ending not dropped
    assert account.voice.requests_for(ringing) == ["create_call", "get_call"]


def test_a_real_ending_that_comes_while_a_forged_one_is_checked_is_checked_again_and_nothing_is_sent_after(caplog):
    account = Account()
    call_uuid = account.answered_call()

    def the_callee_hangs_up_while_the_voice_api_answers_the_first_check() -> None:
        account.voice.ended[call_uuid] = "completed"
        account.vonage_says(call_uuid, "completed")

    account.voice.meanwhile["get_call"] = the_callee_hangs_up_while_the_voice_api_answers_the_first_check
    account.vonage_says(call_uuid, "completed")  # forged, a moment before the real one
    account.run_for(STREAM_SECONDS + 1)

    assert account.voice.requests_for(call_uuid) == ["create_call", "start_stream", "get_call", "get_call"]
    assert account.state_of(call_uuid) is None
    assert "another final status came while asking; asking again" in caplog.text


def test_a_forged_ending_while_a_hang_up_is_failing_does_not_cancel_its_retries(account, caplog):
    call_uuid = account.answered_call()
    account.calls.act(call_uuid, lambda call: call.hang_up())
    account.voice.failures["hangup"] = [http_error(503), http_error(503)]
    account.voice.meanwhile["hangup"] = lambda: account.vonage_says(call_uuid, "completed")  # forged, mid-hang-up

    account.run_for(5)

    assert account.voice.requests_for(call_uuid)[2:] == ["hangup", "hangup", "hangup"]
    assert "pending hang-up cancelled" not in caplog.text
    assert account.state_of(call_uuid) is None  # once the app's own hang-up is done, the ending harms nothing


def test_a_check_refused_with_429_is_retried_and_one_that_keeps_failing_leaves_the_hang_up_due(account, caplog):
    call_uuid = account.answered_call()
    account.voice.failures["get_call"] = [http_error(429), http_error(401)]

    account.vonage_says(call_uuid, "completed")
    account.run_for(STREAM_SECONDS + 1)

    assert account.voice.requests_for(call_uuid).count("get_call") == 2
    assert account.voice.requests_for(call_uuid)[-2:] == ["stop_stream", "hangup"]
    assert "could not confirm the completed event, so the call is still treated as in progress" in caplog.text
