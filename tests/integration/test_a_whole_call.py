"""The whole call, end to end: the real app over HTTP, the real SDK, and the
Voice API stand-in over HTTPS checking every request's JWT."""

from __future__ import annotations

import logging
import threading
import time

from tests.helpers import APPLICATION_ID, TO_NUMBER, VONAGE_NUMBER, app_log, app_records, wait_for_log

STREAM_SECONDS = 1.0


def test_the_browser_places_a_call_and_gets_its_uuid_back(running_app, voice_api):
    response = running_app.get("/call")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    [create] = voice_api.sent("create_call")
    assert response.json()["uuid"] and response.json()["to"] == TO_NUMBER
    assert create.body == {
        "to": [{"type": "phone", "number": TO_NUMBER}],
        "from": {"type": "phone", "number": VONAGE_NUMBER},
        "answer_url": [f"{running_app.url}/audio/answer.json"],
        "event_url": [f"{running_app.url}/webhooks/events"],
        "ringing_timer": 60,
        "length_timer": 11,  # ceil(STREAM_SECONDS) + a 10 s margin
    }
    assert create.claims["application_id"] == APPLICATION_ID
    assert voice_api.rejected == []


def test_an_answered_call_hears_music_then_is_stopped_and_hung_up_on_time(running_app, voice_api, caplog):
    call_uuid = running_app.place_call()
    for status in ("started", "ringing", "answered"):
        assert running_app.vonage_sends(call_uuid, status).status_code == 204

    [start] = voice_api.wait_for("start_stream", call_uuid=call_uuid)
    [hangup] = voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=STREAM_SECONDS + 3)
    [stop] = voice_api.sent("stop_stream", call_uuid)

    assert start.method == "PUT" and start.path == f"/v1/calls/{call_uuid}/stream"
    assert start.body == {"stream_url": [f"{running_app.url}/audio/music.mp3"], "loop": 0}
    assert stop.method == "DELETE" and stop.path == f"/v1/calls/{call_uuid}/stream"
    assert hangup.method == "PUT" and hangup.body == {"action": "hangup"}
    assert start.at < stop.at < hangup.at
    assert STREAM_SECONDS <= stop.at - start.at < STREAM_SECONDS + 1
    assert STREAM_SECONDS <= hangup.at - start.at < STREAM_SECONDS + 1
    assert voice_api.rejected == []  # every request carried a valid JWT

    assert running_app.vonage_sends(call_uuid, "completed").status_code == 204
    time.sleep(0.3)
    assert len(voice_api.received) == 4  # create, start, stop, hang-up: nothing after `completed`
    log = app_log(caplog)
    for step in ("placed to", "answered", "PUT stream music.mp3 loop 0 done", "DELETE stream done", "PUT hangup done"):
        assert f"call {call_uuid}: " in log and step in log


def test_a_repeated_answered_event_starts_nothing_more(running_app, voice_api, caplog):
    call_uuid = running_app.place_call()
    running_app.vonage_sends(call_uuid, "answered")
    voice_api.wait_for("start_stream", call_uuid=call_uuid)
    running_app.vonage_sends(call_uuid, "answered")
    running_app.vonage_sends(call_uuid, "answered")

    voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=STREAM_SECONDS + 3)
    time.sleep(0.3)

    assert len(voice_api.sent("start_stream")) == 1
    assert len(voice_api.sent("stop_stream")) == 1
    assert len(voice_api.sent("hangup")) == 1
    assert "repeated answered event" in app_log(caplog)


def test_a_repeated_answered_event_racing_the_first_starts_one_stream(running_app, voice_api):
    call_uuid = running_app.place_call()
    voice_api.misbehave("start_stream", stall=0.5)  # the first start is still in flight
    threads = [threading.Thread(target=running_app.vonage_sends, args=(call_uuid, "answered")) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=STREAM_SECONDS + 4)
    assert len(voice_api.sent("start_stream")) == 1
    assert len(voice_api.sent("hangup")) == 1


# Each final status, on the fake clock: unit/test_calls_that_end_early.py.
def test_a_callee_who_hangs_up_early_is_not_stopped_or_hung_up_again(running_app, voice_api, caplog):
    call_uuid = running_app.place_call()
    running_app.vonage_sends(call_uuid, "answered")
    wait_for_log(caplog, f"call {call_uuid}: music playing; hang-up in")

    running_app.callee_hangs_up(voice_api, call_uuid, "completed")
    time.sleep(STREAM_SECONDS + 0.7)

    assert voice_api.sent("stop_stream") == []
    assert voice_api.sent("hangup") == []
    [ended] = [line for line in app_log(caplog).splitlines() if line.startswith(f"call {call_uuid}: completed")]
    assert ended.endswith("; pending hang-up cancelled, nothing more sent")


def test_a_call_that_is_never_answered_gets_no_music_and_no_hang_up(running_app, voice_api):
    call_uuid = running_app.place_call()
    running_app.vonage_sends(call_uuid, "ringing")
    running_app.callee_hangs_up(voice_api, call_uuid, "busy")
    running_app.vonage_sends(call_uuid, "answered")  # late and out of order: the call is over
    time.sleep(STREAM_SECONDS + 0.5)

    assert [r.step for r in voice_api.received] == ["create_call", "get_call"]  # events unsigned here: checked


def test_a_call_that_ends_while_its_music_is_starting_is_not_hung_up(running_app, voice_api, caplog):
    call_uuid = running_app.place_call()
    voice_api.misbehave("start_stream", stall=0.6)
    running_app.vonage_sends(call_uuid, "answered")
    voice_api.wait_for("start_stream", call_uuid=call_uuid)
    running_app.callee_hangs_up(voice_api, call_uuid)
    time.sleep(0.6 + STREAM_SECONDS + 0.5)

    assert voice_api.sent("stop_stream") == [] and voice_api.sent("hangup") == []
    assert "ended while the music was starting" in app_log(caplog)


def test_an_event_for_a_call_this_app_did_not_place_is_acknowledged_and_logged(running_app, voice_api, caplog):
    stranger = "0f6c9a1e-0000-4000-8000-000000000000"
    for status in ("answered", "completed"):
        assert running_app.vonage_sends(stranger, status).status_code == 204
    time.sleep(STREAM_SECONDS + 0.3)

    assert voice_api.received == []
    assert f"call {stranger}: event answered for a call this app is not handling" in app_log(caplog)


def test_a_stop_and_hang_up_answered_404_because_the_call_is_gone_are_not_errors(running_app, voice_api, caplog):
    call_uuid = running_app.place_call()
    running_app.vonage_sends(call_uuid, "answered")
    voice_api.wait_for("start_stream", call_uuid=call_uuid)
    voice_api.callee_hangs_up(call_uuid)  # the `completed` event has not reached the app yet

    voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=STREAM_SECONDS + 3)
    time.sleep(0.2)

    assert len(voice_api.sent("stop_stream", call_uuid)) == 1
    log = app_log(caplog)
    assert f"call {call_uuid}: DELETE stream answered 404: already ended" in log
    assert f"call {call_uuid}: PUT hangup answered 404: already ended" in log
    assert not app_records(caplog, logging.WARNING)
