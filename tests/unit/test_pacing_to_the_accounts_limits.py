"""The Voice API allows 3 new calls and 15 other requests a second: on the fake clock, the app
keeps under both however many calls there are, and sends the most urgent request first."""

from __future__ import annotations

import pytest

from stream_audio.call import CallState
from stream_audio.pacer import WINDOW_SECONDS, Pacer, Priority
from stream_audio.refused import Refused
from tests.unit.helpers import STREAM_SECONDS, Account, FakeClock, FakeDeadlines, run_for

# --- the pacer on its own -----------------------------------------------------------


def test_the_pacer_never_lets_more_than_the_limit_out_in_any_rolling_second():
    clock = FakeClock()
    pacer = Pacer(calls_per_second=3, requests_per_second=15, workers=0, clock=clock)
    sent_at = []
    for _ in range(40):
        pacer.submit(Priority.OTHER, lambda: sent_at.append(clock()))

    run_for(10, clock, FakeDeadlines(clock), pacer)

    assert len(sent_at) == 40
    assert max(sum(start <= t < start + 1 for t in sent_at) for start in sent_at) == 15
    assert sent_at[-1] - sent_at[0] <= 2 * WINDOW_SECONDS  # and no slower than that


def test_the_pacer_sends_hang_ups_before_stops_before_starts_whatever_the_order_queued():
    clock = FakeClock()
    pacer = Pacer(calls_per_second=3, requests_per_second=15, workers=0, clock=clock)
    order = []
    for priority in (
        Priority.START_MUSIC,
        Priority.OTHER,
        Priority.STOP_MUSIC,
        Priority.HANG_UP,
        Priority.START_MUSIC,
        Priority.HANG_UP,
    ):
        pacer.submit(priority, order.append, priority)

    run_for(1, clock, FakeDeadlines(clock), pacer)

    assert order == sorted(order)
    assert order[0] is Priority.HANG_UP and order[-1] is Priority.OTHER


def test_a_fourth_call_within_the_second_waits_for_room_rather_than_being_refused_by_vonage():
    clock = FakeClock()
    pacer = Pacer(calls_per_second=3, requests_per_second=15, workers=0, clock=clock)

    for _ in range(3):
        assert pacer.reserve_call_creation(timeout=0)
        pacer.call_creation_answered()
    assert not pacer.reserve_call_creation(timeout=0)
    clock.now += WINDOW_SECONDS
    assert pacer.reserve_call_creation(timeout=0)


def test_a_request_still_awaiting_its_answer_counts_against_the_second_however_long_it_takes():
    clock = FakeClock()
    pacer = Pacer(calls_per_second=1, requests_per_second=15, workers=0, clock=clock)
    assert pacer.reserve_call_creation(timeout=0)
    clock.now += 5  # Vonage is slow to answer: the request may have arrived only just now

    assert not pacer.reserve_call_creation(timeout=0)
    pacer.call_creation_answered()
    clock.now += WINDOW_SECONDS - 0.01
    assert not pacer.reserve_call_creation(timeout=0)
    clock.now += 0.01
    assert pacer.reserve_call_creation(timeout=0)


def test_place_call_answers_429_with_retry_after_when_calls_come_faster_than_the_limit(account, monkeypatch):
    monkeypatch.setattr("stream_audio.call_placing.CREATE_WAIT_SECONDS", 0)
    for _ in range(3):
        account.place_call()

    with pytest.raises(Refused) as refused:
        account.place_call()

    assert (refused.value.status, refused.value.retry_after) == (429, 1)
    assert "VONAGE_CALLS_PER_SECOND (3)" in refused.value.reason
    assert len(account.sent("create_call")) == 3


# --- the whole call on the fake clock ------------------------------------------------


def test_thirty_calls_answered_together_each_get_one_start_one_stop_and_one_hang_up_within_the_limits(account):
    calls = account.place_calls(30)
    for call_uuid in calls:
        account.vonage_says(call_uuid, "answered")

    account.run_for(STREAM_SECONDS + 10)

    for call_uuid in calls:
        assert account.voice.requests_for(call_uuid) == ["create_call", "start_stream", "stop_stream", "hangup"]
        assert account.state_of(call_uuid) is CallState.HUNG_UP
    assert account.busiest_second({"start_stream", "stop_stream", "hangup"}) <= 15
    assert account.busiest_second({"create_call"}) <= 3
    # 90 requests at 15 a second: the last hang-up comes no later than the rate allows.
    starts, hangups = account.sent("start_stream"), account.sent("hangup")
    assert hangups[-1][0] - starts[0][0] <= STREAM_SECONDS + 90 / 15 * WINDOW_SECONDS


def test_fifty_calls_answered_at_once_are_each_stopped_and_hung_up_on_time_when_the_limits_allow():
    # An account whose Voice API limits Vonage has raised: the app's own timing, unpaced.
    account = Account(calls_per_second=1000, requests_per_second=1000)
    calls = account.place_calls(50)
    for call_uuid in calls:
        account.vonage_says(call_uuid, "answered")

    account.run_for(STREAM_SECONDS + 1)

    for call_uuid in calls:
        assert account.voice.requests_for(call_uuid) == ["create_call", "start_stream", "stop_stream", "hangup"]
        _, start, stop, hangup = [when for when, _, uuid in account.voice.sent if uuid == call_uuid]
        assert (stop - start, hangup - start) == (STREAM_SECONDS, STREAM_SECONDS)


def test_when_time_is_up_for_many_calls_hang_ups_overtake_the_music_still_waiting_to_start(account):
    early = account.place_calls(3)
    for call_uuid in early:
        account.vonage_says(call_uuid, "answered")
    account.run_for(STREAM_SECONDS - 0.5)
    late = account.place_calls(15)
    for call_uuid in late:
        account.vonage_says(call_uuid, "answered")  # 15 starts queued just before the early calls' time is up

    account.run_for(1.0)

    # Each early call's stop went out before the starts still queued, and its hang-up right after.
    last_early_hangup = max(when for when, _, uuid in account.sent("hangup") if uuid in early)
    starts_before = [
        when for when, _, uuid in account.sent("start_stream") if uuid in late and when < last_early_hangup
    ]
    assert len(account.sent("hangup")) == 3
    assert len(starts_before) < 15
