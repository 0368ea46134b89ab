"""Without VONAGE_SIGNATURE_SECRET anyone who finds BASE_URL can post events. A final
status for a call in progress is checked with the Voice API (GET /v1/calls/{uuid})
before the app forgets the call, so a forged one neither cancels the hang-up nor frees
a MAX_ACTIVE_CALLS slot, while a callee who really hung up still gets nothing sent.
On a fake clock; end_to_end/test_public_url.py tries the same on `python app.py`."""

from __future__ import annotations

import pytest

from stream_audio.call import CallState
from stream_audio.call_flow import MOST_CHECKS
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


def test_a_callee_who_really_hangs_up_early_is_confirmed_and_gets_no_stop_and_no_hang_up(account):
    call_uuid = account.answered_call()
    account.deadlines.run_next(account.clock() + STREAM_SECONDS)  # time is up: the stop is queued

    account.voice.ended[call_uuid] = "completed"
    account.vonage_says(call_uuid, "completed", duration="21", price="0.0042")
    account.run_for(5)

    # The check goes ahead of the queued stop, so a dead call is sent nothing more.
    assert account.voice.requests_for(call_uuid) == ["create_call", "start_stream", "get_call"]
    assert account.state_of(call_uuid) is None


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


def test_a_flood_of_forged_final_events_costs_one_check_per_call_and_a_few_at_once(caplog):
    account = Account()
    calls = account.place_calls(MOST_CHECKS + 2)
    for call_uuid in calls:
        account.vonage_says(call_uuid, "answered")
    account.run_for(1)

    for _ in range(50):
        for call_uuid in calls:
            account.vonage_says(call_uuid, "completed")

    account.run_for(1)
    assert len(account.sent("get_call")) == MOST_CHECKS
    account.run_for(STREAM_SECONDS)
    assert all(account.voice.requests_for(c).count("hangup") == 1 for c in calls)
    assert f"{MOST_CHECKS} others are being checked" in caplog.text


def test_a_check_refused_with_429_is_retried_and_one_that_keeps_failing_leaves_the_hang_up_due(account, caplog):
    call_uuid = account.answered_call()
    account.voice.failures["get_call"] = [http_error(429), http_error(401)]

    account.vonage_says(call_uuid, "completed")
    account.run_for(STREAM_SECONDS + 1)

    assert account.voice.requests_for(call_uuid).count("get_call") == 2
    assert account.voice.requests_for(call_uuid)[-2:] == ["stop_stream", "hangup"]
    assert "could not confirm the completed event, so the call is still treated as in progress" in caplog.text
