"""What every tier shares: one set of ids and numbers, one wait, the app's own log lines, and the
audio files a user might add to public/."""

from __future__ import annotations

import json
import logging
import math
import time
import wave
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app import PROJECT_DIR
from tools import make_audio

APPLICATION_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
CALL_TOKEN = "test-call-token-0123456789"
VONAGE_NUMBER = "447700900000"
TO_NUMBER = "447700900001"
SIGNATURE_SECRET = "sig-secret-0123456789abcdefghijklmnopqrstuv"
API_KEY = "abcd1234"
API_SECRET = "api-s3cr3t-0123456789"
# A clone's .env before `python app.py setup`: the account's API key and secret, and a comment of the user's.
ACCOUNT_DOTENV = [
    "# My Vonage account, from the dashboard",
    f"VONAGE_API_KEY={API_KEY}",
    f"VONAGE_API_SECRET={API_SECRET}",
]
APP_LOGGERS = ("app", "__main__", "stream_audio")
# What a busy machine may add to a real-time wait in a test over real sockets or processes, beyond
# the app's own timers: those are timed exactly on the fake clock (tests/unit), and any wait the app
# could add by mistake (a 10 s timeout, Vonage's length_timer) is longer than this.
BUSY_MACHINE_SECONDS = 3.0
NCCO_SCHEMA = json.loads((PROJECT_DIR / "tools" / "standins" / "ncco-schema.json").read_text())


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `condition` until it is truthy (and return it); fail the test naming `what` if it never is."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.01)
    return result


def app_records(caplog: pytest.LogCaptureFixture, level: int = logging.NOTSET) -> list[str]:
    """The messages the app itself has logged so far, at `level` or above."""
    return [r.getMessage() for r in caplog.records if r.name.split(".")[0] in APP_LOGGERS and r.levelno >= level]


def app_log(caplog: pytest.LogCaptureFixture) -> str:
    """Every line the app itself has logged so far."""
    return "\n".join(app_records(caplog))


def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 5.0) -> None:
    wait_until(lambda: text in app_log(caplog), timeout, f"a log line with {text!r}")


def write_wav(path: Path, seconds: float, sample_width: int = 2, rate: int = 8000) -> Path:
    """A mono WAV of a quiet 440 Hz tone, `sample_width` bytes a sample (2: 16-bit PCM, as the Voice API takes)."""
    frames = int(seconds * rate)
    samples = _tone(seconds, rate).tobytes() if sample_width == 2 else bytes(frames * sample_width)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(sample_width)
        out.setframerate(rate)
        out.writeframes(samples)
    return path


def write_mp3(path: Path, seconds: float) -> Path:
    """A mono MP3 of a quiet 440 Hz tone, `seconds` long, encoded as the project's own music is
    (tools/make_audio.py); synthesising that tune would cost a second of CPU in each test process."""
    path.write_bytes(make_audio.encode(_tone(seconds, make_audio.SAMPLE_RATE)))
    return path


def _tone(seconds: float, rate: int) -> array:
    """16-bit samples of a quiet 440 Hz tone."""
    return array("h", (int(3000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(seconds * rate))))
