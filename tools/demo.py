"""`make demo`: the whole call, without a Vonage account or a network.

Starts `python app.py` and a local Voice API that behaves like Vonage from the outside,
opens /call as a browser would, and prints the call's life as a timeline. Exits 0 if
the call went as it should, 1 if Vonage would have found something wrong.

    python -m tools.demo [--stream-seconds 5] [--callee-hangs-up-after N] [--signed]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import requests

from tools.app_process import AppProcess, free_port, user_environment
from tools.credentials import throwaway_credentials
from tools.like_vonage import LikeVonage, Timeline
from tools.voice_api_standin import VoiceApiStandIn

APPLICATION_ID = "demo0000-0000-4000-8000-000000000000"
VONAGE_NUMBER = "447700900000"
TO_NUMBER = "447700900001"
SIGNATURE_SECRET = "demo-signature-secret-0123456789abcdef"
CALL_TOKEN = "demo-call-token"
RING_SECONDS = 1.0


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    work = Path(tempfile.mkdtemp(prefix="stream-audio-demo-"))
    credentials = throwaway_credentials(work)
    # This process fetches from the app and the app calls the stand-in: both trust its CA.
    os.environ |= {"REQUESTS_CA_BUNDLE": str(credentials.ca_path), "NO_PROXY": "127.0.0.1,localhost"}
    secret = SIGNATURE_SECRET if options.signed else ""

    print(f"A call from {VONAGE_NUMBER} to {TO_NUMBER}, music for {options.stream_seconds:g} s, against a local "
          f"Voice API that behaves like Vonage{' (signed webhooks)' if secret else ''}.\n")
    timeline = Timeline(lambda line: print(line, flush=True))
    vonage = LikeVonage(timeline, secret, RING_SECONDS, options.callee_hangs_up_after)
    standin = VoiceApiStandIn(APPLICATION_ID, credentials.public_pem, credentials.server_context, vonage)
    port = free_port()
    env = user_environment(
        VONAGE_APPLICATION_ID=APPLICATION_ID, VONAGE_APPLICATION_PRIVATE_KEY_PATH=str(credentials.private_key_path),
        VONAGE_NUMBER=VONAGE_NUMBER, TO_NUMBER=TO_NUMBER, BASE_URL=f"http://127.0.0.1:{port}", PORT=str(port),
        STREAM_SECONDS=f"{options.stream_seconds:g}", VONAGE_API_HOST=standin.host, VONAGE_SIGNATURE_SECRET=secret,
        CALL_TOKEN=CALL_TOKEN,
    )
    app = AppProcess(env, work / "app.log", options.app)
    try:
        if not app.wait_until_serving():
            last_lines = "\n".join(app.log().splitlines()[-8:])
            timeline.problem("demo", f"app.py did not start:\n{last_lines}")
        else:
            place_call(timeline, port)
            patience = RING_SECONDS + options.stream_seconds + 15
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


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo ARGS=...", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream-seconds", type=positive, default=5.0, metavar="S",
                        help="how long the music plays before the app hangs up (default 5)")
    parser.add_argument("--callee-hangs-up-after", type=positive, metavar="N",
                        help="the callee hangs up N seconds after answering")
    parser.add_argument("--signed", action="store_true",
                        help="Vonage signs every event and the app checks each signature")
    parser.add_argument("--app", default="app.py", metavar="SCRIPT",
                        help="the script to run instead of app.py, e.g. one that breaks it on purpose")
    return parser.parse_args(argv)


def positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def place_call(timeline: Timeline, port: int) -> None:
    timeline.add("browser", "GET /call")
    answer = requests.get(f"http://127.0.0.1:{port}/call", params={"token": CALL_TOKEN}, timeout=15)
    if answer.status_code != 200:
        timeline.problem("browser", f"/call answered {answer.status_code}: {answer.text.strip()}")
        return
    timeline.add("browser", f"<- 200  call {answer.json()['uuid']}")


if __name__ == "__main__":
    sys.exit(main())
