"""`make demo` stops everything it started, however it is stopped: SIGTERM, or Ctrl-C at the terminal,
mid-call stops app.py (no orphan left listening) and the stand-ins, hangs up the call on the way out,
and removes its temporary folder, whose private key only its user could read meanwhile. With
--browser, Ctrl-C is how a person ends the demo."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from tests.end_to_end.helpers import children_of, environment_of
from tests.helpers import wait_until


def its_app_py(demo: subprocess.Popen) -> int:
    """app.py's pid, once the demo's child is app.py: just forked, it is still a copy of the demo,
    with the demo's environment (on a busy machine, long enough for a test to read it)."""
    [app_py] = wait_until(lambda: [pid for pid in children_of(demo.pid) if runs_app_py(pid)], 30, "app.py starting")
    return app_py


def runs_app_py(pid: int) -> bool:
    try:
        return "app.py" in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return False  # gone meanwhile


def listening(port: str) -> bool:
    try:
        socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    ("stop", "status", "said"),
    [
        pytest.param(lambda pid: os.kill(pid, signal.SIGTERM), 128 + signal.SIGTERM, "SIGTERM", id="SIGTERM"),
        # A terminal's Ctrl-C reaches every process of the foreground group: app.py is in a session of its own.
        pytest.param(lambda pid: os.killpg(pid, signal.SIGINT), 128 + signal.SIGINT, "SIGINT", id="Ctrl-C"),
    ],
)
def test_stopping_the_demo_mid_call_stops_app_py_hangs_up_and_removes_its_temporary_folder(
    start_demo, stop, status, said
):
    demo, printed = start_demo("--stream-seconds", "30")
    app_py = its_app_py(demo)
    app_env = environment_of(app_py)
    key = Path(app_env["VONAGE_APPLICATION_PRIVATE_KEY_PATH"])
    wait_until(lambda: "PUT stream" in printed.read_text(), 30, "the music starting")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    stop(demo.pid)

    assert demo.wait(timeout=30) == status
    output = printed.read_text()
    assert f"Stopped by {said}: app.py and the stand-ins are stopped." in output
    assert "PUT hangup" in output and "call over: the app hung up" in output  # app.py hung up on its way out
    assert app_py not in children_of(demo.pid) and not Path(f"/proc/{app_py}").exists()
    assert not listening(app_env["PORT"])
    assert not key.parent.exists()
    assert "PROBLEM" not in output and "Traceback" not in output


@pytest.mark.parametrize("signing", [[], ["--signed"]], ids=["unsigned", "signed"])
def test_with_browser_a_person_places_a_call_from_the_link_and_ctrl_c_ends_the_demo(start_demo, signing):
    demo, printed = start_demo("--browser", "--stream-seconds", "1", *signing)
    app_py = its_app_py(demo)
    assert bool(environment_of(app_py)["VONAGE_SIGNATURE_SECRET"]) == bool(signing)
    link = wait_until(
        lambda: re.search(r"Open (\S+/call\?token=\S+) in a browser", printed.read_text()), 30, "the link"
    )

    placed = requests.get(link[1], headers={"Accept": "application/json"}, timeout=10)
    assert placed.status_code == 200, placed.text
    wait_until(lambda: "event completed" in printed.read_text(), 15, "the call ending")
    os.killpg(demo.pid, signal.SIGINT)

    assert demo.wait(timeout=30) == 0
    output = printed.read_text()
    assert ("(signed webhooks)" in output) == bool(signing)
    assert "call over: the app hung up" in output
    assert output.splitlines()[-1] == "Every call went as it should."
    assert not Path(f"/proc/{app_py}").exists()
