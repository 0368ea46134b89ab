"""Every setting in one table, read in one loop, every problem reported together."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
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
DEFAULT_GREETING = "<speak>Please hold to listen to some music.<break time='1s' /></speak>"

PHONE_NUMBER = re.compile(r"[1-9][0-9]{6,14}")
API_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class SettingsError(Exception):
    """Every problem with the settings, reported together so one edit fixes them all."""

    def __init__(self, problems: list[str], cannot: str = "start") -> None:
        super().__init__(problems)
        self.problems = problems
        self.cannot = cannot

    def __str__(self) -> str:
        lines = [f"Cannot {self.cannot}: {len(self.problems)} setting(s) need attention."]
        lines += [f"  - {problem}" for problem in self.problems]
        lines.append("Set them in the environment or in .env (see .env.example for each one).")
        return "\n".join(lines)


class Unusable(ValueError):
    """Why one setting's text cannot be used, said after its name."""


@dataclass(frozen=True)
class Settings:
    application_id: str
    private_key: str = field(repr=False)
    vonage_number: str
    to_number: str
    audio: Audio
    base_url: str = ""  # empty: ask the ngrok agent each time
    audio_level: float = 0.0
    audio_loop: int = 0
    stream_seconds: float = 20.0
    port: int = 3000
    api_host: str = "api.nexmo.com"
    api_timeout: int = 10
    ringing_timer: int = 60
    max_active_calls: int = 10
    calls_per_second: int = 3
    requests_per_second: int = 15
    call_token: str = field(default="", repr=False)
    signature_secret: str = field(default="", repr=False)
    greeting: str = DEFAULT_GREETING
    greeting_language: str = "en-US"
    ngrok_api_url: str = "http://127.0.0.1:4040/api"

    @classmethod
    def from_env(cls, env: Mapping[str, str], project_dir: Path | None = None) -> Settings:
        """Read every setting from `env`, raising SettingsError that names each bad one."""
        return cls(**read_settings(SETTINGS, env, project_dir))

    @property
    def length_timer(self) -> int:
        """Seconds Vonage lets the call run after `answered`, even if this app dies."""
        return math.ceil(self.stream_seconds) + CALL_MARGIN_SECONDS

    @property
    def longest_call(self) -> int:
        """Seconds after placing it by which Vonage has ended a call, whatever events were lost."""
        return self.ringing_timer + self.length_timer


# --- How each kind of setting is read: the text in, the value out, or Unusable --------


def text(value: str, **_: Any) -> str:
    return value


def phone_number(value: str, **_: Any) -> str:
    digits = value.removeprefix("+")
    if not PHONE_NUMBER.fullmatch(digits):
        raise Unusable(
            f" {value!r} is not a phone number: use 7-15 digits in E.164 form, country code first, e.g. 447700900000"
        )
    return digits


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


@dataclass(frozen=True)
class Setting:
    name: str
    field: str
    read: Callable[..., Any]
    default: str | None = None  # None: the user must set it
    legacy_name: str | None = None  # the original blog post's name, still honoured
    blank_is_a_value: bool = False  # set but blank means "" (e.g. no greeting), not the default

    def text_in(self, env: Mapping[str, str]) -> str:
        """What the user set, under this name or its legacy one; blank if neither."""
        return (env.get(self.name) or env.get(self.legacy_name or "", "") or "").strip()


SETTINGS = (
    Setting("VONAGE_APPLICATION_ID", "application_id", text, legacy_name="NEXMO_APPLICATION_ID"),
    Setting(
        "VONAGE_APPLICATION_PRIVATE_KEY_PATH",
        "private_key",
        private_key,
        "private.key",
        "NEXMO_APPLICATION_PRIVATE_KEY_PATH",
    ),
    Setting("VONAGE_NUMBER", "vonage_number", phone_number, legacy_name="NEXMO_NUMBER"),
    Setting("TO_NUMBER", "to_number", phone_number),
    Setting("BASE_URL", "base_url", public_url, ""),
    Setting("AUDIO", "audio", audio, "music.mp3"),
    Setting("AUDIO_LEVEL", "audio_level", between(float, -1, 1), "0"),
    Setting("AUDIO_LOOP", "audio_loop", between(int, 0, 1000), "0"),
    Setting("STREAM_SECONDS", "stream_seconds", stream_seconds, "20"),
    Setting("PORT", "port", above_zero(int, 65535), "3000"),
    Setting("VONAGE_API_HOST", "api_host", api_host, "api.nexmo.com"),
    Setting("VONAGE_API_TIMEOUT", "api_timeout", above_zero(int, 120), "10"),
    Setting("RINGING_TIMER", "ringing_timer", above_zero(int, 120), "60"),
    Setting("MAX_ACTIVE_CALLS", "max_active_calls", above_zero(int, 10000), "10"),
    # The account's Voice API limits: Vonage answers 429 beyond them and queues nothing.
    Setting("VONAGE_CALLS_PER_SECOND", "calls_per_second", above_zero(int, 1000), "3"),
    Setting("VONAGE_REQUESTS_PER_SECOND", "requests_per_second", above_zero(int, 1000), "15"),
    Setting("CALL_TOKEN", "call_token", text, ""),
    Setting("VONAGE_SIGNATURE_SECRET", "signature_secret", text, ""),
    Setting("GREETING", "greeting", spoken_text, DEFAULT_GREETING, blank_is_a_value=True),
    Setting("GREETING_LANGUAGE", "greeting_language", tts_language, "en-US"),
    Setting("NGROK_API_URL", "ngrok_api_url", http_url, "http://127.0.0.1:4040/api"),
)
# What only `python app.py setup` uses: the account's API key and secret, and the Numbers API's host.
ACCOUNT_SETTINGS = (
    Setting("VONAGE_API_KEY", "api_key", text, legacy_name="NEXMO_API_KEY"),
    Setting("VONAGE_API_SECRET", "api_secret", text, legacy_name="NEXMO_API_SECRET"),
    Setting("VONAGE_REST_HOST", "rest_host", api_host, "rest.nexmo.com"),
)
# Every name a user may set, for whoever must clear them all (the tests, the demo).
ALL_NAMES = tuple(name for s in (*SETTINGS, *ACCOUNT_SETTINGS) for name in (s.name, s.legacy_name) if name)


def read_settings(
    rows: Iterable[Setting],
    env: Mapping[str, str],
    project_dir: Path | None = None,
    optional: Collection[str] = (),
    cannot: str = "start",
) -> dict[str, Any]:
    """Read `rows` from `env` as {field: value}, raising SettingsError that names each bad one.

    A row named in `optional` that is not set reads as None rather than as a problem.
    """
    values: dict[str, Any] = {}
    # `values` lets a setting depend on those above it in the table (STREAM_SECONDS=auto on AUDIO).
    context = {"project_dir": project_dir or Path(__file__).resolve().parent.parent, "values": values}
    problems: list[str] = []
    for setting in rows:
        text = setting.text_in(env)
        if not text and setting.default is None:
            if setting.name in optional:
                values[setting.field] = None
            else:
                problems.append(f"{setting.name} is not set")
            continue
        if not text and setting.blank_is_a_value and setting.name in env:
            values[setting.field] = ""
            continue
        try:
            values[setting.field] = setting.read(text or setting.default, **context)
        except Unusable as why:
            problems.append(f"{setting.name}{why}")
    if problems:
        raise SettingsError(problems, cannot)
    return values
