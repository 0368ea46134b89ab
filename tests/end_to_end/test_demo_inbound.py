"""`make demo ARGS=--inbound`: someone rings VONAGE_NUMBER. Vonage fetches the answer NCCO for a call
to the number, posts started, ringing and answered with `direction: inbound`, and the app plays the
music and hangs up on time, as for a call it placed; unsigned, it first asks the Voice API whether
the call is real. Each case runs once, unsigned or signed; each runs both ways in this process, in
tests/integration/test_calls_to_the_number.py."""

from __future__ import annotations

from tests.end_to_end.helpers import at, run_demo

THE_CALLER_RINGS = [
    "vonage 447700900002 rings 447700900000",
    'vonage fetched /audio/answer.json: talk "Please hold ..." ; stream silence.mp3 (60 s x 1)',
    "vonage fetched /audio/silence.mp3: MP3 16 kHz mono, 60.1 s",
    "vonage -> app  event started / ringing / answered",
]
IS_IT_REAL = ["app -> Voice API  GET call  <- answered"]
THE_MUSIC = [
    "app -> Voice API  PUT stream music.mp3 loop 0",
    "vonage fetched /audio/music.mp3: MP3 16 kHz mono, 20.1 s",
]


def steps(timeline: list[tuple[float, str, str]]) -> list[str]:
    return [f"{who} {what}" for _, who, what in timeline]


def test_a_caller_hears_the_music_and_is_hung_up_stream_seconds_later():
    status, timeline, output = run_demo("--inbound", "--stream-seconds", "2")

    assert status == 0, output
    checked = IS_IT_REAL
    hung_up = [
        "app -> Voice API  DELETE stream",
        "app -> Voice API  PUT hangup",
        "vonage call over: the app hung up",
        "vonage -> app  event completed",
    ]
    assert steps(timeline) == THE_CALLER_RINGS + checked + THE_MUSIC + hung_up
    assert 1.99 <= at(timeline, "app", "PUT hangup") - at(timeline, "app", "PUT stream") < 2.5
    assert output.splitlines()[0].startswith("A call from 447700900002 to the app's number 447700900000")
    assert output.splitlines()[-1] == "The call went as it should."


def test_a_caller_who_hangs_up_first_is_sent_nothing_more_and_signed_events_need_no_check():
    status, timeline, output = run_demo(
        "--inbound", "--stream-seconds", "5", "--callee-hangs-up-after", "1", "--signed"
    )

    assert status == 0, output
    hung_up = ["vonage call over: the caller hung up after 1 s", "vonage -> app  event completed"]
    assert steps(timeline) == THE_CALLER_RINGS + THE_MUSIC + hung_up
