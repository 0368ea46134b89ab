"""Fixtures every tier may use: a throw-away key pair and TLS certificate, a user's settings, a
clone of the project, the stand-ins for Vonage's APIs, and the real app served in this process."""

from __future__ import annotations

import functools
import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt.algorithms
import pytest

from app import PROJECT_DIR
from stream_audio.server import CLEANUP_SECONDS, IDLE_CLIENT_SECONDS
from tests.helpers import (
    ACCOUNT_DOTENV,
    API_KEY,
    API_SECRET,
    APPLICATION_ID,
    TO_NUMBER,
    VONAGE_NUMBER,
    write_mp3,
    write_wav,
)
from tests.integration.helpers import RunningApp, settings_left_to_dotenv
from tools.credentials import ThrowAwayCredentials, throwaway_credentials
from tools.standins.application_api import ApplicationApiStandIn
from tools.standins.ngrok_agent import NgrokAgentStandIn
from tools.standins.numbers_api import NumbersApiStandIn, owned_number
from tools.standins.voice_api import VoiceApiStandIn


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `long` go first: the workers take tests in this order, and one that waits out
    one of Vonage's ten-second timers near the end would keep the whole run waiting for it."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(autouse=True)
def info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


@pytest.fixture(scope="session", autouse=True)
def each_private_key_parsed_once() -> Iterator[None]:
    """PyJWT parses the PEM key each time it signs, and checks an RSA key as it does: some 50 ms of
    CPU for Vonage's 2048 bits. The app signs at start-up (to check its key) and for its first Voice
    API request, and the tests start hundreds of apps with one key: here each PEM is parsed once, so
    the same key signs the same JWTs. A PEM that fails to parse fails again each time, as it is not
    kept; `python app.py` and `make demo` run in processes of their own and parse as a user's do."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jwt.algorithms, "load_pem_private_key", functools.cache(jwt.algorithms.load_pem_private_key))
        yield


@pytest.fixture(scope="session")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> ThrowAwayCredentials:
    """The application's key pair and the stand-ins' TLS certificate, made for this run."""
    return throwaway_credentials(tmp_path_factory.mktemp("credentials"))


@pytest.fixture(autouse=True)
def trust_test_ca(monkeypatch: pytest.MonkeyPatch, credentials: ThrowAwayCredentials) -> None:
    """The SDK must trust the stand-ins' throw-away CA, whatever this machine trusts."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(credentials.ca_path))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def user_env(credentials: ThrowAwayCredentials) -> dict[str, str]:
    """The settings a user writes in .env to place calls; each test adds or overrides the rest."""
    return {
        "VONAGE_APPLICATION_ID": APPLICATION_ID,
        "VONAGE_APPLICATION_PRIVATE_KEY_PATH": str(credentials.private_key_path),
        "VONAGE_NUMBER": VONAGE_NUMBER,
        "TO_NUMBER": TO_NUMBER,
        "BASE_URL": "https://abc123.ngrok.app",
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh clone of the project, for a test to change: its public/ holds the user's own
    message.mp3 and message.wav beside the shipped audio, and its .env only the account's API
    key and secret, as before `python app.py setup`."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("app.py", "public", "stream_audio", "templates", "static", "tools"):
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, project / name)  # with its bytecode, still valid: copytree keeps mtimes
        else:
            shutil.copy(source, project / name)
    write_mp3(project / "public" / "message.mp3", 0.6)
    write_wav(project / "public" / "message.wav", 0.75)
    (project / ".env").write_text("\n".join(ACCOUNT_DOTENV) + "\n")
    return project


@pytest.fixture(scope="session")
def close_in_background() -> Iterator[Callable[[Callable[[], None]], None]]:
    """Close a stand-in without the test waiting for it: its server looks for the request to stop
    only every half second, which each of some two hundred tests would spend. All are closed by
    the end of the session."""
    closing: list[threading.Thread] = []

    def close(close_standin: Callable[[], None]) -> None:
        closing.append(threading.Thread(target=close_standin, name="closing-standin", daemon=True))
        closing[-1].start()

    yield close
    for thread in closing:
        thread.join()


@pytest.fixture
def voice_api(
    credentials: ThrowAwayCredentials, close_in_background: Callable[[Callable[[], None]], None]
) -> Iterator[VoiceApiStandIn]:
    standin = VoiceApiStandIn(APPLICATION_ID, credentials.public_pem, credentials.server_context)
    yield standin
    close_in_background(standin.close)


@pytest.fixture
def ngrok(close_in_background: Callable[[Callable[[], None]], None]) -> Iterator[NgrokAgentStandIn]:
    """The ngrok agent's API on loopback, with no tunnels until the test opens some."""
    standin = NgrokAgentStandIn()
    yield standin
    close_in_background(standin.close)


@pytest.fixture
def application_api(
    credentials: ThrowAwayCredentials, close_in_background: Callable[[Callable[[], None]], None]
) -> Iterator[ApplicationApiStandIn]:
    """The account's Application API, with no application yet."""
    standin = ApplicationApiStandIn(API_KEY, API_SECRET, credentials.server_context)
    yield standin
    close_in_background(standin.close)


@pytest.fixture
def numbers_api(
    credentials: ThrowAwayCredentials, close_in_background: Callable[[Callable[[], None]], None]
) -> Iterator[NumbersApiStandIn]:
    """The account's Numbers API: it owns VONAGE_NUMBER, linked to no application. Tests may change `numbers`."""
    standin = NumbersApiStandIn(API_KEY, API_SECRET, credentials.server_context, [owned_number(VONAGE_NUMBER)])
    yield standin
    close_in_background(standin.close)


@pytest.fixture
def account_apis_env(
    application_api: ApplicationApiStandIn, numbers_api: NumbersApiStandIn, credentials: ThrowAwayCredentials
) -> dict[str, str]:
    """Where the account's stand-ins are: the only settings `python app.py setup` does not find in .env."""
    return settings_left_to_dotenv(
        VONAGE_API_HOST=application_api.host,
        VONAGE_REST_HOST=numbers_api.host,
        REQUESTS_CA_BUNDLE=str(credentials.ca_path),
    )


@pytest.fixture
def start_app(user_env: dict[str, str], voice_api: VoiceApiStandIn) -> Iterator[Callable[..., RunningApp]]:
    """Start the app on the Voice API stand-in with any overrides, e.g. start_app(STREAM_SECONDS="2"),
    serving `project_dir`'s public/ (the project's own by default) and dropping clients idle for
    `idle_seconds` (python app.py's IDLE_CLIENT_SECONDS by default)."""
    env = {**user_env, "STREAM_SECONDS": "1", "VONAGE_API_HOST": voice_api.host, "VONAGE_API_TIMEOUT": "2"}
    started: list[RunningApp] = []

    def start(
        project_dir: Path = PROJECT_DIR,
        idle_seconds: int = IDLE_CLIENT_SECONDS,
        cleanup_seconds: int = CLEANUP_SECONDS,
        **overrides: str,
    ) -> RunningApp:
        started.append(RunningApp(env, project_dir, idle_seconds, cleanup_seconds, **overrides))
        return started[-1]

    yield start
    for running in started:
        running.close()


@pytest.fixture
def running_app(start_app: Callable[..., RunningApp]) -> RunningApp:
    return start_app()
