"""Against a Voice API that enforces the account's limits (3 new calls and 15 other requests
a second, 429 beyond them, nothing queued), thirty calls placed through /call and answered
together each hear the music once and are hung up once, and Vonage refuses nothing."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.integration.helpers import RunningApp

CALLS = 30


def place_call_as_a_script_would(running: RunningApp) -> str:
    """GET /call, waiting as told by Retry-After when the app says the account's limit is reached."""
    for _ in range(60):
        response = running.get("/call")
        if response.status_code != 429:
            assert response.status_code == 200, response.text
            return response.json()["uuid"]
        time.sleep(int(response.headers["Retry-After"]))
    raise AssertionError("/call kept answering 429")


def test_thirty_calls_answered_together_each_hear_the_music_once_and_are_hung_up_once(start_app, voice_api):
    voice_api.enforce_limits(calls_per_second=3, requests_per_second=15)
    running = start_app(MAX_ACTIVE_CALLS=str(CALLS), STREAM_SECONDS="2")
    with ThreadPoolExecutor(CALLS) as browsers:
        calls = list(browsers.map(lambda _: place_call_as_a_script_would(running), range(CALLS)))
    with ThreadPoolExecutor(CALLS) as vonage:
        assert set(vonage.map(lambda call_uuid: running.vonage_sends(call_uuid, "answered").status_code, calls)) == {
            204
        }

    voice_api.wait_for("hangup", count=CALLS, timeout=20)

    assert voice_api.refused == []
    for call_uuid in calls:
        assert [r.step for r in voice_api.received if r.call_uuid == call_uuid] == [
            "start_stream",
            "stop_stream",
            "hangup",
        ]
        [start], [hangup] = voice_api.sent("start_stream", call_uuid), voice_api.sent("hangup", call_uuid)
        assert hangup.at - start.at >= 2.0  # the music played its whole STREAM_SECONDS


def test_the_stand_in_refuses_what_goes_over_the_limit_as_vonage_would(start_app, voice_api):
    voice_api.enforce_limits(calls_per_second=3, requests_per_second=15)
    # A user who set the app's limits above the account's gets Vonage's 429s.
    running = start_app(MAX_ACTIVE_CALLS="10", VONAGE_CALLS_PER_SECOND="10")
    with ThreadPoolExecutor(5) as browsers:
        answers = list(browsers.map(lambda _: running.get("/call").status_code, range(5)))

    assert answers.count(200) >= 3 and len(voice_api.refused) >= 1
    assert {r.step for r in voice_api.refused} == {"create_call"}
