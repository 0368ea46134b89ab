"""The answer NCCO: built from BASE_URL, valid against Vonage's schema, and long enough."""

from __future__ import annotations

import json

import jsonschema
import mutagen.mp3
import pytest

from app import CALL_MARGIN_SECONDS, PROJECT_DIR, PUBLIC_DIR, answer_ncco

NCCO_SCHEMA = json.loads((PROJECT_DIR / "tools" / "ncco-schema.json").read_text())
SILENCE_SECONDS = mutagen.mp3.MP3(PUBLIC_DIR / "silence.mp3").info.length


def test_the_ncco_validates_against_vonages_schema():
    jsonschema.validate(answer_ncco("https://abc123.ngrok.app", 20, SILENCE_SECONDS), NCCO_SCHEMA)


def test_the_schema_check_would_catch_a_broken_ncco():
    broken = [{"action": "stream", "streamUrl": "https://abc123.ngrok.app/audio/silence.mp3"}]

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, NCCO_SCHEMA)


def test_the_greeting_speaks_with_a_one_second_pause_in_a_current_voice():
    talk = answer_ncco("https://abc123.ngrok.app", 20, SILENCE_SECONDS)[0]

    assert talk["action"] == "talk"
    assert talk["text"] == "<speak>Please hold to listen to some music.<break time='1s' /></speak>"
    assert talk["language"] == "en-US" and talk["style"] == 0
    assert "voiceName" not in talk


def test_the_silence_stream_comes_from_base_url_with_no_hand_editing():
    stream = answer_ncco("https://abc123.ngrok.app", 20, SILENCE_SECONDS)[1]

    assert stream["action"] == "stream"
    assert stream["streamUrl"] == ["https://abc123.ngrok.app/audio/silence.mp3"]


@pytest.mark.parametrize("stream_seconds", [0.05, 1, 20, SILENCE_SECONDS - CALL_MARGIN_SECONDS, 55, 300, 3600, 7190])
def test_the_silence_keeps_the_call_open_for_the_whole_window_and_a_margin(stream_seconds):
    stream = answer_ncco("https://abc123.ngrok.app", stream_seconds, SILENCE_SECONDS)[1]

    open_for = stream["loop"] * SILENCE_SECONDS
    assert stream_seconds + CALL_MARGIN_SECONDS <= open_for < stream_seconds + CALL_MARGIN_SECONDS + SILENCE_SECONDS
    assert stream["loop"] >= 1  # 0 would mean forever


def test_the_app_serves_the_ncco_for_its_own_base_url(running_app):
    response = running_app.get("/audio/answer.json", params={"uuid": "abc", "to": "447700900001"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    ncco = response.json()
    jsonschema.validate(ncco, NCCO_SCHEMA)
    assert ncco == answer_ncco(running_app.url, running_app.settings.stream_seconds, SILENCE_SECONDS)
    assert ncco[1]["streamUrl"] == [f"{running_app.url}/audio/silence.mp3"]
