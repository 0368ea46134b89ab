"""`make demo`: the whole call, without a Vonage account or a network.

Starts `python app.py` and a local Voice API that behaves like Vonage from the outside,
opens /call as a browser would (or, with --inbound, rings the app's number as a caller
would), and prints the call's life as a timeline. Exits 0 if the call went as it should,
1 if Vonage would have found something wrong or anything failed. It gives app.py its own
settings, made from its options: it never reads .env. With --browser it places no call
itself: it prints the link for a person to open, and keeps serving (the callee answers
each call after a second) until Ctrl-C.

    python -m tools.demo [--stream-seconds 5|auto] [--audio public/your.mp3] [--audio-level L]
                         [--audio-loop N] [--callee-hangs-up-after N] [--signed] [--inbound | --browser]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from stream_audio.settings import Settings, SettingsError
from tools.app_process import PROJECT_DIR, AppProcess, free_port, user_environment
from tools.credentials import throwaway_credentials
from tools.demo_options import parse_arguments
from tools.standins.timeline import Timeline
from tools.standins.voice_api import VoiceApiStandIn
from tools.standins.vonage_calls import LikeVonage

APPLICATION_ID = "de300000-0000-4000-8000-000000000000"
VONAGE_NUMBER = "447700900000"
TO_NUMBER = "447700900001"
CALLER = "447700900002"  # who rings VONAGE_NUMBER with --inbound
SIGNATURE_SECRET = "demo-signature-secret-0123456789abcdef"
CALL_TOKEN = "demo-call-token-0123456789"
RING_SECONDS = 1.0
# How long app.py may take to let a call go once Vonage has said it is over: an unsigned status is checked first.
LET_GO_SECONDS = 5
SLICE_SECONDS = 0.2
OWN_SETTINGS = "the demo's own settings, not .env"
FROM_OPTIONS = (
    "the demo sets AUDIO, AUDIO_LEVEL, AUDIO_LOOP and STREAM_SECONDS from --audio, --audio-level, "
    "--audio-loop and --stream-seconds; it never reads .env"
)
TRACEBACK = re.compile(r"^Traceback \(most recent call last\):\n(?:[ \t].*\n)*(.*)$", re.MULTILINE)


class Stopped(BaseException):
    """SIGINT or SIGTERM reached the demo: like KeyboardInterrupt, no failure of the demo's own."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv, __doc__.split("\n\n")[0])
    for stopping in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stopping, _stop)
    timeline = Timeline(lambda line: print(line, flush=True))
    work = None
    try:
        print(f"{_what_it_plays(options)}; {OWN_SETTINGS}.\n", flush=True)
        work = Path(tempfile.mkdtemp(prefix="stream-audio-demo-"))
        app_log = run(options, timeline, work)
    except Stopped as stopped:
        print(f"\nStopped by {stopped}: app.py and the stand-ins are stopped.", flush=True)
        return 128 + stopped.signum
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    return _summary(timeline, app_log, options.browser)


def _summary(timeline: Timeline, app_log: str, browser: bool) -> int:
    print()
    if not timeline.problems:
        print("Every call went as it should." if browser else "The call went as it should.")
        return 0
    print(f"{len(timeline.problems)} problem(s):")
    for problem in timeline.problems:
        print(f"  - {problem}")
    if app_log:
        print("app.py's own log:\n" + "\n".join(f"  {line}" for line in app_log.splitlines()))
    return 1


def _stop(signum: int, _frame) -> None:
    # Once: what is started is stopped in order, and a second signal must not cut that short.
    for stopping in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stopping, signal.SIG_IGN)
    raise Stopped(signum)


def _what_it_plays(options: argparse.Namespace) -> str:
    if options.inbound:
        call = f"A call from {CALLER} to the app's number {VONAGE_NUMBER}"
    else:
        call = f"{'Calls' if options.browser else 'A call'} from {VONAGE_NUMBER} to {TO_NUMBER}"
    signed = " (signed webhooks)" if options.signed else ""
    return f"{call} playing {options.audio}, against a local Vonage{signed}"


def run(options: argparse.Namespace, timeline: Timeline, work: Path) -> str:
    """The app and the stand-ins, for one call or a person's clicks; app.py's log ("" if it never ran)."""
    credentials = throwaway_credentials(work)
    # This process fetches from the app and the app calls the stand-in: both trust its CA.
    os.environ |= {"REQUESTS_CA_BUNDLE": str(credentials.ca_path), "NO_PROXY": "127.0.0.1,localhost"}
    secret = SIGNATURE_SECRET if options.signed else ""
    port = free_port()
    standin = VoiceApiStandIn(APPLICATION_ID, credentials.public_pem, credentials.server_context)
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
    vonage = LikeVonage(standin, timeline, secret, RING_SECONDS, options.callee_hangs_up_after)
    app = None
    try:
        settings = _settings(env, timeline)
        if settings is None:
            return ""
        app = AppProcess(env, work / "app.log", options.app, new_session=True)
        if not app.wait_until_serving():
            timeline.problem("demo", "app.py did not start; its log is below")
        elif options.browser:
            serve_a_person(app, timeline)
        else:
            one_call(options, settings, vonage, app)
    except Exception as error:  # the demo's own failure is reported as any other problem, not as a traceback
        timeline.problem("demo", f"the demo itself failed: {type(error).__name__}: {error}")
    finally:
        vonage.app_stops()
        if app is not None:
            app.stop()
        standin.close()
    return _checked_log(app, timeline)


