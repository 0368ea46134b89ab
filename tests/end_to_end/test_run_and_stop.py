"""`python app.py`, started exactly as a user starts it, against the Voice API stand-in: a whole
call, and every way of stopping it leaves no callee on a silent line and says how it went."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.helpers import APPLICATION_ID, VONAGE_NUMBER


def test_python_app_py_carries_a_call_from_the_browser_to_the_hang_up(app_process, voice_api):
    call_uuid = app_process.place_call()
    [create] = voice_api.sent("create_call")
    assert create.body["from"] == {"type": "phone", "number": VONAGE_NUMBER}
    assert create.claims["application_id"] == APPLICATION_ID  # a valid RS256 JWT, checked by the stand-in

    ncco = requests.get(app_process.url + "/audio/answer.json", timeout=5).json()
    assert ncco[1]["streamUrl"] == [f"{app_process.url}/audio/silence.mp3"]
    for name in ("silence.mp3", "music.mp3"):
        audio = requests.get(f"{app_process.url}/audio/{name}", timeout=5)
        assert audio.status_code == 200 and audio.headers["Content-Type"] == "audio/mpeg"

    assert app_process.vonage_sends(call_uuid, "answered").status_code == 204
    assert app_process.vonage_sends(call_uuid, "answered").status_code == 204  # repeated: starts nothing
    [start] = voice_api.wait_for("start_stream", call_uuid=call_uuid)
    [hangup] = voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=4)
    [stop] = voice_api.sent("stop_stream", call_uuid)
    assert start.body == {"stream_url": [f"{app_process.url}/audio/music.mp3"], "loop": 0}
    assert 1.0 <= stop.at - start.at < hangup.at - start.at < 2.0
    assert app_process.vonage_sends(call_uuid, "completed").status_code == 204

    # A second call whose callee hangs up early, and an event for a call this app never placed.
    early_uuid = app_process.place_call()
    app_process.vonage_sends(early_uuid, "answered")
    app_process.wait_for_log(f"call {early_uuid}: music playing; hang-up in")
    app_process.callee_hangs_up(voice_api, early_uuid)
    assert app_process.vonage_sends("not-a-call-of-ours", "answered").status_code == 204
    time.sleep(1.5)
    assert [r.step for r in voice_api.received] == [
        "create_call",
        "start_stream",
        "stop_stream",
        "hangup",
        "create_call",
        "start_stream",
        "get_call",
    ]  # events are not signed here, so the early `completed` is checked with the Voice API
    assert voice_api.rejected == []

    assert app_process.stop(signal.SIGTERM) == 0
    log = app_process.log()
    assert f"call {call_uuid}: PUT hangup done" in log
    confirmed = voice_api.calls.details(early_uuid)
    billing = f"after {confirmed['duration']} s, price {confirmed['price']}"
    assert f"call {early_uuid}: completed ({billing}); pending hang-up cancelled" in log
    assert "Traceback" not in log
    assert "PRIVATE KEY" not in log and "api-s3cr3t" not in log and "Bearer" not in log and "eyJ" not in log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stopping_the_app_mid_call_hangs_up_every_callee_before_it_exits(start_process, voice_api, sig):
    running = start_process(STREAM_SECONDS="60")
    answered, ringing = (running.place_call() for _ in range(2))
    running.vonage_sends(answered, "answered")
    running.wait_for_log(f"call {answered}: music playing; hang-up in 60 s")

    assert running.stop(sig) == 0

    assert [r.call_uuid for r in voice_api.sent("stop_stream")] == [answered]
    assert {r.call_uuid for r in voice_api.sent("hangup")} == {answered, ringing}
    assert "shutting down: ended 2 of 2 call(s)" in running.log()
    assert "Traceback" not in running.log()


class HeldCallCreation:
    """Vonage's side of the Voice API stand-in, holding its answer to POST /v1/calls until told."""

    def __init__(self) -> None:
        self._answer = threading.Event()

    def answer(self) -> None:
        self._answer.set()

    def request_arrived(self, step: str, call_uuid: str | None, body: Any) -> None:
        if step == "create_call":
            self._answer.wait(30)

    def call_created(self, call_uuid: str, body: dict) -> None:
        pass

    def stream_started(self, call_uuid: str, body: dict) -> None:
        pass

    def call_ends(self, call_uuid: str, why: str) -> None:
        pass


# Waitress lets requests in progress finish for up to 5 s after the signal: a call created
# within that is answered to the browser; one created after it is hung up as it is recorded.
# Vonage answers once the app has logged that it is stopping, or that waitress gave up waiting.
@pytest.mark.parametrize(
    "vonage_answers_after",
    ["SIGTERM: stopping", "1 thread(s) still running"],
    ids=["before the server stops", "after the server stops"],
)
def test_a_call_being_placed_when_the_app_is_stopped_is_hung_up_once_it_exists(
    start_process, voice_api, vonage_answers_after
):
    running = start_process()
    creation = HeldCallCreation()
    voice_api.report_calls_to(creation)
    with ThreadPoolExecutor(1) as browser:
        opened = browser.submit(requests.get, running.link(), timeout=15)
        voice_api.wait_for("create_call")
        running.process.send_signal(signal.SIGTERM)
        running.wait_for_log(vonage_answers_after, timeout=10)
        creation.answer()

        assert running.process.wait(timeout=15) == 0

    [created] = voice_api.conversation_of
    assert [r.call_uuid for r in voice_api.sent("hangup")] == [created]
    assert "shutting down: ended 1 of 1 call(s)" in running.log()
    if vonage_answers_after == "SIGTERM: stopping":
        assert opened.result().json()["uuid"] == created
    else:
        assert f"call {created}: placed while shutting down; hanging it up" in running.log()


def test_a_hang_up_in_flight_when_the_app_is_stopped_is_not_sent_twice(start_process, voice_api):
    running = start_process()
    voice_api.misbehave("hangup", stall=1.5, times=1)
    call_uuid = running.place_call()
    running.vonage_sends(call_uuid, "answered")
    voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=4)  # STREAM_SECONDS=1 later, and stalling

    assert running.stop(signal.SIGTERM) == 0

    assert [r.step for r in voice_api.received] == ["create_call", "start_stream", "stop_stream", "hangup"]
    assert "shutting down: ended 1 of 1 call(s)" in running.log()


def test_a_second_ctrl_c_exits_at_once_with_one_line_and_exit_code_130(start_process, voice_api):
    running = start_process(STREAM_SECONDS="60")
    running.place_call()
    voice_api.misbehave("hangup", stall=20)
    running.process.send_signal(signal.SIGINT)
    running.wait_for_log("shutting down: ending 1 call(s) in progress")

    started = time.monotonic()
    assert running.stop(signal.SIGINT) == 130
    assert time.monotonic() - started < 2

    log = running.log()
    assert log.count("SIGINT again: exiting now") == 1
    assert "Traceback" not in log and "KeyboardInterrupt" not in log


def test_an_app_that_could_not_hang_up_every_call_exits_with_1(start_process, voice_api):
    running = start_process(STREAM_SECONDS="60")
    running.place_call()
    voice_api.misbehave("hangup", status=500)

    assert running.stop(signal.SIGTERM) == 1
    assert "shutting down: ended 0 of 1 call(s)" in running.log()
    assert "Traceback" not in running.log()
