"""`python app.py`, started exactly as a user starts it, against the Voice API stand-in."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from app import PROJECT_DIR
from tests.conftest import APPLICATION_ID, TO_NUMBER, VONAGE_NUMBER

# Every setting is given, blank or not: the real environment wins over a developer's .env.
ALL_SETTINGS = ["VONAGE_APPLICATION_ID", "VONAGE_APPLICATION_PRIVATE_KEY_PATH", "VONAGE_NUMBER", "TO_NUMBER",
                "BASE_URL", "VONAGE_API_KEY", "VONAGE_API_SECRET", "PORT", "STREAM_SECONDS", "VONAGE_API_HOST",
                "VONAGE_API_TIMEOUT", "VONAGE_SIGNATURE_SECRET", "NEXMO_APPLICATION_ID",
                "NEXMO_APPLICATION_PRIVATE_KEY_PATH", "NEXMO_NUMBER", "NEXMO_API_KEY", "NEXMO_API_SECRET"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def user_environment(**settings: str) -> dict[str, str]:
    return {**os.environ, **dict.fromkeys(ALL_SETTINGS, ""), **settings}


class AppProcess:
    def __init__(self, env: dict[str, str], output: Path) -> None:
        self.output = output
        self._output_file = output.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=PROJECT_DIR, env=env, stdout=self._output_file, stderr=subprocess.STDOUT
        )
        self.url = env["BASE_URL"].rstrip("/")

    def wait_until_serving(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                requests.get(self.url + "/audio/answer.json", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError(f"app.py did not start serving within {timeout} s:\n{self.log()}")

    def wait_for_log(self, text: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert time.monotonic() < deadline, f"app.py logged no {text!r} within {timeout} s:\n{self.log()}"
            time.sleep(0.02)

    def vonage_sends(self, call_uuid: str, status: str) -> requests.Response:
        return requests.post(self.url + "/webhooks/events", json={"uuid": call_uuid, "status": status}, timeout=5)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=10)
        finally:
            self._output_file.close()

    def log(self) -> str:
        return self.output.read_text()


@pytest.fixture
def app_process(key_pair, tls, voice_api, tmp_path) -> Iterator[AppProcess]:
    port = free_port()
    env = user_environment(
        VONAGE_APPLICATION_ID=APPLICATION_ID,
        VONAGE_APPLICATION_PRIVATE_KEY_PATH=str(key_pair.private_key_path),
        VONAGE_NUMBER=f"+{VONAGE_NUMBER}",
        TO_NUMBER=TO_NUMBER,
        BASE_URL=f"http://127.0.0.1:{port}/",
        PORT=str(port),
        STREAM_SECONDS="1",
        VONAGE_API_HOST=voice_api.host,
        VONAGE_API_SECRET="api-s3cr3t",
        REQUESTS_CA_BUNDLE=str(tls.ca_path),
    )
    running = AppProcess(env, tmp_path / "app.log")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.stop()


def test_python_app_py_carries_a_call_from_the_browser_to_the_hang_up(app_process, voice_api):
    app_process.wait_until_serving()

    response = requests.get(app_process.url + "/call", timeout=10)
    assert response.status_code == 200, response.text
    call_uuid = response.json()["uuid"]
    [create] = voice_api.sent("create_call")
    assert create.body["from"] == {"type": "phone", "number": VONAGE_NUMBER}
    assert create.claims["application_id"] == APPLICATION_ID  # a valid RS256 JWT, checked by the stand-in

    ncco = requests.get(app_process.url + "/audio/answer.json", timeout=5).json()
    assert ncco[1]["streamUrl"] == [f"{app_process.url}/audio/silence.mp3"]
    for name in ("silence.mp3", "music.mp3"):
        audio = requests.get(f"{app_process.url}/audio/{name}", timeout=5)
        assert audio.status_code == 200 and audio.headers["Content-Type"] == "audio/mpeg"

    assert app_process.vonage_sends(call_uuid, "answered").status_code == 204
    assert app_process.vonage_sends(call_uuid, "answered").status_code == 204  # repeated: starts nothing
    [start] = voice_api.wait_for("start_stream", call_uuid=call_uuid)
    [hangup] = voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=4)
    [stop] = voice_api.sent("stop_stream", call_uuid)
    assert start.body == {"stream_url": [f"{app_process.url}/audio/music.mp3"], "loop": 0}
    assert 1.0 <= stop.at - start.at < hangup.at - start.at < 2.0
    assert app_process.vonage_sends(call_uuid, "completed").status_code == 204

    # A second call whose callee hangs up early, and an event for a call this app never placed.
    early_uuid = requests.get(app_process.url + "/call", timeout=10).json()["uuid"]
    app_process.vonage_sends(early_uuid, "answered")
    app_process.wait_for_log(f"call {early_uuid}: hang-up in")
    voice_api.callee_hangs_up(early_uuid)
    app_process.vonage_sends(early_uuid, "completed")
    assert app_process.vonage_sends("not-a-call-of-ours", "answered").status_code == 204
    time.sleep(1.5)
    assert [r.step for r in voice_api.received] == [
        "create_call", "start_stream", "stop_stream", "hangup", "create_call", "start_stream"
    ]
    assert voice_api.rejected == []

    assert app_process.stop(signal.SIGTERM) == 0
    log = app_process.log()
    assert f"call {call_uuid}: PUT hangup done" in log
    assert f"call {early_uuid}: completed; pending hang-up cancelled" in log
    assert "Traceback" not in log
    assert "PRIVATE KEY" not in log and "api-s3cr3t" not in log and "Bearer" not in log and "eyJ" not in log


def test_ctrl_c_stops_the_server_cleanly(app_process):
    app_process.wait_until_serving()

    assert app_process.stop(signal.SIGINT) == 0
    assert "Traceback" not in app_process.log()


def test_bad_settings_stop_start_up_with_one_readable_message_and_no_traceback(tmp_path):
    env = user_environment(
        VONAGE_APPLICATION_PRIVATE_KEY_PATH=str(tmp_path / "missing.key"),
        VONAGE_NUMBER="12",
        TO_NUMBER="447700900001",
        BASE_URL="ftp://example.com",
        STREAM_SECONDS="0",
        VONAGE_API_SECRET="api-s3cr3t",
    )

    finished = subprocess.run(
        [sys.executable, "app.py"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=30
    )

    assert finished.returncode == 2
    assert finished.stdout == ""
    message = finished.stderr
    assert message.startswith("Cannot start: 5 setting(s) need attention.")
    for name in ("VONAGE_APPLICATION_ID is not set", "VONAGE_APPLICATION_PRIVATE_KEY_PATH", "VONAGE_NUMBER '12'",
                 "BASE_URL 'ftp://example.com'", "STREAM_SECONDS '0'"):
        assert name in message
    assert ".env.example" in message
    assert "Traceback" not in message and "api-s3cr3t" not in message
