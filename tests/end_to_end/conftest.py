"""Fixtures of the end-to-end tests alone: Chromium, and `python app.py` as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from app import PROJECT_DIR
from tests.end_to_end.helpers import CHROMIUM, AnotherLocalSite, RunningProcess, children_of
from tests.helpers import API_SECRET, CALL_TOKEN, VONAGE_NUMBER
from tools.app_process import free_port, user_environment
from tools.credentials import ThrowAwayCredentials
from tools.standins.voice_api import VoiceApiStandIn


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright: the call page's tests run in a real browser."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing, and CI must run the browser tests: apt-get install chromium")
        pytest.skip("the browser tests need Chromium: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A tab in a fresh browser profile, a phone's width: no cookie, so no token, until it opens the start-up link."""
    yield from _tab(chromium, 360)


@pytest.fixture(params=[1280, 360], ids=lambda width: f"{width}px")
def page_at_each_width(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab as `page` opens, at a laptop's width and at a phone's: a test taking it runs at each."""
    yield from _tab(chromium, request.param)


def _tab(chromium: Browser, width: int) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": width, "height": 740})
    context.set_default_timeout(5000)
    yield context.new_page()
    context.close()


@pytest.fixture
def another_local_site() -> Iterator[AnotherLocalSite]:
    """A second local server on its own port, with no pages until the test writes them."""
    site = AnotherLocalSite()
    yield site
    site.close()


@pytest.fixture
def start_process(
    user_env: dict[str, str], credentials: ThrowAwayCredentials, voice_api: VoiceApiStandIn, tmp_path: Path
) -> Iterator[Callable[..., RunningProcess]]:
    """Start `python app.py` on the Voice API stand-in with any overrides, e.g. start_process(STREAM_SECONDS="2")."""
    started: list[RunningProcess] = []

    def start(**overrides: str) -> RunningProcess:
        port = free_port()
        env = {
            **user_env,
            "VONAGE_NUMBER": f"+{VONAGE_NUMBER}",  # as a user may write it
            "BASE_URL": f"http://127.0.0.1:{port}/",
            "PORT": str(port),
            "STREAM_SECONDS": "1",
            "VONAGE_API_HOST": voice_api.host,
            "VONAGE_API_SECRET": API_SECRET,
            "CALL_TOKEN": CALL_TOKEN,
            "REQUESTS_CA_BUNDLE": str(credentials.ca_path),
            **overrides,
        }
        started.append(RunningProcess(user_environment(**env), tmp_path / f"app-{len(started)}.log"))
        # Well under a second alone; with two copies of the suite and two busy loops on two cores, once over 15 s.
        assert started[-1].wait_until_serving(timeout=45), f"app.py did not start serving:\n{started[-1].log()}"
        return started[-1]

    yield start
    for running in started:
        running.stop(signal.SIGKILL)


@pytest.fixture
def start_demo(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen, Path]]]:
    """Start `make demo ARGS=...` in a session of its own, as a terminal runs it: the process, and the
    file what it prints goes to. Whatever a test left running is killed after it, app.py included."""
    started: list[subprocess.Popen] = []

    def start(*args: str) -> tuple[subprocess.Popen, Path]:
        printed = tmp_path / f"demo-{len(started)}.out"
        with printed.open("w") as out:
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tools.demo", *args],
                    cwd=PROJECT_DIR,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        return started[-1], printed

    yield start
    for demo in started:
        if demo.poll() is None:
            for pid in [*children_of(demo.pid), demo.pid]:
                os.kill(pid, signal.SIGKILL)
            demo.wait()


@pytest.fixture
def app_process(start_process: Callable[..., RunningProcess]) -> RunningProcess:
    return start_process()
