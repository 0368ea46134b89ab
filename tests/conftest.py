"""Fixtures: a throw-away key pair and TLS certificate, the Voice API stand-in,
and the real app served over real HTTP on loopback, in this process or as `python app.py`."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from app import PROJECT_DIR
from tests.support import (
    API_KEY,
    API_SECRET,
    APPLICATION_ID,
    CHROMIUM,
    TO_NUMBER,
    VONAGE_NUMBER,
    Account,
    RunningApp,
    RunningProcess,
)
from tools.app_process import free_port, user_environment
from tools.credentials import ThrowAwayCredentials, throwaway_credentials
from tools.standins.application_api import ApplicationApiStandIn
from tools.standins.ngrok_agent import NgrokAgentStandIn
from tools.standins.numbers_api import NumbersApiStandIn, owned_number
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
    """A tab in a fresh browser profile: no cookie, so no token, until it opens the start-up link."""
    context = chromium.new_context(viewport={"width": 360, "height": 740})
    context.set_default_timeout(5000)
    yield context.new_page()
    context.close()


@pytest.fixture(autouse=True)
def info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


@pytest.fixture
def account() -> Account:
    """The call logic on a fake clock, with a fake Voice API: for the fast tests."""
    return Account()


@pytest.fixture(scope="session")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> ThrowAwayCredentials:
    """The application's key pair and the stand-in's TLS certificate, made for this run."""
    return throwaway_credentials(tmp_path_factory.mktemp("credentials"))


@pytest.fixture(autouse=True)
def trust_test_ca(monkeypatch: pytest.MonkeyPatch, credentials: ThrowAwayCredentials) -> None:
    """The SDK must trust the stand-in's throw-away CA, whatever this machine trusts."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(credentials.ca_path))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def voice_api(credentials: ThrowAwayCredentials) -> Iterator[VoiceApiStandIn]:
    standin = VoiceApiStandIn(APPLICATION_ID, credentials.public_pem, credentials.server_context)
    yield standin
    standin.close()


@pytest.fixture
def ngrok() -> Iterator[NgrokAgentStandIn]:
    """The ngrok agent's API on loopback, with no tunnels until the test opens some."""
    standin = NgrokAgentStandIn()
    yield standin
    standin.close()


@pytest.fixture
def env(credentials: ThrowAwayCredentials, voice_api: VoiceApiStandIn) -> dict[str, str]:
    """Settings as a user writes them in .env; BASE_URL is filled in per server."""
    return {
        "VONAGE_APPLICATION_ID": APPLICATION_ID,
        "VONAGE_APPLICATION_PRIVATE_KEY_PATH": str(credentials.private_key_path),
        "VONAGE_NUMBER": VONAGE_NUMBER,
        "TO_NUMBER": TO_NUMBER,
        "STREAM_SECONDS": "1",
        "VONAGE_API_HOST": voice_api.host,
        "VONAGE_API_TIMEOUT": "2",
    }


@pytest.fixture
def start_app(env: dict[str, str]) -> Iterator[Callable[..., RunningApp]]:
    """Start the app with `env` plus any overrides, e.g. start_app(STREAM_SECONDS="2"), serving
    `project_dir`'s public/ (the project's own by default)."""
    started: list[RunningApp] = []

    def start(project_dir: Path = PROJECT_DIR, **overrides: str) -> RunningApp:
        started.append(RunningApp({**env, **overrides}, project_dir))
        return started[-1]

    yield start
    for running in started:
        running.close()


@pytest.fixture
def running_app(start_app: Callable[..., RunningApp]) -> RunningApp:
    return start_app()


@pytest.fixture
def start_process(credentials, voice_api, tmp_path) -> Iterator[Callable[..., RunningProcess]]:
    """Start `python app.py` with a user's settings, plus any overrides."""
    started: list[RunningProcess] = []

    def start(**overrides: str) -> RunningProcess:
        port = free_port()
        env = user_environment(
            **{
                "VONAGE_APPLICATION_ID": APPLICATION_ID,
                "VONAGE_APPLICATION_PRIVATE_KEY_PATH": str(credentials.private_key_path),
                "VONAGE_NUMBER": f"+{VONAGE_NUMBER}",
                "TO_NUMBER": TO_NUMBER,
                "BASE_URL": f"http://127.0.0.1:{port}/",
                "PORT": str(port),
                "STREAM_SECONDS": "1",
                "VONAGE_API_HOST": voice_api.host,
                "VONAGE_API_SECRET": "api-s3cr3t",
                "CALL_TOKEN": "test-call-token",
                "REQUESTS_CA_BUNDLE": str(credentials.ca_path),
                **overrides,
            }
        )
        started.append(RunningProcess(env, tmp_path / f"app-{len(started)}.log"))
        assert started[-1].wait_until_serving(), f"app.py did not start serving:\n{started[-1].log()}"
        return started[-1]

    yield start
    for running in started:
        running.stop(signal.SIGKILL)


@pytest.fixture
def app_process(start_process) -> RunningProcess:
    return start_process()


@pytest.fixture
def application_api(credentials: ThrowAwayCredentials) -> Iterator[ApplicationApiStandIn]:
    """The account's Application API, with no application yet."""
    standin = ApplicationApiStandIn(API_KEY, API_SECRET, credentials.server_context)
    yield standin
    standin.close()


@pytest.fixture
def numbers_api(credentials: ThrowAwayCredentials) -> Iterator[NumbersApiStandIn]:
    """The account's Numbers API: it owns VONAGE_NUMBER, linked to no application. Tests may change `numbers`."""
    standin = NumbersApiStandIn(API_KEY, API_SECRET, credentials.server_context, [owned_number(VONAGE_NUMBER)])
    yield standin
    standin.close()
