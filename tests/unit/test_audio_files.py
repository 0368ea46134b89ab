"""The MP3s in public/: real, phone-friendly files, served the way Vonage fetches them."""

from __future__ import annotations

import runpy

import mutagen.mp3
import pytest

from app import PROJECT_DIR

AUDIO_FILES = ["music.mp3", "silence.mp3"]


@pytest.mark.parametrize("name", AUDIO_FILES)
def test_each_file_is_a_small_mono_mp3_suited_to_a_phone_line(name):
    info = mutagen.mp3.MP3(PROJECT_DIR / "public" / name).info

    assert info.channels == 1
    assert info.sample_rate in (16000, 22050)
    assert 32000 <= info.bitrate <= 64000
    assert (PROJECT_DIR / "public" / name).stat().st_size < 500 * 1024


def test_the_music_is_long_enough_to_be_a_tune_and_the_silence_long_enough_to_loop_rarely():
    assert mutagen.mp3.MP3(PROJECT_DIR / "public" / "music.mp3").info.length >= 10
    assert mutagen.mp3.MP3(PROJECT_DIR / "public" / "silence.mp3").info.length >= 30


@pytest.mark.parametrize("name", AUDIO_FILES)
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


def test_the_generator_in_tools_rebuilds_both_files(tmp_path):
    make_audio = runpy.run_path(str(PROJECT_DIR / "tools" / "make_audio.py"))

    make_audio["main"](tmp_path)

    for name in AUDIO_FILES:
        rebuilt, shipped = mutagen.mp3.MP3(tmp_path / name).info, mutagen.mp3.MP3(PROJECT_DIR / "public" / name).info
        assert (rebuilt.channels, rebuilt.sample_rate, rebuilt.bitrate) == (
            shipped.channels,
            shipped.sample_rate,
            shipped.bitrate,
        )
        assert rebuilt.length == pytest.approx(shipped.length, abs=0.1)
