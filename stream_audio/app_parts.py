"""What create_app builds once and every route shares, kept on the Flask app as one object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from stream_audio.access import CallToken
from stream_audio.audio import Audio
from stream_audio.call_flow import CallFlow
from stream_audio.public_url import PublicUrl
from stream_audio.settings import Settings
from stream_audio.signatures import SignedEvents


@dataclass(frozen=True)
class AppParts:
    settings: Settings
    calls: CallFlow
    call_token: CallToken
    public_url: PublicUrl
    signed_events: SignedEvents | None  # None without VONAGE_SIGNATURE_SECRET
    public_dir: Path  # the audio Vonage fetches
    silence: Audio  # public/silence.mp3, measured: the answer NCCO loops it to hold the line

    def install(self, app: Flask) -> None:
        app.extensions["stream_audio"] = self


def parts(app: Flask | None = None) -> AppParts:
    """The parts of `app`, or of the app serving the current request."""
    return (app or current_app).extensions["stream_audio"]
