"""`python app.py` and `make demo` as processes, started as a user starts them, and the browser
that drives the call page: where to find what a person sees on it."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from playwright.sync_api import Locator, Page

from app import PROJECT_DIR
from tests.helpers import VONAGE_NUMBER, wait_until
from tests.integration.helpers import ServedApp
from tools.app_process import AppProcess, user_environment
from tools.standins.voice_api import VoiceApiStandIn

CHROMIUM = Path("/usr/bin/chromium")  # Debian's, which the call page's tests drive
DEMO_LINE = re.compile(r"^\+(\d+\.\d\d)s  (\w+) +(.*)$")
CALL_PAGE = re.compile(r"/calls/([A-Za-z0-9-]+)$")


def uuid_of(page: Page) -> str:
    """The uuid of the call whose page `page` shows."""
    return CALL_PAGE.search(page.url)[1]


def headline(page: Page) -> Locator:
    """The line that says where the call is, announced to screen readers as it changes."""
    return page.get_by_role("status").first


def answer_line(page: Page) -> Locator:
    """The line under the Message box: the app's answer to the last button pressed."""
    return page.get_by_role("status").nth(1)


def button(page: Page, name: str) -> Locator:
    return page.get_by_role("button", name=name, exact=True)


def timeline(page: Page) -> Locator:
    """Each step under "What happened"."""
    return page.get_by_role("list", name="What happened").get_by_role("listitem")


def caller_rings(running: ServedApp, voice_api: VoiceApiStandIn, caller: str) -> str:
    """`caller` rings VONAGE_NUMBER and is answered, as Vonage plays it: the answer NCCO fetched, then
    the answered event (signed when the app has a signature secret); the call's uuid."""
    call_uuid = voice_api.number_rung(caller, VONAGE_NUMBER)
    conversation = voice_api.conversation_of[call_uuid]
    where = {"uuid": call_uuid, "conversation_uuid": conversation, "to": VONAGE_NUMBER, "from": caller}
    assert requests.get(f"{running.url}/audio/answer.json", params=where, timeout=10).status_code == 200
    answered = running.vonage_sends(call_uuid, "answered", direction="inbound", **{"from": caller, "to": VONAGE_NUMBER})
    assert answered.status_code == 204
    return call_uuid


class RunningProcess(AppProcess, ServedApp):
    """`python app.py`, and Vonage's side of its webhooks."""

    @property
    def token(self) -> str:
        return self.env["CALL_TOKEN"]

    @property
    def signature_secret(self) -> str:
        return self.env.get("VONAGE_SIGNATURE_SECRET", "")

    def place_call(self) -> str:
        response = requests.get(self.link(), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["uuid"]

    def wait_for_log(self, text: str, timeout: float = 5.0) -> None:
        wait_until(lambda: text in self.log(), timeout, f"app.py logging {text!r}")

    def threads(self) -> int:
        """How many threads the app's process has now."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"^Threads:\s+(\d+)$", status, re.MULTILINE)[1])

    def callee_hangs_up(self, voice_api: VoiceApiStandIn, call_uuid: str, status: str = "completed") -> None:
        """The call ends on Vonage's side and Vonage says so; returns once the app has logged it."""
        voice_api.callee_hangs_up(call_uuid, status)
        assert self.vonage_sends(call_uuid, status).status_code == 204
        self.wait_for_log(f"call {call_uuid}: {status}")


class AnotherLocalSite:
    """Another server on loopback, on a port of its own, serving the pages a test writes into `pages`:
    what a red team's page looks like to the browser. Same host, another port: the same site, so
    the browser sends it this app's SameSite=Strict cookie, and sends this app that cookie for its requests."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="another-local-site", daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """Where `path` is; `host` localhost makes it another site to a page of 127.0.0.1."""
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        pages = self.pages

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args) -> None:
                pass  # pytest shows the app's log, not this site's

        return Page


def start_up(project: Path = PROJECT_DIR, **settings: str) -> subprocess.CompletedProcess:
    """`python app.py` in `project` with only `settings` set, for a start-up that should be refused."""
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=project,
        env=user_environment(**settings),
        capture_output=True,
        text=True,
        timeout=30,
    )


def run_demo(
    *args: str, project: Path = PROJECT_DIR, script: Path | None = None
) -> tuple[int, list[tuple[float, str, str]], str]:
    """`make demo ARGS=...` in `project` (or `script`, a demo broken on purpose): its exit status, its
    timeline (seconds, who, what) and all it printed."""
    command = [str(script)] if script else ["-m", "tools.demo"]
    finished = subprocess.run(
        [sys.executable, *command, *args], cwd=project, capture_output=True, text=True, timeout=60
    )
    timeline = [(float(m[1]), m[2], m[3]) for m in map(DEMO_LINE.match, finished.stdout.splitlines()) if m]
    return finished.returncode, timeline, finished.stdout + finished.stderr


def app_broken_by(tmp_path: Path, breakage: str) -> str:
    """A script that runs app.py as a user does, with `breakage` applied to it first (in create_app,
    where `flask_app` is the app)."""
    script = tmp_path / "broken_app.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(PROJECT_DIR)!r})\n"
        "import flask\nimport app\nimport stream_audio.voice_requests\n"
        "build = app.create_app\n\n"
        "def create_app(settings=None):\n"
        "    flask_app = build(settings)\n"
        + textwrap.indent(textwrap.dedent(breakage), "    ")
        + "    return flask_app\n\n"
        "app.create_app = create_app\napp.main()\n"
    )
    return str(script)


def demo_broken_by(tmp_path: Path, breakage: str) -> Path:
    """A script that runs `make demo`, with `breakage` applied to the demo or its stand-ins first."""
    script = tmp_path / "broken_demo.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(PROJECT_DIR)!r})\n"
        "from tools import demo\n" + textwrap.dedent(breakage) + "\nsys.exit(demo.main())\n"
    )
    return script


def children_of(pid: int) -> list[int]:
    """The processes `pid` started that are still running (or not yet reaped)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The second field, the command, is in parentheses and may hold spaces; the parent's pid follows its state.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def environment_of(pid: int) -> dict[str, str]:
    """The environment process `pid` was started with."""
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def at(timeline: list[tuple[float, str, str]], who: str, text: str) -> float:
    """When the first `who` line containing `text` was printed."""
    return next(t for t, w, what in timeline if w == who and text in what)
