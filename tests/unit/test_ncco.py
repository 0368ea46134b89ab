"""The answer NCCO: built from BASE_URL, valid against Vonage's schema, and long enough."""

from __future__ import annotations

import jsonschema
import pytest

from stream_audio.ncco import answer_ncco
from tests.helpers import NCCO_SCHEMA


def test_the_ncco_validates_against_vonages_schema():
    jsonschema.validate(answer_ncco("https://abc123.ngrok.app"), NCCO_SCHEMA)


def test_the_schema_check_would_catch_a_broken_ncco():
    broken = [{"action": "stream", "streamUrl": "https://abc123.ngrok.app/audio/silence.mp3"}]

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, NCCO_SCHEMA)


def test_the_greeting_speaks_with_a_one_second_pause_in_a_current_voice():
    talk = answer_ncco("https://abc123.ngrok.app")[0]

    assert talk["action"] == "talk"
    assert talk["text"] == "<speak>Please hold to listen to some music.<break time='1s' /></speak>"
    assert talk["language"] == "en-US" and talk["style"] == 0
    assert "voiceName" not in talk


def test_the_silence_stream_comes_from_base_url_with_no_hand_editing():
    stream = answer_ncco("https://abc123.ngrok.app")[1]

    assert stream["action"] == "stream"
    assert stream["streamUrl"] == ["https://abc123.ngrok.app/audio/silence.mp3"]


def test_the_silence_loops_until_the_app_hangs_up_or_length_timer_ends_the_call():
    stream = answer_ncco("https://abc123.ngrok.app")[1]

    assert stream["loop"] == 0  # forever: the app's hang-up and the call's length_timer end it
