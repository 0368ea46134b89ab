"""`make demo`: the whole call against a local Voice API that behaves like Vonage, with
no account, no .env and no network; and what it says when something is broken."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from app import PROJECT_DIR
from tests.end_to_end.helpers import at, run_demo
from tests.helpers import BUSY_MACHINE_SECONDS, write_wav
from tools.demo import RING_SECONDS


def test_the_demo_prints_the_whole_call_and_exits_0():
    status, timeline, output = run_demo("--stream-seconds", "2")

    assert status == 0, output
    whats = [f"{who} {what}" for _, who, what in timeline]
    expected = [
        "browser GET /call",
        "app -> Voice API  POST /v1/calls  to 447700900001 from 447700900000",
        'vonage fetched /audio/answer.json: talk "Please hold ..." ; stream silence.mp3 (60 s x forever)',
        "vonage fetched /audio/silence.mp3: MP3 16 kHz mono, 60.1 s",
        "vonage -> app  event started / ringing / answered",
        "app -> Voice API  PUT stream music.mp3 loop 0",
        "vonage fetched /audio/music.mp3: MP3 16 kHz mono, 20.1 s",
        "app -> Voice API  DELETE stream",
        "app -> Voice API  PUT hangup",
        "vonage call over: the app hung up",
        "vonage -> app  event completed",
    ]
    assert [w for w in whats if not w.startswith("browser <-")] == expected
    assert timeline[0][0] == 0.0
    # The timeline prints hundredths of a second.
    assert 1.99 <= at(timeline, "app", "PUT hangup") - at(timeline, "app", "PUT stream") < 2.5
    # STREAM_SECONDS and the ring, and what a busy machine adds to a dozen requests between three processes.
    assert timeline[-1][0] < 2 + RING_SECONDS + BUSY_MACHINE_SECONDS
    assert "The call went as it should" in output


def test_a_callee_who_hangs_up_early_ends_the_demo_call_with_nothing_sent_after():
    status, timeline, output = run_demo("--stream-seconds", "5", "--callee-hangs-up-after", "1", "--signed")

    assert status == 0, output
    assert 0.99 <= at(timeline, "vonage", "the callee hung up after 1 s") - at(timeline, "vonage", "answered") < 1.5
    assert not any("DELETE stream" in what or "PUT hangup" in what for _, _, what in timeline)
    assert "(signed webhooks)" in output


def app_broken_by(tmp_path: Path, breakage: str) -> str:
    """A script that runs app.py as a user does, with `breakage` applied to it first."""
    script = tmp_path / "broken_app.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(PROJECT_DIR)!r})\n"
        "import flask\nimport app\nimport stream_audio.voice_requests\n"
        "build = app.create_app\n\n"
        "def create_app(settings=None):\n"
        "    flask_app = build(settings)\n"
        + textwrap.indent(textwrap.dedent(breakage), "    ")
        + "    return flask_app\n\n"
        "app.create_app = create_app\napp.main()\n"
    )
    return str(script)


def test_without_music_mp3_app_py_refuses_to_start_and_the_demo_says_why_and_exits_1(project):
    (project / "public" / "music.mp3").unlink()

    status, _, output = run_demo("--stream-seconds", "1", project=project)

    assert status == 1
    assert "PROBLEM: app.py did not start" in output
    assert "AUDIO 'music.mp3' cannot be read from public/" in output


def test_music_mp3_vanishing_once_the_app_runs_is_a_404_vonage_names_and_the_demo_exits_1(tmp_path):
    broken = app_broken_by(
        tmp_path,
        """
        @flask_app.before_request
        def music_gone():
            if flask.request.path == "/audio/music.mp3":
                flask.abort(404)
    """,
    )

    status, _, output = run_demo("--stream-seconds", "1", "--app", broken)

    assert status == 1
    assert "PROBLEM: fetching /audio/music.mp3 failed: it answered 404" in output


def test_audio_that_is_not_mp3_is_named_and_the_demo_exits_1(project):
    (project / "public" / "silence.mp3").write_text("<html>not audio</html>")

    status, _, output = run_demo("--stream-seconds", "1", project=project)

    assert status == 1
    assert "PROBLEM: /audio/silence.mp3 is not a playable MP3" in output


def test_an_ncco_that_fails_vonages_schema_is_named_and_the_demo_exits_1(tmp_path):
    broken = app_broken_by(
        tmp_path,
        """
        @flask_app.before_request
        def a_talk_without_text():
            if flask.request.path == "/audio/answer.json":
                return flask.jsonify([{"action": "talk"}])
    """,
    )

    status, _, output = run_demo("--stream-seconds", "1", "--app", broken)

    assert status == 1
    assert "PROBLEM: the answer NCCO fails Vonage's schema at 0: 'text' is a required property" in output


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [
        pytest.param("return flask.Response(status=500)", "answered 500 to started", id="answers 500"),
        pytest.param(
            "import time; time.sleep(10.5 if b'started' in flask.request.get_data() else 0)",
            "failed for started: it did not answer in time",
            id="slower than Vonage waits",
        ),
    ],
)
def test_an_event_webhook_vonage_would_give_up_on_is_named_and_the_demo_exits_1(tmp_path, breakage, problem):
    broken = app_broken_by(
        tmp_path,
        f"""
        @flask_app.before_request
        def a_broken_webhook():
            if flask.request.path == "/webhooks/events":
                {breakage}
    """,
    )

    # The callee hangs up a second after answering: the call need not run to length_timer for this to show.
    status, _, output = run_demo("--stream-seconds", "1", "--callee-hangs-up-after", "1", "--app", broken)

    assert status == 1
    assert f"PROBLEM: the event webhook /webhooks/events {problem}" in output


def test_an_app_that_never_hangs_up_is_ended_by_vonage_at_length_timer_and_the_demo_exits_1(tmp_path):
    broken = app_broken_by(
        tmp_path,
        """
        stream_audio.voice_requests.VoiceRequests.hang_up = lambda self, *_: stream_audio.voice_requests.Outcome(0)
    """,
    )

    status, timeline, output = run_demo("--stream-seconds", "1", "--app", broken)

    assert status == 1
    ended = at(timeline, "vonage", "call over: length_timer (11 s) passed")
    assert 10.99 <= ended - at(timeline, "vonage", "answered") < 11.5
    assert "PROBLEM: expected the app hung up, but the call ended because length_timer (11 s) passed" in output


def test_the_demo_plays_a_wav_the_user_chose_and_hangs_up_when_it_ends(project):
    write_wav(project / "public" / "message.wav", 1.0)

    status, timeline, output = run_demo("--audio", "public/message.wav", "--audio-level", "0.5", project=project)

    assert status == 0, output
    assert "plays for 2 s" in output  # 1 s of audio, played once, and a second for Vonage to fetch it
    assert at(timeline, "app", "PUT stream message.wav loop 1 level 0.5")
    assert at(timeline, "vonage", "fetched /audio/message.wav: WAV 8 kHz mono, 1.0 s")
    assert 1.99 <= at(timeline, "app", "PUT hangup") - at(timeline, "app", "PUT stream") < 2.5


def test_the_demo_refuses_a_file_outside_public_before_starting_anything(tmp_path):
    status, _, output = run_demo("--audio", str(tmp_path / "elsewhere.mp3"))

    assert status == 2
    assert "is not in" in output and "put the file there first" in output
