"""`make demo` tells the truth: whatever Vonage would fail, a request to a call the app was told is
over, a traceback in app.py's log, and any failure of the stand-ins themselves is a `PROBLEM`, and
the demo exits 1. It runs against copies of the app (and of the demo) broken on purpose. Each other
thing Vonage's side finds wrong (audio it cannot play, a webhook answering 5xx or too slowly, a
request to a call that is over, an NCCO for a caller) is found in this process, with the app broken
the same way, in tests/integration/test_vonage_finds_problems.py: the demo prints whatever it finds."""

from __future__ import annotations

import pytest

from tests.end_to_end.helpers import app_broken_by, at, demo_broken_by, run_demo


def test_without_music_mp3_the_demo_names_the_setting_says_where_it_comes_from_and_exits_1(project):
    (project / "public" / "music.mp3").unlink()

    status, _, output = run_demo("--stream-seconds", "1", project=project)

    assert status == 1
    assert "PROBLEM: AUDIO 'music.mp3' cannot be read from public/" in output
    assert "the demo sets AUDIO, AUDIO_LEVEL, AUDIO_LOOP and STREAM_SECONDS from --audio" in output
    assert "in .env" not in output  # the demo never reads it: app.py's own advice would mislead


def test_audio_that_is_not_audio_is_named_before_anything_starts(project):
    (project / "public" / "notes.mp3").write_text("<html>not audio</html>")

    status, timeline, output = run_demo("--audio", "public/notes.mp3", project=project)

    assert status == 1
    assert "PROBLEM: AUDIO 'notes.mp3' is neither an MP3 nor a WAV file" in output
    assert not any(who == "app" for _, who, _ in timeline)


def test_a_silence_mp3_that_is_not_audio_stops_start_up_and_the_demo_shows_app_pys_log(project):
    (project / "public" / "silence.mp3").write_text("<html>not audio</html>")

    status, _, output = run_demo("--stream-seconds", "1", project=project)

    assert status == 1
    assert "PROBLEM: app.py did not start; its log is below" in output
    assert "app.py's own log:" in output
    assert "public/silence.mp3 is neither an MP3 nor a WAV file" in output


def test_an_ncco_that_fails_vonages_schema_is_named_and_the_call_fails(tmp_path):
    broken = app_broken_by(
        tmp_path,
        """
        @flask_app.before_request
        def a_talk_without_text():
            if flask.request.path == "/audio/answer.json":
                return flask.jsonify([{"action": "talk"}])
    """,
    )

    status, timeline, output = run_demo("--stream-seconds", "1", "--app", broken)

    assert status == 1
    assert "PROBLEM: the answer NCCO fails Vonage's schema at 0: 'text' is a required property" in output
    assert at(timeline, "vonage", "-> app  event failed")


@pytest.mark.long
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


def test_a_traceback_in_app_pys_log_is_a_problem_even_when_the_call_went_well(tmp_path):
    broken = app_broken_by(
        tmp_path,
        """
        import threading
        threading.Thread(target=lambda: 1 / 0, name="doomed").start()
    """,
    )

    status, _, output = run_demo("--stream-seconds", "1", "--app", broken)

    assert status == 1
    assert "PROBLEM: app.py logged a traceback: ZeroDivisionError: division by zero" in output
    assert "app.py's own log:" in output


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [
        pytest.param(
            """
            from tools.standins.voice_api import VoiceApiStandIn
            def broken(standin, call_uuid):
                raise KeyError("get_call")
            VoiceApiStandIn._call_details = broken
            """,
            "the Voice API stand-in failed on GET /v1/calls/",
            id="a route of the Voice API",
        ),
        pytest.param(
            """
            from tools.standins.vonage_fetches import Fetcher
            def broken(fetcher, url):
                raise RuntimeError("the audio check broke")
            Fetcher.audio = broken
            """,
            "the Vonage stand-in failed playing call ",
            id="Vonage playing the call",
        ),
    ],
)
def test_a_stand_in_that_fails_turns_the_demo_red_without_a_bare_traceback(tmp_path, breakage, problem):
    status, _, output = run_demo(
        "--stream-seconds", "2", "--callee-hangs-up-after", "1", script=demo_broken_by(tmp_path, breakage)
    )

    assert status == 1
    assert f"PROBLEM: {problem}" in output
    assert "Traceback" not in output
