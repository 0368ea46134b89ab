"""What Vonage fetches from the app once a call is answered: the answer NCCO for this app's
own URL, and the MP3s in public/, served as Vonage's documentation recommends."""

from __future__ import annotations

import jsonschema
import pytest

from app import PROJECT_DIR
from stream_audio.ncco import answer_ncco
from tests.helpers import NCCO_SCHEMA


def test_the_app_serves_the_ncco_for_its_own_base_url(running_app):
    response = running_app.get("/audio/answer.json", params={"uuid": "abc", "to": "447700900001"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    ncco = response.json()
    jsonschema.validate(ncco, NCCO_SCHEMA)
    assert ncco == answer_ncco(running_app.url)
    assert ncco[1]["streamUrl"] == [f"{running_app.url}/audio/silence.mp3"]


@pytest.mark.parametrize("name", ["music.mp3", "silence.mp3"])
def test_the_app_serves_each_file_as_audio_mpeg_with_the_cache_header_vonage_recommends(running_app, name):
    response = running_app.get(f"/audio/{name}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert set(response.headers["Cache-Control"].split(", ")) == {"public", "max-age=360000"}
    assert response.content == (PROJECT_DIR / "public" / name).read_bytes()


def test_range_and_conditional_requests_are_honoured(running_app):
    whole = running_app.get("/audio/music.mp3")

    part = running_app.get("/audio/music.mp3", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == whole.content[100:200]

    again = running_app.get("/audio/music.mp3", headers={"If-None-Match": whole.headers["ETag"]})
    assert again.status_code == 304
