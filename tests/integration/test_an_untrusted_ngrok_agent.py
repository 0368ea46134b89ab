"""Whatever answers at NGROK_API_URL is not trusted: its public URL becomes every answer_url and
event_url Vonage is given. A tunnel counts only if it is https, at exactly https://host[:port],
forwarding to this app's port on this machine; the answer must come whole within 2 s and 64 KiB;
a redirect is not followed. Anything else is the same readable 503, and no call is placed."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from stream_audio.ngrok_tunnels import MOST_ANSWER_BYTES, NGROK_DEADLINE_SECONDS
from stream_audio.public_url import MOST_WAITING
from tests.helpers import TO_NUMBER
from tools.standins.ngrok_agent import NgrokAgentStandIn, tunnel

GOOD = "https://first-1234.ngrok-free.app"
# A byte every 1.5 s: each read is quick enough for a per-read timeout of 2 s, the whole far too slow.
TRICKLE_SECONDS = 1.5
# Generous for a loaded machine, and far below what the trickled answer takes (about 40 s).
PROMPT_REFUSAL_SECONDS = NGROK_DEADLINE_SECONDS + 2


@pytest.fixture
def app_via_ngrok(start_app, ngrok):
    """The app with BASE_URL unset, and ngrok forwarding GOOD to its port."""
    running = start_app(BASE_URL="", NGROK_API_URL=ngrok.api_url)
    ngrok.restart([tunnel(GOOD, f"http://localhost:{running.settings.port}")])
    return running


def no_tunnel_here(port: int) -> str:
    return (
        f"ngrok is running but has no https tunnel to port {port}. Run `ngrok http {port}` in another "
        "terminal, or set BASE_URL to this server's public URL."
    )


@pytest.mark.parametrize(
    ("public_url", "proto"),
    [
        ("https://evil.example/steal?x=", "https"),
        ("https://first-1234.ngrok-free.app/audio", "https"),
        ("https://first-1234.ngrok-free.app?x=1", "https"),
        ("https://first-1234.ngrok-free.app#x", "https"),
        ("https://user:secret@first-1234.ngrok-free.app", "https"),
        ("http://first-1234.ngrok-free.app", "https"),
        ("https://first-1234.ngrok-free.app\n2024-01-01 INFO forged line", "https"),
        ("https://first-1234.ngrok-free.app\r", "https"),
        ("https://first 1234.ngrok-free.app", "https"),
        ("https://-first.ngrok-free.app", "https"),
        ("https://first..ngrok-free.app", "https"),
        ("https://" + "a" * 64 + ".ngrok-free.app", "https"),
        ("https://first-1234.ngrok-free.app:port", "https"),
        ("https://[::1]", "https"),
        (GOOD, "http"),
        (GOOD, "tls"),
    ],
    ids=[
        "path and query",
        "a path",
        "a query",
        "a fragment",
        "credentials",
        "http called https",
        "a line break",
        "a carriage return",
        "a space",
        "a label starting with a dash",
        "an empty label",
        "a label over 63 characters",
        "a port that is not a number",
        "an address, not a host name",
        "proto http",
        "proto tls",
    ],
)
def test_a_tunnel_at_anything_but_https_host_port_is_not_used(app_via_ngrok, ngrok, voice_api, public_url, proto):
    port = app_via_ngrok.settings.port
    ngrok.restart([tunnel(public_url, f"http://localhost:{port}", proto=proto)])

    call = app_via_ngrok.get("/call")
    answer = app_via_ngrok.get("/audio/answer.json", params={"uuid": "not-on-record", "to": TO_NUMBER})

    assert (call.status_code, call.json()) == (503, {"error": no_tunnel_here(port)})
    assert (answer.status_code, answer.json()) == (503, {"error": no_tunnel_here(port)})
    assert voice_api.received == []


@pytest.mark.parametrize(
    "addr",
    ["http://evil.example:{port}", "http://192.168.1.7:{port}", "https://localhost:{port}", "localhost:{port}0"],
    ids=["another host", "another machine", "https to a plain-HTTP server", "another port"],
)
def test_a_tunnel_forwarding_anywhere_but_this_port_on_this_machine_is_not_used(app_via_ngrok, ngrok, voice_api, addr):
    port = app_via_ngrok.settings.port
    ngrok.restart([tunnel(GOOD, addr.format(port=port))])

    call = app_via_ngrok.get("/call")

    assert (call.status_code, call.json()) == (503, {"error": no_tunnel_here(port)})
    assert voice_api.received == []


def test_a_port_on_the_public_url_is_kept(app_via_ngrok, ngrok, voice_api):
    ngrok.restart([tunnel(f"{GOOD}:8443", f"localhost:{app_via_ngrok.settings.port}")])

    app_via_ngrok.place_call()

    assert voice_api.sent("create_call")[0].body["answer_url"] == [f"{GOOD}:8443/audio/answer.json"]


def test_an_agent_trickling_its_answer_gets_call_a_503_at_the_one_deadline(app_via_ngrok, ngrok, voice_api):
    ngrok.misbehave(byte_every=TRICKLE_SECONDS)

    started = time.monotonic()
    call = app_via_ngrok.get("/call")
    took = time.monotonic() - started

    assert call.status_code == 503
    assert call.json()["error"] == (
        f"The ngrok agent at {ngrok.api_url} did not answer within 2 s. Run `ngrok http "
        f"{app_via_ngrok.settings.port}` in another terminal, or set BASE_URL to this server's public URL."
    )
    assert NGROK_DEADLINE_SECONDS <= took < PROMPT_REFUSAL_SECONDS
    assert voice_api.received == []


def test_an_answer_over_64_kib_is_not_read_past_that(app_via_ngrok, ngrok, voice_api):
    # Valid JSON, the tunnel list followed by 200 MB of spaces: read whole, it would place the call.
    ngrok.misbehave(padded_to=200 * 1024 * 1024)

    started = time.monotonic()
    call = app_via_ngrok.get("/call")

    assert call.status_code == 503
    assert f"gave an answer this app could not read (over {MOST_ANSWER_BYTES:,} bytes)" in call.json()["error"]
    assert time.monotonic() - started < PROMPT_REFUSAL_SECONDS
    assert voice_api.received == []


def test_a_redirect_is_not_followed(app_via_ngrok, ngrok, voice_api):
    elsewhere = NgrokAgentStandIn([tunnel("https://evil-5678.ngrok-free.app", str(app_via_ngrok.settings.port))])
    try:
        ngrok.misbehave(redirect_to=f"{elsewhere.api_url}/tunnels")

        call = app_via_ngrok.get("/call")

        assert call.status_code == 503
        assert "gave an answer this app could not read (HTTP 302)" in call.json()["error"]
        assert elsewhere.asked == 0 and voice_api.received == []
    finally:
        elsewhere.close()


def test_json_nested_too_deep_to_parse_is_a_readable_503_not_a_500(app_via_ngrok, ngrok, voice_api):
    depth = 10_000  # far past Python's recursion limit, well within 64 KiB
    ngrok.misbehave(raw_body=b'{"tunnels": ' + b"[" * depth + b"]" * depth + b"}")

    call = app_via_ngrok.get("/call")
    answer = app_via_ngrok.get("/audio/answer.json", params={"uuid": "not-on-record", "to": TO_NUMBER})

    for refused in (call, answer):
        assert refused.status_code == 503
        assert f"could not read (JSON nested {depth + 1} deep, more than 20)" in refused.json()["error"]
    assert voice_api.received == []


def test_answer_nccos_waiting_on_a_trickling_agent_leave_the_webhook_free(app_via_ngrok, ngrok):
    ngrok.misbehave(byte_every=TRICKLE_SECONDS)
    ask_for_ncco = threading.Barrier(10)

    def answer_ncco(_: int) -> tuple[int, float]:
        ask_for_ncco.wait()
        started = time.monotonic()
        answer = requests.get(
            f"{app_via_ngrok.url}/audio/answer.json", params={"uuid": "not-on-record", "to": TO_NUMBER}, timeout=60
        )
        return answer.status_code, time.monotonic() - started

    with ThreadPoolExecutor(10) as strangers:
        answers = strangers.map(answer_ncco, range(10))
        time.sleep(0.5)  # the ten are in: those let wait are waiting on the agent
        started = time.monotonic()
        webhook = app_via_ngrok.vonage_sends("aaaaaaaa-0000-4000-8000-000000000000", "ringing")
        webhook_took = time.monotonic() - started
        answers = list(answers)

    assert webhook.status_code == 204
    assert webhook_took < 0.5  # it would wait out the agent's 2 s if the ten held every thread
    assert [status for status, _ in answers] == [503] * 10
    assert max(took for _, took in answers) < PROMPT_REFUSAL_SECONDS
    assert sum(took < 0.5 for _, took in answers) >= 10 - MOST_WAITING  # the rest refused at once
    assert ngrok.asked == 1  # the ones waiting shared one question
