"""No callee is left on a silent line when the app stops, and many calls at once each
get exactly one stream and one hang-up, on time, leaving nothing behind."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from stream_audio.call_flow import SHUTDOWN_SECONDS
from tests.helpers import BUSY_MACHINE_SECONDS, app_log, wait_for_log

STREAM_SECONDS = 1


def test_shutting_down_stops_the_music_and_hangs_up_every_call_in_progress(start_app, voice_api, caplog):
    running = start_app(STREAM_SECONDS="30")
    playing = [running.place_call() for _ in range(2)]
    ringing = running.place_call()
    finished = running.place_call()
    for call_uuid in playing + [finished]:
        running.vonage_sends(call_uuid, "answered")
        wait_for_log(caplog, f"call {call_uuid}: music playing; hang-up in 30 s")
    running.callee_hangs_up(voice_api, finished)

    running.close()

    assert {r.call_uuid for r in voice_api.sent("stop_stream")} == set(playing)
    assert {r.call_uuid for r in voice_api.sent("hangup")} == {*playing, ringing}
    for call_uuid in playing:
        assert voice_api.sent("stop_stream", call_uuid)[0].at < voice_api.sent("hangup", call_uuid)[0].at
    assert "shutting down: ended 3 of 3 call(s)" in app_log(caplog)


def test_shutting_down_with_nothing_in_progress_sends_nothing_and_leaves_no_thread(start_app, voice_api, caplog):
    running = start_app(STREAM_SECONDS="30")
    call_uuid = running.place_call()
    running.vonage_sends(call_uuid, "answered")
    wait_for_log(caplog, f"call {call_uuid}: music playing; hang-up in 30 s")
    running.callee_hangs_up(voice_api, call_uuid)

    started = time.monotonic()
    running.close()

    assert time.monotonic() - started < 1
    assert voice_api.sent("hangup") == []
    assert "shutting down" not in app_log(caplog)
    ours = ("deadlines", "voice-api-", "app-server")
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith(ours) and t.name != "voice-api-standin"]
    assert leftovers == []


def test_shutting_down_while_the_voice_api_stalls_takes_a_bounded_time(start_app, voice_api, caplog):
    running = start_app(STREAM_SECONDS="30", VONAGE_API_TIMEOUT="20")
    call_uuid = running.place_call()
    voice_api.misbehave("hangup", stall=30)

    started = time.monotonic()
    running.close()

    assert SHUTDOWN_SECONDS <= time.monotonic() - started < SHUTDOWN_SECONDS + 1
    voice_api.wait_for("hangup", call_uuid=call_uuid)
    assert "shutting down: ended 0 of 1 call(s); Vonage's length_timer ends the rest" in app_log(caplog)
    voice_api.close()  # ends the stall, so the abandoned request finishes now rather than at its timeout


def test_fifty_calls_answered_at_once_each_get_one_stream_and_one_hang_up_on_time(start_app, voice_api, caplog):
    # An account whose Voice API limits Vonage has raised: the app's own speed, unpaced.
    running = start_app(
        MAX_ACTIVE_CALLS="50",
        STREAM_SECONDS=str(STREAM_SECONDS),
        VONAGE_CALLS_PER_SECOND="1000",
        VONAGE_REQUESTS_PER_SECOND="1000",
    )
    with ThreadPoolExecutor(10) as pool:
        calls = list(pool.map(lambda _: running.place_call(), range(50)))
    assert len(set(calls)) == 50

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda call_uuid: running.vonage_sends(call_uuid, "answered").status_code, calls))
    assert answers == [204] * 50

    voice_api.wait_for("hangup", count=50, timeout=10)
    time.sleep(0.5)
    for call_uuid in calls:
        [start] = voice_api.sent("start_stream", call_uuid)
        [stop] = voice_api.sent("stop_stream", call_uuid)
        [hangup] = voice_api.sent("hangup", call_uuid)
        # Exactly on time when the Voice API answers at once: unit/test_pacing_to_the_accounts_limits.py.
        assert STREAM_SECONDS <= stop.at - start.at < hangup.at - start.at < STREAM_SECONDS + BUSY_MACHINE_SECONDS
    with ThreadPoolExecutor(50) as pool:
        list(pool.map(lambda call_uuid: running.vonage_sends(call_uuid, "completed"), calls))
    assert len(running.calls) == 0  # the table of calls is empty again
    assert voice_api.rejected == []
