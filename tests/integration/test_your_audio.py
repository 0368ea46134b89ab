"""The user's own audio, greeting and language, carried by the running app into the stream
request, the files it serves and the answer NCCO (start-up's checks of them are unit tests)."""

from __future__ import annotations

import shutil

import pytest
import requests

from stream_audio.setting_values import AUTO_GRACE_SECONDS


@pytest.mark.parametrize(("name", "content_type"), [("message.wav", "audio/wav"), ("message.mp3", "audio/mpeg")])
def test_the_users_file_is_streamed_at_their_level_and_loop_and_served_as_what_it_is(
    start_app, voice_api, project, name, content_type
):
    running = start_app(project, AUDIO=name, AUDIO_LEVEL="-0.4", AUDIO_LOOP="2", STREAM_SECONDS="1")
    call_uuid = running.place_call()

    running.vonage_sends(call_uuid, "answered")

    [start] = voice_api.wait_for("start_stream", call_uuid=call_uuid)
    assert start.body == {"stream_url": [f"{running.url}/audio/{name}"], "loop": 2, "level": -0.4}
    served = requests.get(start.body["stream_url"][0], timeout=5)
    assert served.status_code == 200 and served.headers["Content-Type"] == content_type
    assert served.content == (project / "public" / name).read_bytes()
    assert voice_api.rejected == []


def test_a_file_with_no_audio_name_is_served_by_its_content(start_app, project):
    shutil.copy(project / "public" / "message.wav", project / "public" / "ceo message")
    running = start_app(project, AUDIO="ceo message")

    served = running.get("/audio/ceo%20message")

    assert served.status_code == 200 and served.headers["Content-Type"] == "audio/wav"


def test_with_auto_the_call_is_hung_up_when_the_audio_has_played_through(start_app, voice_api, project):
    running = start_app(project, AUDIO="message.wav", AUDIO_LOOP="2", STREAM_SECONDS="auto")
    played = 2 * 0.75 + AUTO_GRACE_SECONDS
    call_uuid = running.place_call()

    running.vonage_sends(call_uuid, "answered")

    [start] = voice_api.wait_for("start_stream", call_uuid=call_uuid)
    [hangup] = voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=played + 3)
    assert start.body["loop"] == 2 and "level" not in start.body  # level 0 is the Voice API's default
    assert played <= hangup.at - start.at < played + 0.5


def test_an_https_url_reaches_the_stream_request_unchanged(start_app, voice_api):
    running = start_app(AUDIO="https://cdn.example.com/news.mp3", AUDIO_LOOP="1", STREAM_SECONDS="30")
    call_uuid = running.place_call()

    running.vonage_sends(call_uuid, "answered")

    [start] = voice_api.wait_for("start_stream", call_uuid=call_uuid)
    assert start.body == {"stream_url": ["https://cdn.example.com/news.mp3"], "loop": 1}


def test_call_says_what_plays_and_for_how_long(start_app, project):
    running = start_app(project, AUDIO="message.wav", AUDIO_LOOP="2", STREAM_SECONDS="auto")

    answer = running.get("/call").json()

    assert answer["audio"] == "message.wav"
    assert answer["stream_seconds"] == pytest.approx(2 * 0.75 + AUTO_GRACE_SECONDS)
    assert f"message.wav plays for {answer['stream_seconds']:g} s" in answer["message"]


def test_the_greeting_is_the_users_words_in_their_language(start_app):
    running = start_app(GREETING="Hello from Acme. Here is today's news.", GREETING_LANGUAGE="en-GB")

    ncco = running.get("/audio/answer.json").json()

    assert ncco[0] == {
        "action": "talk",
        "text": "Hello from Acme. Here is today's news.",
        "language": "en-GB",
        "style": 0,
    }
    assert ncco[1]["action"] == "stream"


def test_a_blank_greeting_leaves_only_the_silence_that_holds_the_line(start_app):
    running = start_app(GREETING="")

    ncco = running.get("/audio/answer.json").json()

    assert [action["action"] for action in ncco] == ["stream"]
