"""The two processes the bench drives, each apart from the load driver so that none shares its GIL:
the Voice API stand-in, and `python app.py` as a user starts it."""

from __future__ import annotations

import http.client
import json
import logging
import multiprocessing
import ssl
import time
from collections.abc import Callable
from pathlib import Path

from tools.app_process import AppProcess
from tools.standins.voice_api import VoiceApiStandIn

APPLICATION_ID = "be4c0000-0000-4000-8000-000000000000"
CALL_TOKEN = "bench-call-token-0123456789"


def _serve_standin(control, public_pem: str, ssl_context: ssl.SSLContext) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    standin = VoiceApiStandIn(APPLICATION_ID, public_pem, ssl_context)
    control.send(standin.host)
    while True:
        command, args = control.recv()
        if command == "close":
            standin.close()
            control.send(None)
            return
        if command == "arrivals":
            control.send([(r.step, r.call_uuid, r.at) for r in standin.received])
        elif command == "refused":
            control.send(len(standin.refused))
        else:
            control.send(getattr(standin, command)(*args))


class StandInProcess:
    def __init__(self, public_pem: str, ssl_context: ssl.SSLContext) -> None:
        self._control, child = multiprocessing.Pipe()
        # Forked, so the SSL context is inherited rather than pickled.
        self._process = multiprocessing.get_context("fork").Process(
            target=_serve_standin, args=(child, public_pem, ssl_context), daemon=True
        )
        self._process.start()
        self.host = self._control.recv()

    def __getattr__(self, command: str) -> Callable:
        def call(*args):
            self._control.send((command, args))
            return self._control.recv()

        return call

    def all_arrivals(self, step: str) -> dict[str, list[float]]:
        """When each of each call's `step` requests arrived (time.monotonic)."""
        self._control.send(("arrivals", ()))
        found: dict[str, list[float]] = {}
        for arrived_step, call_uuid, at in self._control.recv():
            if arrived_step == step:
                found.setdefault(call_uuid, []).append(at)
        return found

    def arrivals(self, step: str) -> dict[str, float]:
        """When each call's first `step` request arrived (time.monotonic)."""
        self._control.send(("arrivals", ()))
        found: dict[str, float] = {}
        for arrived_step, call_uuid, at in self._control.recv():
            if arrived_step == step:
                found.setdefault(call_uuid, at)
        return found


class BenchedApp(AppProcess):
    """`python app.py`, driven with http.client: lighter than requests, so the driver costs little."""

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body, {"Content-Type": "application/json"} if body else {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def place_call(self) -> str:
        """GET /call, waiting as told whenever the app says the account's call-creation limit is reached."""
        while (answer := self.request("GET", f"/call?token={CALL_TOKEN}"))[0] == 429:
            time.sleep(1)  # the app's Retry-After
        status, body = answer
        assert status == 200, body
        return json.loads(body)["uuid"]

    def send_event(self, call_uuid: str, status: str) -> float:
        """POST one event as Vonage does; the seconds until the app answered."""
        started = time.perf_counter()
        answer, _ = self.request("POST", "/webhooks/events", json.dumps({"uuid": call_uuid, "status": status}).encode())
        assert answer == 204, answer
        return time.perf_counter() - started

    def threads_and_rss_mb(self) -> tuple[int, float]:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines())
        return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024
