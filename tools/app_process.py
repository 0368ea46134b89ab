"""`python app.py`, started as a user starts it: for the tests, `make bench` and `make demo`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from stream_audio.settings import ALL_NAMES, SETTINGS

PROJECT_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def user_environment(**settings: str) -> dict[str, str]:
    """This environment plus `settings`, every other setting blank (or its default, where blank means something).

    A variable that is set, even blank, wins over .env, so a developer's .env cannot
    change the run.
    """
    defaults = {s.name: s.default for s in SETTINGS if s.blank_is_a_value}
    return {**os.environ, **dict.fromkeys(ALL_NAMES, ""), **defaults, **settings}


class AppProcess:
    """`python app.py` with `env`: its log (standard error) in `log_path`, and what it prints for the
    person at the terminal (standard output: the start-up link, which holds the call token) beside it.
    In a `new_session`, a terminal's Ctrl-C reaches only whoever started it, who stops it with one
    signal: a second would cut its shutdown short."""

    def __init__(self, env: dict[str, str], log_path: Path, script: str = "app.py", new_session: bool = False) -> None:
        self.env = env
        self.log_path = log_path
        self.printed_path = log_path.with_suffix(".printed")
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_file = log_path.open("w")
        self._printed_file = self.printed_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, script],
            cwd=PROJECT_DIR,
            env=env,
            stdout=self._printed_file,
            stderr=self._log_file,
            start_new_session=new_session,
        )

    def wait_until_serving(self, timeout: float = 15) -> bool:
        """True once the server accepts connections; False if it exited or `timeout` passed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def log(self) -> str:
        return self.log_path.read_text()

    def printed(self) -> str:
        return self.printed_path.read_text()

    def start_up_link(self, timeout: float = 15) -> str:
        """The link app.py printed to open, once it has printed it; "" if it exited or `timeout` passed first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if (printed := self.printed()).endswith("\n"):
                return printed.strip()
            time.sleep(0.05)
        return ""

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 15) -> int:
        """Send `sig` and wait for the exit (killing it after `timeout`); the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
        finally:
            self._log_file.close()
            self._printed_file.close()
