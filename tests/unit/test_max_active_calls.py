"""MAX_ACTIVE_CALLS counts a call for as long as it may be live, and no longer: not past the
moment Vonage must have ended it, whatever events were lost on the way."""

from __future__ import annotations

import pytest

from stream_audio.refused import Refused
from tests.unit.helpers import Account


def test_a_call_whose_events_are_all_lost_stops_counting_once_vonage_must_have_ended_it(caplog):
    # RINGING_TIMER 1 s + length_timer (ceil(0.5) + 10 s): Vonage has ended the call 12 s after it was placed.
    account = Account(max_active_calls=1, ringing_timer=1, stream_seconds=0.5)
    call_uuid = account.place_call()

    account.run_for(12 - 0.01)
    with pytest.raises(Refused) as refused:
        account.place_call()
    assert refused.value.status == 429
    assert len(account.calls) == 1

    account.run_for(0.01)
    assert f"call {call_uuid}: no final event within 12 s; Vonage has surely ended the call" in caplog.text
    assert len(account.calls) == 0
    assert account.place_call()
