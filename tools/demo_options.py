"""`make demo`'s options: what the call plays and for how long, who hangs up, signed webhooks, a call to
the number, or a person at a browser. Each becomes one of the settings the demo gives app.py."""

from __future__ import annotations

import argparse
from pathlib import Path

from tools.app_process import PROJECT_DIR


def parse_arguments(argv: list[str] | None, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo ARGS=...", description=description)
    parser.add_argument(
        "--audio",
        type=in_public,
        metavar="FILE",
        help="what the stream plays: an MP3 or 16-bit PCM WAV in public/ (default public/music.mp3)",
    )
    parser.add_argument("--audio-level", default="0", metavar="L", help="its volume, -1 to 1 (default 0)")
    parser.add_argument(
        "--audio-loop", metavar="N", help="how many times to play it, 0 until the hang-up (default 1 with auto, else 0)"
    )
    parser.add_argument(
        "--stream-seconds",
        type=seconds_or_auto,
        metavar="S|auto",
        help="how long it plays before the app hangs up, or auto: as long as it lasts "
        "(default 5, 30 with --browser, or auto with --audio)",
    )
    parser.add_argument(
        "--callee-hangs-up-after",
        type=positive,
        metavar="N",
        help="the callee (with --inbound, the caller) hangs up N seconds after answering",
    )
    parser.add_argument(
        "--signed", action="store_true", help="Vonage signs every event and the app checks each signature"
    )
    who = parser.add_mutually_exclusive_group()
    who.add_argument(
        "--inbound", action="store_true", help="someone rings VONAGE_NUMBER, instead of the app ringing TO_NUMBER"
    )
    who.add_argument(
        "--browser",
        action="store_true",
        help="place no call: print the link for a person to open, and serve until Ctrl-C",
    )
    parser.add_argument(
        "--app",
        default="app.py",
        metavar="SCRIPT",
        help="the script to run instead of app.py, e.g. one that breaks it on purpose",
    )
    options = parser.parse_args(argv)
    if options.stream_seconds is None:
        # A person at the page needs time to press Stop music and Play music before the hang-up.
        options.stream_seconds = "auto" if options.audio else "30" if options.browser else "5"
    options.audio = options.audio or "music.mp3"
    if options.audio_loop is None:
        options.audio_loop = "1" if options.stream_seconds == "auto" else "0"
    return options


def in_public(text: str) -> str:
    """A path to a file in public/, as AUDIO takes it: its name there."""
    path = Path(text).resolve()
    if not path.is_relative_to(PROJECT_DIR / "public"):
        raise argparse.ArgumentTypeError(f"{text!r} is not in {PROJECT_DIR / 'public'}: put the file there first")
    return path.relative_to(PROJECT_DIR / "public").as_posix()


def seconds_or_auto(text: str) -> str:
    return "auto" if text.lower() == "auto" else f"{positive(text):g}"


def positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value
