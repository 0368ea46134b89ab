"""A call's history as its page tells it: the steps in the order they happened, a request's step at
the moment the request was sent, and no more than a call's first and latest steps, however many
events it gets, with a count of those folded between them."""

from __future__ import annotations

import pytest

from stream_audio.history import FIRST_STEPS_KEPT, LATEST_STEPS_KEPT, CallHistory
from tests.helpers import TO_NUMBER, VONAGE_NUMBER
from tests.unit.helpers import FakeClock


def placed_on(clock: FakeClock) -> CallHistory:
    """A history holding one call, placed with a POST /v1/calls that took 200 ms."""
    history = CallHistory(clock=clock)
    history.placed("call-1", "placed: POST /v1/calls", VONAGE_NUMBER, TO_NUMBER, "outbound", took_ms=200)
    return history


def test_a_requests_step_comes_before_what_happened_while_it_was_on_its_way():
    clock = FakeClock()
    history = placed_on(clock)
    clock.now += 1
    history.note("call-1", "Hang up pressed")
    sent_at = clock.now = clock.now + 0.1
    clock.now += 0.5
    history.note("call-1", "ended: completed")  # Vonage's final status, while PUT hangup is on its way
    clock.now += 0.4
    history.note("call-1", "PUT hangup done", took_ms=900)

    record = history.of("call-1")
    assert [step.what for step in record.steps] == [
        "placed: POST /v1/calls",
        "Hang up pressed",
        "PUT hangup done",
        "ended: completed",
    ]
    assert record.steps[2].at == pytest.approx(sent_at)
    assert record.placed_at == pytest.approx(1000.0 - 0.2)  # when POST /v1/calls was sent


def test_a_call_rung_10000_times_keeps_its_first_and_latest_steps_and_counts_those_folded_between():
    clock = FakeClock()
    history = placed_on(clock)
    for ring in range(1, 10_001):
        clock.now += 0.01
        history.note("call-1", f"ringing {ring}")

    record = history.of("call-1")
    assert len(record.steps) == FIRST_STEPS_KEPT + LATEST_STEPS_KEPT
    assert record.folded == 10_001 - len(record.steps)
    assert [step.what for step in record.steps[:2]] == ["placed: POST /v1/calls", "ringing 1"]
    assert record.steps[FIRST_STEPS_KEPT - 1].what == f"ringing {FIRST_STEPS_KEPT - 1}"
    assert record.steps[FIRST_STEPS_KEPT].what == f"ringing {10_001 - LATEST_STEPS_KEPT}"
    assert record.steps[-1].what == "ringing 10000"


def test_a_request_answered_late_in_a_long_call_still_takes_its_place_among_the_latest_steps():
    clock = FakeClock()
    history = placed_on(clock)
    for ring in range(1, 200):
        clock.now += 0.01
        history.note("call-1", f"ringing {ring}")
    history.note("call-1", "PUT hangup done", took_ms=5)  # sent between the last two ringing events

    whats = [step.what for step in history.of("call-1").steps]
    assert whats[-3:] == ["ringing 198", "PUT hangup done", "ringing 199"]
    assert len(whats) == FIRST_STEPS_KEPT + LATEST_STEPS_KEPT
