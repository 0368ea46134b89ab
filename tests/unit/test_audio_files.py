"""The MP3s in public/: real, phone-friendly files, and the generator in tools/ that rebuilds them."""

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
