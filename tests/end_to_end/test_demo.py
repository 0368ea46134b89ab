"""`make demo`: the whole call against a local Voice API that behaves like Vonage, with no account,
no .env and no network; each of its options, signed and unsigned (signing changes what the app
sends when a callee hangs up first); and README's sample, which must be what it prints."""

from __future__ import annotations

import re

import mutagen.mp3
import pytest

from app import PROJECT_DIR
from tests.end_to_end.helpers import at, run_demo
from tests.helpers import BUSY_MACHINE_SECONDS
from tools.demo import RING_SECONDS

UNTIL_THE_MUSIC = [
    "browser GET /call",
    "app -> Voice API  POST /v1/calls  to 447700900001 from 447700900000",
    "vonage -> app  event started / ringing",
    'vonage fetched /audio/answer.json: talk "Please hold ..." ; stream silence.mp3 (60 s x forever)',
    "vonage fetched /audio/silence.mp3: MP3 16 kHz mono, 60.1 s",
    "vonage -> app  event answered",
    "app -> Voice API  PUT stream music.mp3 loop 0",
    "vonage fetched /audio/music.mp3: MP3 16 kHz mono, 20.1 s",
]
THE_APP_HANGS_UP = [
    "app -> Voice API  DELETE stream",
    "app -> Voice API  PUT hangup",
    "vonage call over: the app hung up",
    "vonage -> app  event completed",
]


def steps(timeline: list[tuple[float, str, str]]) -> list[str]:
    """Who did what, in order, without the browser's answer (it names the call's uuid)."""
    return [f"{who} {what}" for _, who, what in timeline if not (who == "browser" and what.startswith("<-"))]


def test_with_signed_webhooks_the_demo_prints_the_whole_call_hung_up_on_time_by_the_app_and_exits_0():
    # The callee would hang up a second after the music's end: the app hangs up first, on time.
    status, timeline, output = run_demo("--stream-seconds", "2", "--callee-hangs-up-after", "3", "--signed")

    assert status == 0, output
    assert steps(timeline) == UNTIL_THE_MUSIC + THE_APP_HANGS_UP
    assert timeline[0][0] == 0.0
    # The timeline prints hundredths of a second.
    assert 1.99 <= at(timeline, "app", "PUT hangup") - at(timeline, "app", "PUT stream") < 2.5
    # STREAM_SECONDS and the ring, and what a busy machine adds to a dozen requests between three processes.
    assert timeline[-1][0] < 2 + RING_SECONDS + BUSY_MACHINE_SECONDS
    assert output.splitlines()[-1] == "The call went as it should."
    assert "(signed webhooks)" in output


def test_a_callee_who_hangs_up_early_is_sent_nothing_more_once_the_app_knows():
    status, timeline, output = run_demo("--stream-seconds", "5", "--callee-hangs-up-after", "1")

    assert status == 0, output
    # Unsigned, the app asks the Voice API whether the call is over before it believes the event
    # (signed, it asks nothing: tests/integration/test_vonage_around_a_call.py).
    checked = ["app -> Voice API  GET call  <- completed"]
    ending = ["vonage call over: the callee hung up after 1 s", "vonage -> app  event completed", *checked]
    assert steps(timeline) == UNTIL_THE_MUSIC + ending
    assert 0.99 <= at(timeline, "vonage", "the callee hung up after 1 s") - at(timeline, "vonage", "answered") < 1.5
    assert "PROBLEM" not in output


def test_signed_the_demo_plays_a_wav_the_user_chose_twice_at_the_level_asked_and_hangs_up_when_it_ends(project):
    status, timeline, output = run_demo(
        "--audio", "public/message.wav", "--audio-loop", "2", "--audio-level", "0.5", "--signed", project=project
    )

    assert status == 0, output
    assert "(signed webhooks)" in output
    assert "plays for 2.5 s" in output  # 0.75 s of audio, twice (auto), and a second for Vonage to fetch it
    assert at(timeline, "app", "PUT stream message.wav loop 2 level 0.5")
    assert at(timeline, "vonage", "fetched /audio/message.wav: WAV 8 kHz mono, 0.8 s")
    assert 2.49 <= at(timeline, "app", "PUT hangup") - at(timeline, "app", "PUT stream") < 3.0


def test_unsigned_audio_loop_plays_the_users_mp3_that_many_times_quieter_and_auto_waits_for_them_all(project):
    status, timeline, output = run_demo(
        "--audio",
        "public/message.mp3",
        "--audio-loop",
        "3",
        "--audio-level",
        "-0.3",
        "--stream-seconds",
        "auto",
        project=project,
    )

    assert status == 0, output
    assert "(signed webhooks)" not in output
    assert at(timeline, "app", "PUT stream message.mp3 loop 3 level -0.3")
    played = float(re.search(r"message\.mp3 plays for ([\d.]+) s", output)[1])
    once = mutagen.mp3.MP3(project / "public" / "message.mp3").info.length
    assert played == pytest.approx(3 * once + 1, abs=0.01)  # three times its length, and a second to fetch it
    assert played - 0.01 <= at(timeline, "app", "PUT hangup") - at(timeline, "app", "PUT stream") < played + 0.5


def test_the_demo_refuses_a_file_outside_public_before_starting_anything(tmp_path):
    status, _, output = run_demo("--audio", str(tmp_path / "elsewhere.mp3"))

    assert status == 2
    assert "is not in" in output and "put the file there first" in output


def test_readmes_sample_is_what_make_demo_prints_line_for_line_whatever_dotenv_says(project):
    readme = (PROJECT_DIR / "README.md").read_text()
    sample = re.search(r"`make demo` runs the real server.*?\n```\n(.*?)\n```", readme, re.DOTALL)[1]
    with (project / ".env").open("a") as dotenv:
        dotenv.write("AUDIO=message.wav\nSTREAM_SECONDS=30\nGREETING=Hello from my .env\n")

    status, timeline, output = run_demo(project=project)

    assert status == 0, output
    assert _aside(sample) == _aside(output.rstrip("\n"))
    # The demo's own settings, not .env: music.mp3 for 5 s after "Please hold ...", as the sample shows.
    assert output.splitlines()[0].endswith("; the demo's own settings, not .env.")
    assert steps(timeline) == UNTIL_THE_MUSIC + THE_APP_HANGS_UP
    assert timeline[0][0] == 0.0
    assert 4.99 <= at(timeline, "app", "PUT hangup") - at(timeline, "app", "PUT stream") < 5.5
    # STREAM_SECONDS and the ring, and what a busy machine adds to a dozen requests between three processes.
    assert timeline[-1][0] < 5 + RING_SECONDS + BUSY_MACHINE_SECONDS
    assert output.splitlines()[-1] == "The call went as it should."
    assert "(signed webhooks)" not in output


def _aside(printed: str) -> list[str]:
    """`printed` with what changes from run to run set aside: times, uuids and temporary paths."""
    printed = re.sub(r"^\+\d+\.\d\ds", "+T", printed, flags=re.MULTILINE)
    printed = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UUID", printed)
    return re.sub(r"/tmp/\S+", "TMP", printed).splitlines()
