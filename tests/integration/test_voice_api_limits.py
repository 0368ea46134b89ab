"""Against a Voice API that enforces an account's limits on new calls and on other requests
(429 beyond them in any rolling second, nothing queued), more calls than either limit lets
through at once, placed through /call and answered together, each hear the music once and
are hung up once, and Vonage refuses nothing. Thirty calls at the default limits, to the
millisecond, are unit/test_pacing_to_the_accounts_limits.py."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from stream_audio.pacer import WINDOW_SECONDS
from tests.integration.helpers import RunningApp

# An account's limits, the app told of them as VONAGE_CALLS_PER_SECOND and VONAGE_REQUESTS_PER_SECOND.
CALLS_PER_SECOND = 3
REQUESTS_PER_SECOND = 5
# One more than either limit lets through at once: some creations, and some music's start, must wait.
CALLS = REQUESTS_PER_SECOND + 1
STREAM_SECONDS = 1


def place_call_as_a_script_would(running: RunningApp) -> str:
    """GET /call, waiting as told by Retry-After when the app says the account's limit is reached."""
    for _ in range(60):
        response = running.get("/call")
        if response.status_code != 429:
            assert response.status_code == 200, response.text
            return response.json()["uuid"]
        time.sleep(int(response.headers["Retry-After"]))
    raise AssertionError("/call kept answering 429")


def test_more_calls_than_the_limits_let_through_each_hear_the_music_once_and_are_hung_up_once(start_app, voice_api):
    voice_api.enforce_limits(CALLS_PER_SECOND, REQUESTS_PER_SECOND)
    running = start_app(
        MAX_ACTIVE_CALLS=str(CALLS),
        STREAM_SECONDS=str(STREAM_SECONDS),
        VONAGE_CALLS_PER_SECOND=str(CALLS_PER_SECOND),
        VONAGE_REQUESTS_PER_SECOND=str(REQUESTS_PER_SECOND),
    )
    with ThreadPoolExecutor(CALLS) as browsers:
        calls = list(browsers.map(lambda _: place_call_as_a_script_would(running), range(CALLS)))
    with ThreadPoolExecutor(CALLS) as vonage:
        assert set(vonage.map(lambda call_uuid: running.vonage_sends(call_uuid, "answered").status_code, calls)) == {
            204
        }

    voice_api.wait_for("hangup", count=CALLS, timeout=20)

    assert voice_api.refused == []
    # Some had to wait for room, so the limits were reached as well as kept.
    creates, starts = voice_api.sent("create_call"), sorted(voice_api.sent("start_stream"), key=lambda r: r.at)
    assert creates[CALLS_PER_SECOND].at - creates[0].at >= WINDOW_SECONDS
    assert starts[REQUESTS_PER_SECOND].at - starts[0].at >= WINDOW_SECONDS
    for call_uuid in calls:
        assert [r.step for r in voice_api.received if r.call_uuid == call_uuid] == [
            "start_stream",
            "stop_stream",
            "hangup",
        ]
        [start], [hangup] = voice_api.sent("start_stream", call_uuid), voice_api.sent("hangup", call_uuid)
        assert hangup.at - start.at >= STREAM_SECONDS  # the music played its whole STREAM_SECONDS


def test_the_stand_in_refuses_what_goes_over_the_limit_as_vonage_would(start_app, voice_api):
    voice_api.enforce_limits(calls_per_second=3, requests_per_second=15)
    # A user who set the app's limits above the account's gets Vonage's 429s.
    running = start_app(MAX_ACTIVE_CALLS="10", VONAGE_CALLS_PER_SECOND="10")
    with ThreadPoolExecutor(5) as browsers:
        answers = list(browsers.map(lambda _: running.get("/call").status_code, range(5)))

    assert answers.count(200) >= 3 and len(voice_api.refused) >= 1
    assert {r.step for r in voice_api.refused} == {"create_call"}
