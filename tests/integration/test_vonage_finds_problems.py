"""Vonage's side of a call, as `make demo` plays it (`vonage_around`), finds what the real Vonage would
fail in an app broken on purpose in this process: audio it cannot play, an NCCO that fails its schema,
an event webhook that answers 5xx or too slowly, and a request to a call the app was told is over.
Each is a problem on the timeline, which `make demo` prints as a `PROBLEM` and exits 1 for
(tests/end_to_end/test_demo_finds_problems.py runs the demo itself on such a copy of the app)."""

from __future__ import annotations

import time

import flask
import pytest

from stream_audio.call_flow import CallFlow
from tests.helpers import SIGNATURE_SECRET, VONAGE_NUMBER, wait_until
from tests.integration.helpers import vonage_around

CALLER = "447700900123"


def test_music_mp3_vanishing_once_the_app_runs_is_a_404_vonage_names(start_app, voice_api):
    app = start_app()

    @app.app.before_request
    def music_gone():
        if flask.request.path == "/audio/music.mp3":
            flask.abort(404)

    vonage = vonage_around(voice_api, app)
    app.place_call()

    assert vonage.wait_until_done(10)
    assert "fetching /audio/music.mp3 failed: it answered 404" in vonage.timeline.problems


def test_audio_served_as_mp3_that_is_not_is_named(start_app, voice_api):
    app = start_app()

    @app.app.before_request
    def silence_replaced_by_a_web_page():
        if flask.request.path == "/audio/silence.mp3":
            return "<html>not audio</html>", 200, {"Content-Type": "audio/mpeg"}
        return None

    vonage = vonage_around(voice_api, app)
    app.place_call()

    assert vonage.wait_until_done(10)
    assert any(p.startswith("/audio/silence.mp3 is not a playable MP3") for p in vonage.timeline.problems)


def test_an_ncco_for_a_caller_that_fails_vonages_schema_is_named_and_the_call_fails(start_app, voice_api):
    app = start_app()

    @app.app.before_request
    def a_talk_without_text():
        if flask.request.path == "/audio/answer.json":
            return flask.jsonify([{"action": "talk"}])
        return None

    vonage = vonage_around(voice_api, app)
    call_uuid = vonage.ring_the_number(CALLER, VONAGE_NUMBER, app.url)

    assert vonage.wait_until_done(10)
    assert vonage.timeline.problems == ["the answer NCCO fails Vonage's schema at 0: 'text' is a required property"]
    assert any(line.endswith("-> app  event failed") for line in vonage.timeline.lines)
    assert voice_api.calls.details(call_uuid)["status"] == "failed"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        pytest.param(lambda: flask.Response(status=500), "answered 500 to started", id="answers 500"),
        pytest.param(
            lambda: time.sleep(10.5),  # Vonage waits 10 s for an answer
            "failed for started: it did not answer in time",
            id="slower than Vonage waits",
            marks=pytest.mark.long,
        ),
    ],
)
def test_an_event_webhook_vonage_would_give_up_on_is_named(start_app, voice_api, answer, problem):
    app = start_app()

    @app.app.before_request
    def a_broken_webhook():
        if flask.request.path == "/webhooks/events" and b"started" in flask.request.get_data():
            return answer()
        return None

    # The callee hangs up a second after answering, so the call does not run on to length_timer (11 s).
    vonage = vonage_around(voice_api, app, hangs_up_after=1)
    app.place_call()

    assert vonage.wait_until_done(20)
    assert f"the event webhook /webhooks/events {problem}" in vonage.timeline.problems


def test_an_app_that_ignores_completed_and_hangs_up_a_call_that_is_over_is_caught(start_app, voice_api, monkeypatch):
    heard = CallFlow.on_event
    monkeypatch.setattr(
        CallFlow, "on_event", lambda calls, event: None if event.status == "completed" else heard(calls, event)
    )
    app = start_app(STREAM_SECONDS="2", VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET)
    vonage = vonage_around(voice_api, app, hangs_up_after=1)
    call_uuid = app.place_call()

    assert vonage.wait_until_done(10)
    told = f"the app sent PUT hangup to call {call_uuid} after it was told the call was over"
    wait_until(lambda: told in vonage.timeline.problems, 5, "the app's hang-up STREAM_SECONDS after the music started")

    assert any(line.endswith("PUT hangup  <- 404, the call is over") for line in vonage.timeline.lines)
