"""What the stream plays: a file in public/ (MP3, or 16-bit PCM WAV, the formats the
Voice API streams), known by its content and measured, or a URL Vonage fetches itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import mutagen
import mutagen.mp3
import mutagen.wave

MP3 = "audio/mpeg"
WAV = "audio/wav"
WAVE_FORMAT_PCM = 1


class NotPlayable(ValueError):
    """Why AUDIO cannot be streamed, in words that follow its value."""


@dataclass(frozen=True)
class Audio:
    source: str  # a file name under public/, or a URL
    content_type: str | None = None  # None for a URL: Vonage finds out itself
    seconds: float | None = None  # one play's length; None when it cannot be known (a URL)

    @property
    def is_url(self) -> bool:
        return self.content_type is None

    def url(self, base_url: str) -> str:
        """Where Vonage fetches it, for a call placed with `base_url`."""
        return self.source if self.is_url else f"{base_url}/audio/{quote(self.source)}"


def choose(value: str, public_dir: Path) -> Audio:
    """AUDIO as the user wrote it: a checked, measured file in `public_dir`, or an http(s) URL."""
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NotPlayable("is not an http(s) URL nor a file in public/: Vonage fetches http and https only")
        return Audio(value)
    path = public_dir / value
    if any(part.startswith(".") for part in Path(value).parts) or not path.resolve().is_relative_to(
        public_dir.resolve()
    ):
        raise NotPlayable("leads outside public/: put the file in public/ and give its name, e.g. message.mp3")
    try:
        with path.open("rb") as file:
            content_type, seconds = _measure(file)
    except OSError as error:
        raise NotPlayable(f"cannot be read from public/ ({error.strerror or error})") from None
    return Audio(value, content_type, seconds)


def _measure(file) -> tuple[str, float]:
    head = file.read(12)
    file.seek(0)
    try:
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            info = mutagen.wave.WAVE(file).info
            if info.audio_format != WAVE_FORMAT_PCM or info.bits_per_sample != 16:
                raise NotPlayable(
                    f"is a WAV file of {info.bits_per_sample}-bit samples in format {info.audio_format}; the Voice API "
                    "streams 16-bit PCM WAV (or MP3)"
                )
            content_type = WAV
        elif head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
            info = mutagen.mp3.MP3(file).info
            content_type = MP3
        else:
            raise NotPlayable("is neither an MP3 nor a WAV file (judged by its content, not its name)")
    except mutagen.MutagenError:
        raise NotPlayable("starts like an MP3 or WAV file but holds no playable audio") from None
    if not info.length > 0:
        raise NotPlayable("holds no audio: it plays for 0 s")
    return content_type, info.length
