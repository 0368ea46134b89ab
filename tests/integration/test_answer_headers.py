"""Every HTML answer, the app's own pages and redirects, its refusals, Flask's error pages and
waitress's own answers to malformed requests alike, may not be framed (a cross-site iframe of
/call rendered before), kept by a cache, sniffed as something else or told where it came from."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable

import pytest
import requests

from stream_audio import person_routes
from tests.integration.helpers import HTML, OPENED_BY_THE_PERSON, RunningApp
from tools.standins.voice_api import VoiceApiStandIn

Answer = requests.Response | http.client.HTTPResponse
# How each kind of answer is asked for: of the app, with the Voice API's stand-in and pytest's monkeypatch.
Ask = Callable[[RunningApp, VoiceApiStandIn, pytest.MonkeyPatch], Answer]


def raw(running: RunningApp, request: bytes) -> http.client.HTTPResponse:
    """Send `request` bytes as they are; waitress answers a malformed one itself."""
    connection = socket.create_connection(("127.0.0.1", running.settings.port), timeout=5)
    connection.sendall(request)
    answer = http.client.HTTPResponse(connection)
    answer.begin()
    answer.read()
    connection.close()
    return answer


def opened(running: RunningApp, path: str) -> requests.Response:
    return running.browser.get(running.url + path, headers=OPENED_BY_THE_PERSON, allow_redirects=False, timeout=10)


def stranger(running: RunningApp, method: str, path: str) -> requests.Response:
    return requests.request(method, running.url + path, headers={"Accept": HTML}, allow_redirects=False, timeout=10)


def a_crash(running: RunningApp, _voice_api, monkeypatch: pytest.MonkeyPatch) -> requests.Response:
    def broken(_uuid: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(person_routes, "call_view", broken)
    return opened(running, "/calls/any")


def too_many(running: RunningApp, *_) -> requests.Response:
    running.place_call()
    return opened(running, "/call")


def the_voice_api_failing(running: RunningApp, voice_api: VoiceApiStandIn, _monkeypatch) -> requests.Response:
    voice_api.misbehave("create_call", status=500)
    return opened(running, "/call")


ANSWERS: dict[str, tuple[int, Ask]] = {
    "the home page": (200, lambda running, *_: opened(running, "/")),
    "/call's 303 to the call's page": (303, lambda running, *_: opened(running, "/call")),
    "the Call button page": (
        200,
        lambda running, *_: running.browser.get(
            running.url + "/call", headers={**OPENED_BY_THE_PERSON, "Sec-Fetch-Site": "same-site"}, timeout=10
        ),
    ),
    "/call's 403 without the token": (403, lambda running, *_: stranger(running, "GET", "/call")),
    "/call's 429 beyond MAX_ACTIVE_CALLS": (429, too_many),
    "/call's 502 when the Voice API fails": (502, the_voice_api_failing),
    "HEAD /call's 405": (405, lambda running, *_: requests.head(running.url + "/call", timeout=10)),
    "a call page's 404": (404, lambda running, *_: opened(running, "/calls/no-such-call")),
    "Flask's 404": (404, lambda running, *_: stranger(running, "GET", "/no-such-page")),
    "Flask's 405": (405, lambda running, *_: stranger(running, "DELETE", "/")),
    "Flask's 500": (500, a_crash),
    "waitress's 400 for HTTP/2.0": (400, lambda running, *_: raw(running, b"GET / HTTP/2.0\r\n\r\n")),
    "waitress's 400 for TLS": (400, lambda running, *_: raw(running, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")),
    "waitress's 414": (414, lambda running, *_: raw(running, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n")),
    "waitress's 431": (
        431,
        lambda running, *_: raw(running, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 20000 + b"\r\n\r\n"),
    ),
}


@pytest.mark.parametrize("kind", ANSWERS)
def test_every_kind_of_html_answer_may_not_be_framed_kept_sniffed_or_referred(start_app, voice_api, monkeypatch, kind):
    running = start_app(MAX_ACTIVE_CALLS="1")
    status, ask = ANSWERS[kind]

    answer = ask(running, voice_api, monkeypatch)

    assert (answer.status if isinstance(answer, http.client.HTTPResponse) else answer.status_code) == status
    headers = answer.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_audio_keeps_the_caching_vonage_may_use(running_app):
    answer = requests.get(running_app.url + "/audio/music.mp3", timeout=10)

    assert answer.status_code == 200
    assert "max-age=360000" in answer.headers["Cache-Control"] and "no-store" not in answer.headers["Cache-Control"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
