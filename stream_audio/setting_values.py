"""How each kind of setting is read: the text the user wrote in, the value out, or Unusable saying why.

Each reader takes the text and, as keywords, the project folder and the values read so far
(STREAM_SECONDS=auto depends on AUDIO), and ignores what it does not need.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vonage_http_client import Auth
from vonage_voice import TtsLanguageCode

from stream_audio.audio import Audio, NotPlayable, choose

# Room after STREAM_SECONDS for the greeting and the Voice API's own latency: the call's
# length_timer ends it this long after the window, even if this app has died.
CALL_MARGIN_SECONDS = 10
MAX_LENGTH_TIMER_SECONDS = 7200
MAX_STREAM_SECONDS = MAX_LENGTH_TIMER_SECONDS - CALL_MARGIN_SECONDS
# With STREAM_SECONDS=auto: Vonage fetches the file before it plays, so the hang-up
# waits this long after the audio's own length, to keep the message's last words.
AUTO_GRACE_SECONDS = 1.0
# The Voice API's limit for text to speak, in the talk action and PUT /talk alike.
MAX_SPOKEN_CHARACTERS = 1500
PHONE_NUMBER = re.compile(r"[1-9][0-9]{6,14}")
API_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")
APPLICATION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# The token travels in the start-up link's query: characters that need no escaping there, and
# enough of them that guessing is hopeless (the generated one has 24).
CALL_TOKEN = re.compile(r"[A-Za-z0-9._~-]+")
LEAST_CALL_TOKEN_CHARACTERS = 16


class Unusable(ValueError):
    """Why one setting's text cannot be used, said after its name."""


def text(value: str, **_: Any) -> str:
    return value


def application_id(value: str, **_: Any) -> str:
    if not APPLICATION_ID.fullmatch(value):
        raise Unusable(
            f" {value!r} is not a Voice application's id, a UUID such as 0f1e2d3c-4b5a-4678-9abc-def012345678: "
            "copy it from the dashboard, or run `python app.py setup`"
        )
    return value


def call_token(value: str, **_: Any) -> str:
    """A token the user chose; never repeated in a message, since it is a secret."""
    if not value:
        return ""
    if not CALL_TOKEN.fullmatch(value):
        raise Unusable(
            " has a character that does not belong in a link: use only letters, digits and - . _ ~ "
            "(or leave it blank for a new token at each start)"
        )
    if len(value) < LEAST_CALL_TOKEN_CHARACTERS:
        raise Unusable(
            f" has {len(value)} character(s): use {LEAST_CALL_TOKEN_CHARACTERS} or more, which no stranger "
            "guesses (or leave it blank for a new token at each start)"
        )
    return value


def phone_number(value: str, **_: Any) -> str:
    digits = value.removeprefix("+")
    if not PHONE_NUMBER.fullmatch(digits):
        raise Unusable(
            f" {value!r} is not a phone number: use 7-15 digits in E.164 form, country code first, e.g. 447700900000"
        )
    return digits


def callee_number(value: str, values: dict[str, Any], **_: Any) -> str:
    number = phone_number(value)
    if number == values.get("vonage_number"):
        raise Unusable(f" {value!r} is VONAGE_NUMBER: the app would ring itself; set it to the phone to ring")
    return number


def one_of(*choices: str) -> Callable[..., str]:
    def read(value: str, **_: Any) -> str:
        if value.lower() not in choices:
            raise Unusable(f" {value!r} must be one of: {', '.join(choices)}")
        return value.lower()

    return read


def private_key(value: str, project_dir: Path, **_: Any) -> str:
    path = project_dir / value  # an absolute `value` stays as it is
    try:
        pem = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        why = getattr(error, "strerror", None) or "not a text file"
        raise Unusable(f": cannot read the private key at {path} ({why})") from None
    try:
        Auth(application_id="settings-check", private_key=pem).generate_application_jwt()
    # The SDK hands the key to PyJWT and cryptography, whose errors differ by what is
    # wrong with it; any of them means the file cannot sign Voice API requests.
    except Exception:
        raise Unusable(
            f": {path} is not a usable private key; expected the PEM file Vonage gave you, "
            "beginning -----BEGIN PRIVATE KEY-----"
        ) from None
    return pem


def public_url(value: str, **_: Any) -> str:
    if not value:
        return ""
    url = value.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise Unusable(f" {value!r} must be the public http(s) URL of this server, e.g. https://abc123.ngrok.app")
    return url


def http_url(value: str, **_: Any) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unusable(f" {value!r} must be an http(s) URL, e.g. http://127.0.0.1:4040/api")
    return value.rstrip("/")


def audio(value: str, project_dir: Path, **_: Any) -> Audio:
    try:
        return choose(value, project_dir / "public")
    except NotPlayable as why:
        raise Unusable(f" {value!r} {why}") from None


def spoken_text(value: str, **_: Any) -> str:
    if len(value) > MAX_SPOKEN_CHARACTERS:
        raise Unusable(f" is {len(value)} characters long; the Voice API speaks at most {MAX_SPOKEN_CHARACTERS}")
    return value


def tts_language(value: str, **_: Any) -> str:
    try:
        return TtsLanguageCode(value).value
    except ValueError:
        raise Unusable(
            f" {value!r} is not a language the Voice API speaks: use a code such as en-US, en-GB, fr-FR or de-DE"
        ) from None


def stream_seconds(value: str, values: dict[str, Any], **_: Any) -> float:
    if value.lower() != "auto":
        return above_zero(float, MAX_STREAM_SECONDS)(value)
    played, loop = values.get("audio"), values.get("audio_loop")
    if played is None or loop is None:
        raise Unusable("=auto needs a usable AUDIO and AUDIO_LOOP: fix those, or set STREAM_SECONDS to a number")
    if played.seconds is None:
        raise Unusable(
            "=auto cannot know how long a URL plays: set STREAM_SECONDS to a number of seconds, "
            "or AUDIO to a file in public/"
        )
    if loop == 0:
        raise Unusable(
            "=auto cannot know when AUDIO_LOOP=0 (play until the hang-up) ends: set AUDIO_LOOP to how "
            "many times to play it, or STREAM_SECONDS to a number of seconds"
        )
    seconds = played.seconds * loop + AUTO_GRACE_SECONDS
    if seconds > MAX_STREAM_SECONDS:
        raise Unusable(
            f"=auto would play {seconds:g} s, over the {MAX_STREAM_SECONDS} s a call may last: "
            "lower AUDIO_LOOP, or set STREAM_SECONDS to a number of seconds"
        )
    return seconds


def api_host(value: str, **_: Any) -> str:
    if not API_HOST.fullmatch(value):
        raise Unusable(f" {value!r} must be host[:port], without https://")
    return value


def _number(kind: type, value: str) -> float:
    """`value` as an int or float; NaN, which fails every range check, if it is not one."""
    try:
        return kind(value)
    except ValueError:
        return math.nan


def above_zero(kind: type, most: float) -> Callable[..., Any]:
    what = "a whole number" if kind is int else "a number"

    def read(value: str, **_: Any) -> Any:
        number = _number(kind, value)
        if not 0 < number <= most:
            raise Unusable(f" {value!r} must be {what} above 0 and at most {most:g}")
        return number

    return read


def between(kind: type, least: float, most: float) -> Callable[..., Any]:
    what = "a whole number" if kind is int else "a number"

    def read(value: str, **_: Any) -> Any:
        number = _number(kind, value)
        if not least <= number <= most:
            raise Unusable(f" {value!r} must be {what} from {least:g} to {most:g}")
        return number

    return read
