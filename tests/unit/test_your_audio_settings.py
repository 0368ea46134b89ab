"""The user's own audio: AUDIO, AUDIO_LEVEL, AUDIO_LOOP, STREAM_SECONDS=auto, GREETING and
GREETING_LANGUAGE, read at start-up, and each one that cannot work named in plain words."""

from __future__ import annotations

import os
import shutil

import mutagen.mp3
import pytest

from app import PROJECT_DIR
from stream_audio.setting_values import AUTO_GRACE_SECONDS
from stream_audio.settings import Settings
from tests.helpers import write_mp3, write_wav
from tests.unit.helpers import problems_with

# --- what start-up accepts --------------------------------------------------------------


def test_the_defaults_play_the_shipped_music_until_the_hang_up_after_a_greeting_in_us_english(user_env):
    settings = Settings.from_env(user_env)

    assert settings.audio.source == "music.mp3" and settings.audio.content_type == "audio/mpeg"
    assert settings.audio.seconds == pytest.approx(mutagen.mp3.MP3(PROJECT_DIR / "public" / "music.mp3").info.length)
    assert (settings.audio_level, settings.audio_loop, settings.stream_seconds) == (0, 0, 20)
    assert settings.greeting == "<speak>Please hold to listen to some music.<break time='1s' /></speak>"
    assert settings.greeting_language == "en-US"


def test_a_file_is_known_by_its_content_whatever_its_name(user_env, project):
    shutil.copy(project / "public" / "message.wav", project / "public" / "news")
    shutil.copy(project / "public" / "message.mp3", project / "public" / "jingle.wav")

    assert Settings.from_env({**user_env, "AUDIO": "news"}, project).audio.content_type == "audio/wav"
    assert Settings.from_env({**user_env, "AUDIO": "jingle.wav"}, project).audio.content_type == "audio/mpeg"


def test_auto_hangs_up_when_the_audio_has_played_audio_loop_times(user_env, project):
    wav = Settings.from_env({**user_env, "AUDIO": "message.wav", "AUDIO_LOOP": "3", "STREAM_SECONDS": "auto"}, project)
    mp3 = Settings.from_env({**user_env, "AUDIO": "message.mp3", "AUDIO_LOOP": "1", "STREAM_SECONDS": "AUTO"}, project)

    assert wav.stream_seconds == pytest.approx(3 * 0.75 + AUTO_GRACE_SECONDS)
    mp3_seconds = mutagen.mp3.MP3(project / "public" / "message.mp3").info.length
    assert mp3.stream_seconds == pytest.approx(mp3_seconds + AUTO_GRACE_SECONDS)
    assert mp3.length_timer == int(mp3.stream_seconds) + 1 + 10


def test_an_https_url_is_passed_to_vonage_as_it_is(user_env):
    settings = Settings.from_env({**user_env, "AUDIO": "https://cdn.example.com/news.mp3?v=2"})

    assert settings.audio.is_url and settings.audio.seconds is None
    assert settings.audio.url("https://abc123.ngrok.app") == "https://cdn.example.com/news.mp3?v=2"


def test_a_blank_greeting_means_none_and_a_british_voice_is_accepted(user_env):
    settings = Settings.from_env({**user_env, "GREETING": "", "GREETING_LANGUAGE": "en-GB"})

    assert settings.greeting == "" and settings.greeting_language == "en-GB"