def _settings(env: dict[str, str], timeline: Timeline) -> Settings | None:
    """The settings app.py will read, or None (each problem on the timeline) if it would refuse them."""
    try:
        return Settings.from_env(env, PROJECT_DIR)
    except SettingsError as refused:
        for problem in refused.problems:
            timeline.problem("demo", problem)
        timeline.add("demo", FROM_OPTIONS)
        return None


def one_call(options: argparse.Namespace, settings: Settings, vonage: LikeVonage, app: AppProcess) -> None:
    """Place the call (or ring the number), wait for its end, and check it ended as it should."""
    timeline = vonage.timeline
    if options.inbound:
        vonage.ring_the_number(CALLER, VONAGE_NUMBER, app.url)
    else:
        place_call(timeline, app.url)
    patience = RING_SECONDS + settings.length_timer + 5  # Vonage ends it at length_timer, whatever the app does
    if not _in_slices(vonage.wait_until_done, patience):
        timeline.problem("demo", f"the call had not ended {patience:g} s after it began")
    for call_uuid in vonage.call_uuids:
        _until_the_app_lets_go(app.url, call_uuid, timeline)
    hangs_up_first = (
        options.callee_hangs_up_after is not None and options.callee_hangs_up_after <= settings.stream_seconds
    )
    person = "caller" if options.inbound else "callee"
    expected = f"the {person} hung up" if hangs_up_first else "the app hung up"
    for why in vonage.endings:
        if not why.startswith(expected):
            timeline.problem("demo", f"expected {expected}, but the call ended because {why}")


def _until_the_app_lets_go(app_url: str, call_uuid: str, timeline: Timeline) -> None:
    """Wait until app.py says the call is over (as its page does), so that stopping it hangs up nothing."""
    deadline = time.monotonic() + LET_GO_SECONDS
    while time.monotonic() < deadline:
        answer = requests.get(f"{app_url}/calls/{call_uuid}.json", params={"token": CALL_TOKEN}, timeout=5)
        if answer.status_code == 404 or answer.json()["ended"]:
            return
        time.sleep(0.05)
    timeline.problem("demo", f"app.py still treated call {call_uuid} as in progress {LET_GO_SECONDS} s after it ended")


def serve_a_person(app: AppProcess, timeline: Timeline) -> None:
    """Keep the app and the stand-in serving while a person clicks through calls, until Ctrl-C or SIGTERM."""
    link = app.start_up_link()
    print(
        f"\nOpen {link} in a browser to place a call and follow it on its page; "
        f"{link.split('/call?')[0]}/ places more. Ctrl-C stops.\n",
        flush=True,
    )
    try:
        _in_slices(lambda seconds: _exited(app, seconds), math.inf)
    except Stopped:
        return  # the way a person ends it
    timeline.problem("demo", f"app.py exited by itself, with status {app.process.returncode}")


def _exited(app: AppProcess, seconds: float) -> bool:
    try:
        app.process.wait(seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _in_slices(done: Callable[[float], bool], seconds: float) -> bool:
    """Whether `done(slice)`, waiting at most `slice`, came true within `seconds`. The kernel may hand
    SIGTERM to any thread: the signal handler runs in this one only once its wait ends, so it is kept short."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done(min(SLICE_SECONDS, deadline - time.monotonic())):
            return True
    return False


def _checked_log(app: AppProcess | None, timeline: Timeline) -> str:
    """app.py's log, each traceback in it a problem."""
    if app is None:
        return ""
    log = app.log()
    for last_line in TRACEBACK.findall(log):
        timeline.problem("demo", f"app.py logged a traceback: {last_line}")
    return log


def place_call(timeline: Timeline, app_url: str) -> None:
    """Open /call as the browser does."""
    timeline.add("browser", "GET /call")
    answer = requests.get(f"{app_url}/call", params={"token": CALL_TOKEN}, timeout=15)
    if answer.status_code != 200:
        timeline.problem("browser", f"/call answered {answer.status_code}: {answer.text.strip()}")
        return
    placed = answer.json()
    timeline.add(
        "browser", f"<- 200  call {placed['uuid']}: {placed['audio']} plays for {placed['stream_seconds']:g} s"
    )


if __name__ == "__main__":
    sys.exit(main())
