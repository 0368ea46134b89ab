"""Every setting in one table, read in one loop, every problem reported together."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stream_audio.audio import Audio
from stream_audio.setting_values import (
    CALL_MARGIN_SECONDS,
    Unusable,
    above_zero,
    api_host,
    application_id,
    audio,
    between,
    call_token,
    callee_number,
    http_url,
    one_of,
    phone_number,
    private_key,
    public_url,
    spoken_text,
    stream_seconds,
    text,
    tts_language,
)

DEFAULT_GREETING = "<speak>Please hold to listen to some music.<break time='1s' /></speak>"


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
    inbound_calls: str = "music"

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
    Setting("VONAGE_APPLICATION_ID", "application_id", application_id, legacy_name="NEXMO_APPLICATION_ID"),
    Setting(
        "VONAGE_APPLICATION_PRIVATE_KEY_PATH",
        "private_key",
        private_key,
        "private.key",
        "NEXMO_APPLICATION_PRIVATE_KEY_PATH",
    ),
    Setting("VONAGE_NUMBER", "vonage_number", phone_number, legacy_name="NEXMO_NUMBER"),
    Setting("TO_NUMBER", "to_number", callee_number),
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
    Setting("CALL_TOKEN", "call_token", call_token, ""),
    Setting("VONAGE_SIGNATURE_SECRET", "signature_secret", text, ""),
    Setting("GREETING", "greeting", spoken_text, DEFAULT_GREETING, blank_is_a_value=True),
    Setting("GREETING_LANGUAGE", "greeting_language", tts_language, "en-US"),
    Setting("NGROK_API_URL", "ngrok_api_url", http_url, "http://127.0.0.1:4040/api"),
    # What someone who rings VONAGE_NUMBER hears: the music like a call the app placed, or one sentence.
    Setting("INBOUND_CALLS", "inbound_calls", one_of("music", "decline"), "music"),
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
