"""What the stream plays: a file in public/ (MP3, or 16-bit PCM WAV, the formats the
Voice API streams), known by its content and measured, or a URL Vonage fetches itself."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from werkzeug.security import safe_join

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
    path = public_file(public_dir, value)
    try:
        with path.open("rb") as file:
            content_type, seconds = _measure(file)
    except OSError as error:
        raise NotPlayable(f"cannot be read from public/ ({error.strerror or error})") from None
    return Audio(value, content_type, seconds)


def public_file(public_dir: Path, name: str) -> Path:
    """The real path of the file `name` names in `public_dir`, if it is a regular file really inside it:
    NotPlayable if `name` leads outside (by .., an absolute path, a dotfile or a symlink) or names a
    directory, a device or a pipe (which would block whoever reads it)."""
    root = public_dir.resolve()
    joined = safe_join(str(root), name)
    if joined is None or any(part.startswith(".") for part in name.split("/")):
        raise NotPlayable("leads outside public/: put the file in public/ and give its name, e.g. message.mp3")
    try:
        real = Path(joined).resolve(strict=True)
        kind = real.stat().st_mode
    except (OSError, ValueError) as error:  # ValueError: a NUL in the name
        raise NotPlayable(f"cannot be read from public/ ({getattr(error, 'strerror', None) or error})") from None
    except RuntimeError:  # Python before 3.13 says so of a link that leads back to itself
        raise NotPlayable("is a link that leads back to itself") from None
    if not real.is_relative_to(root):
        raise NotPlayable("is a link that leads outside public/: copy the file itself into public/")
    if any(part.startswith(".") for part in real.relative_to(root).parts):
        raise NotPlayable("is a link to a dotfile, and dotfiles are never served")
    if not stat.S_ISREG(kind):
        raise NotPlayable("is not a file but a directory, a device or a pipe")
    return real


def _measure(file) -> tuple[str, float]:
    # mutagen loads with the first file measured, at start-up: what imports the app (a test, a tool)
    # without reading settings does not wait for it.
    import mutagen.mp3
    import mutagen.wave

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
