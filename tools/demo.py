"""`make demo`: the whole call, without a Vonage account or a network.

Starts `python app.py` and a local Voice API that behaves like Vonage from the outside,
opens /call as a browser would, and prints the call's life as a timeline. Exits 0 if
the call went as it should, 1 if Vonage would have found something wrong. With
--browser it places no call itself: it prints the link for a person to open, and keeps
serving (the callee answers each call after a second) until Ctrl-C.

    python -m tools.demo [--stream-seconds 5|auto] [--audio public/your.mp3] [--audio-level L]
                         [--audio-loop N] [--callee-hangs-up-after N] [--signed] [--browser]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from tools.app_process import PROJECT_DIR, AppProcess, free_port, user_environment
from tools.credentials import throwaway_credentials
from tools.standins.voice_api import VoiceApiStandIn
from tools.standins.vonage_calls import LikeVonage, Timeline

APPLICATION_ID = "de300000-0000-4000-8000-000000000000"
VONAGE_NUMBER = "447700900000"
TO_NUMBER = "447700900001"
SIGNATURE_SECRET = "demo-signature-secret-0123456789abcdef"
CALL_TOKEN = "demo-call-token-0123456789"
RING_SECONDS = 1.0


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    work = Path(tempfile.mkdtemp(prefix="stream-audio-demo-"))
    credentials = throwaway_credentials(work)
    # This process fetches from the app and the app calls the stand-in: both trust its CA.
    os.environ |= {"REQUESTS_CA_BUNDLE": str(credentials.ca_path), "NO_PROXY": "127.0.0.1,localhost"}
    secret = SIGNATURE_SECRET if options.signed else ""

    print(
        f"A call from {VONAGE_NUMBER} to {TO_NUMBER} playing {options.audio}, against a local Voice API that "
        f"behaves like Vonage{' (signed webhooks)' if secret else ''}.\n"
    )
    timeline = Timeline(lambda line: print(line, flush=True))
    standin = VoiceApiStandIn(APPLICATION_ID, credentials.public_pem, credentials.server_context)
    vonage = LikeVonage(standin, timeline, secret, RING_SECONDS, options.callee_hangs_up_after)
    port = free_port()
    env = user_environment(
        VONAGE_APPLICATION_ID=APPLICATION_ID,
        VONAGE_APPLICATION_PRIVATE_KEY_PATH=str(credentials.private_key_path),
        VONAGE_NUMBER=VONAGE_NUMBER,
        TO_NUMBER=TO_NUMBER,
        BASE_URL=f"http://127.0.0.1:{port}",
        PORT=str(port),
        STREAM_SECONDS=options.stream_seconds,
        VONAGE_API_HOST=standin.host,
        VONAGE_SIGNATURE_SECRET=secret,
        CALL_TOKEN=CALL_TOKEN,
        AUDIO=options.audio,
        AUDIO_LEVEL=options.audio_level,
        AUDIO_LOOP=options.audio_loop,
    )
    app = AppProcess(env, work / "app.log", options.app)
    try:
        if not app.wait_until_serving():
            last_lines = "\n".join(app.log().splitlines()[-8:])
            timeline.problem("demo", f"app.py did not start:\n{last_lines}")
        elif options.browser:
            serve_a_person(app)
        else:
            stream_seconds = place_call(timeline, port)
            patience = RING_SECONDS + (stream_seconds or 0) + 15
            if not vonage.wait_until_done(patience):
                timeline.problem("demo", f"the call had not ended {patience:g} s after it was placed")
            expected = "the callee hung up" if options.callee_hangs_up_after else "the app hung up"
            for why in vonage.endings:
                if not why.startswith(expected):
                    timeline.problem("demo", f"expected {expected}, but the call ended because {why}")
    finally:
        app.stop()
        standin.close()

    print()
    if timeline.problems:
        print(f"{len(timeline.problems)} problem(s), as Vonage would have failed:")
        for problem in timeline.problems:
            print(f"  - {problem}")
        print(f"The app's own log: {app.log_path}")
        return 1
    print(f"The call went as it should. The app's own log: {app.log_path}")
    return 0


def serve_a_person(app: AppProcess) -> None:
    """Keep the app and the stand-in serving while a person clicks through calls, until Ctrl-C."""
    link = app.start_up_link()
    print(
        f"\nOpen {link} in a browser to place a call and follow it on its page; "
        f"{link.split('/call?')[0]}/ places more. Ctrl-C stops.\n",
        flush=True,
    )
    try:
        app.process.wait()
    except KeyboardInterrupt:
        # The terminal's Ctrl-C reached app.py too: let it hang up what is in progress and exit.
        try:
            app.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo ARGS=...", description=__doc__.split("\n\n")[0])
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
        "--callee-hangs-up-after", type=positive, metavar="N", help="the callee hangs up N seconds after answering"
    )
    parser.add_argument(
        "--signed", action="store_true", help="Vonage signs every event and the app checks each signature"
    )
    parser.add_argument(
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


def place_call(timeline: Timeline, port: int) -> float | None:
    """Open /call as the browser does; how long the app says the audio will play, or None if it placed no call."""
    timeline.add("browser", "GET /call")
    answer = requests.get(f"http://127.0.0.1:{port}/call", params={"token": CALL_TOKEN}, timeout=15)
    if answer.status_code != 200:
        timeline.problem("browser", f"/call answered {answer.status_code}: {answer.text.strip()}")
        return None
    placed = answer.json()
    timeline.add(
        "browser", f"<- 200  call {placed['uuid']}: {placed['audio']} plays for {placed['stream_seconds']:g} s"
    )
    return placed["stream_seconds"]


if __name__ == "__main__":
    sys.exit(main())