# --- what start-up refuses, each in plain words --------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"AUDIO": "missing.mp3"}, "AUDIO 'missing.mp3' cannot be read from public/ (No such file or directory)"),
        ({"AUDIO": "notes.mp3"}, "AUDIO 'notes.mp3' is neither an MP3 nor a WAV file (judged by its content"),
        (
            {"AUDIO": "8-bit.wav"},
            "AUDIO '8-bit.wav' is a WAV file of 8-bit samples in format 1; the Voice API streams 16-bit PCM WAV",
        ),
        ({"AUDIO": "tag-only.mp3"}, "AUDIO 'tag-only.mp3' starts like an MP3 or WAV file but holds no playable audio"),
        ({"AUDIO": "../app.py"}, "AUDIO '../app.py' leads outside public/"),
        ({"AUDIO": "/etc/passwd"}, "AUDIO '/etc/passwd' leads outside public/"),
        ({"AUDIO": ".hidden.mp3"}, "AUDIO '.hidden.mp3' leads outside public/"),
        ({"AUDIO": "ftp://example.com/a.mp3"}, "AUDIO 'ftp://example.com/a.mp3' is not an http(s) URL"),
        ({"AUDIO_LEVEL": "1.5"}, "AUDIO_LEVEL '1.5' must be a number from -1 to 1"),
        ({"AUDIO_LEVEL": "-2"}, "AUDIO_LEVEL '-2' must be a number from -1 to 1"),
        ({"AUDIO_LEVEL": "loud"}, "AUDIO_LEVEL 'loud' must be a number from -1 to 1"),
        ({"AUDIO_LOOP": "-1"}, "AUDIO_LOOP '-1' must be a whole number from 0 to 1000"),
        ({"AUDIO_LOOP": "1.5"}, "AUDIO_LOOP '1.5' must be a whole number from 0 to 1000"),
        (
            {"STREAM_SECONDS": "auto"},
            "STREAM_SECONDS=auto cannot know when AUDIO_LOOP=0 (play until the hang-up) "
            "ends: set AUDIO_LOOP to how many times to play it, or STREAM_SECONDS to a number",
        ),
        (
            {"STREAM_SECONDS": "auto", "AUDIO": "https://cdn.example.com/a.mp3", "AUDIO_LOOP": "1"},
            "STREAM_SECONDS=auto cannot know how long a URL plays: set STREAM_SECONDS to a number of seconds",
        ),
        ({"STREAM_SECONDS": "auto", "AUDIO": "music.mp3", "AUDIO_LOOP": "1000"}, "STREAM_SECONDS=auto would play"),
        ({"GREETING": "x" * 1501}, "GREETING is 1501 characters long; the Voice API speaks at most 1500"),
        ({"GREETING_LANGUAGE": "english"}, "GREETING_LANGUAGE 'english' is not a language the Voice API speaks"),
    ],
    ids=lambda value: next(iter(value.values()))[:24] if isinstance(value, dict) else None,
)
def test_audio_settings_that_cannot_work_are_named_at_start_up(user_env, project, overrides, expected):
    (project / "public" / "notes.mp3").write_text("Dear customer, ...")
    write_wav(project / "public" / "8-bit.wav", 0.5, sample_width=1)
    (project / "public" / "tag-only.mp3").write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00")
    write_mp3(project / "public" / ".hidden.mp3", 0.5)

    [problem] = problems_with({**user_env, **overrides}, project)

    assert problem.startswith(expected)


def test_a_bad_audio_does_not_also_blame_auto_with_a_second_guess(user_env, project):
    problems = problems_with({**user_env, "AUDIO": "missing.mp3", "AUDIO_LOOP": "1", "STREAM_SECONDS": "auto"}, project)

    assert problems[0].startswith("AUDIO 'missing.mp3' cannot be read")
    assert problems[1] == (
        "STREAM_SECONDS=auto needs a usable AUDIO and AUDIO_LOOP: fix those, or set STREAM_SECONDS to a number"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notes.mp3", "AUDIO 'notes.mp3' is a link that leads outside public/: copy the file itself into public/"),
        ("albums", "AUDIO 'albums' is not a file but a directory, a device or a pipe"),
        ("live.mp3", "AUDIO 'live.mp3' is not a file but a directory, a device or a pipe"),
        ("loop.mp3", "AUDIO 'loop.mp3' "),
    ],
    ids=["a link out of public/", "a directory", "a pipe", "a link to itself"],
)
def test_audio_that_is_a_link_out_of_public_a_directory_or_a_pipe_is_refused_at_start_up(
    user_env, project, name, expected
):
    write_mp3(project / "elsewhere.mp3", 0.5)  # playable, but not in public/
    (project / "public" / "notes.mp3").symlink_to("../elsewhere.mp3")
    (project / "public" / "albums").mkdir()
    os.mkfifo(project / "public" / "live.mp3")  # opened, it would block start-up for good
    (project / "public" / "loop.mp3").symlink_to("loop.mp3")

    [problem] = problems_with({**user_env, "AUDIO": name}, project)

    assert problem.startswith(expected)


def test_audio_that_is_a_link_to_a_file_in_public_is_played(user_env, project):
    (project / "public" / "jingle.mp3").symlink_to("message.mp3")

    settings = Settings.from_env({**user_env, "AUDIO": "jingle.mp3"}, project)

    assert settings.audio.source == "jingle.mp3" and settings.audio.content_type == "audio/mpeg"
