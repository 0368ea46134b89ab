"""`python app.py` on a public URL, tried as a stranger would: no token, slow clients,
malformed requests, JSON nested deep, a forged final event."""

from __future__ import annotations

import re
import selectors
import socket
import ssl
import time

import pytest
import requests

from stream_audio.server import CLEANUP_SECONDS, IDLE_CLIENT_SECONDS
from tests.helpers import wait_until

SLOW_CLIENTS = 300
HALF_A_HEAD = b"GET /call HTTP/1.1\r\nHost: 127.0.0.1\r\n"
HALF_A_BODY = (
    b"POST /webhooks/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n\r\n{"
)


def exchange(port: int, request: bytes) -> int:
    """Send `request` bytes as they are and return the status code of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        answer = b""
        while b"\r\n" not in answer and (chunk := connection.recv(4096)):
            answer += chunk
    return int(answer.split()[1])


def tls_client_hello() -> bytes:
    """What a browser sends first when told https:// for this plain-HTTP port."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    with pytest.raises(ssl.SSLWantReadError):
        context.wrap_bio(incoming, outgoing, server_hostname="localhost").do_handshake()
    return outgoing.read()


def lines_logged_since(process, before: int, count: int = 1) -> list[str]:
    """The app's log lines after the first `before`, once `count` have come."""
    wait_until(lambda: len(process.log().splitlines()) >= before + count, 5, f"{count} log line(s)")
    time.sleep(0.2)  # room for one more line, which would be one too many
    return process.log().splitlines()[before:]


def test_a_stranger_without_the_start_up_links_token_places_no_call(start_process, voice_api):
    running = start_process(CALL_TOKEN="")  # the default: a token made at start-up
    call = running.url + "/call"

    refused = [
        requests.get(call, timeout=5),
        requests.get(call, params={"token": "guessed"}, timeout=5),
        requests.get(call, cookies={"call_token": "guessed"}, timeout=5),
    ]

    assert [answer.status_code for answer in refused] == [403, 403, 403]
    assert voice_api.received == []
    link = re.search(r"Open (http://localhost:\d+/call\?token=\S+) to ring", running.log())[1]
    assert requests.get(link.replace("localhost", "127.0.0.1"), timeout=5).status_code == 200
    assert len(voice_api.sent("create_call")) == 1


def test_a_strangers_forged_completed_neither_frees_the_calls_slot_nor_stops_its_hang_up(start_process, voice_api):
    running = start_process(MAX_ACTIVE_CALLS="1", STREAM_SECONDS="2")  # and, by default, no signature secret
    call_uuid = running.place_call()
    voice_api.callee_answers(call_uuid)
    running.vonage_sends(call_uuid, "answered")
    voice_api.wait_for("start_stream", call_uuid=call_uuid)

    assert running.vonage_sends(call_uuid, "completed").status_code == 204  # the stranger's
    voice_api.wait_for("get_call", call_uuid=call_uuid)
    assert (
        requests.get(running.url + "/call", params={"token": running.env["CALL_TOKEN"]}, timeout=5).status_code == 429
    )

    voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=4)
    assert [r.step for r in voice_api.received] == ["create_call", "start_stream", "get_call", "stop_stream", "hangup"]
    assert (
        f"call {call_uuid}: ignored a completed event that the Voice API contradicts: the call is answered"
        in running.log()
    )


def test_300_slow_clients_cost_no_thread_leave_the_app_answering_and_are_dropped(app_process):
    slow_clients = []
    for n in range(SLOW_CLIENTS):
        client = socket.create_connection(("127.0.0.1", app_process.port), timeout=5)
        client.sendall([b"", HALF_A_HEAD, HALF_A_BODY][n % 3])  # silent, half the headers, half the body
        slow_clients.append(client)
    last_byte_sent = time.monotonic()
    time.sleep(0.5)

    assert app_process.threads() < 100
    started = time.monotonic()
    call_uuid = app_process.place_call()
    call_took = time.monotonic() - started
    started = time.monotonic()
    assert app_process.vonage_sends(call_uuid, "ringing").status_code == 204
    webhook_took = time.monotonic() - started
    assert call_took < 1 and webhook_took < 1, (call_took, webhook_took)

    waiting = selectors.DefaultSelector()
    for client in slow_clients:
        waiting.register(client, selectors.EVENT_READ)
    deadline = last_byte_sent + 30
    while waiting.get_map() and time.monotonic() < deadline:
        for key, _ in waiting.select(timeout=1):
            assert key.fileobj.recv(1024) == b"", "a slow client got an answer to half a request"
            waiting.unregister(key.fileobj)
    dropped_after = time.monotonic() - last_byte_sent
    assert not waiting.get_map(), f"{len(waiting.get_map())} slow clients still connected after 30 s"
    assert IDLE_CLIENT_SECONDS <= dropped_after < IDLE_CLIENT_SECONDS + CLEANUP_SECONDS + 2
    for client in slow_clients:
        client.close()
    assert "Traceback" not in app_process.log()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(b"GARBAGE\r\n\r\n", 400, id="a request line that is not HTTP"),
        pytest.param(b"get / HTTP/1.1\r\nHost: x\r\n\r\n", 400, id="a lower-case method"),
        pytest.param(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400, id="a header without a colon"),
        pytest.param(b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, id="a request line over 8 KiB"),
        pytest.param(b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431, id="a request head over 16 KiB"),
        pytest.param(None, 400, id="a TLS handshake"),
        pytest.param(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 400, id="HTTP/2.0"),
        pytest.param(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, id="HTTP/2's connection preface"),
        pytest.param(b"GET /\r\n\r\n", 400, id="HTTP/0.9"),
    ],
)
def test_a_malformed_request_gets_a_4xx_and_one_log_line_never_a_traceback(app_process, request_bytes, status):
    before = len(app_process.log().splitlines())

    assert exchange(app_process.port, request_bytes or tls_client_hello()) == status

    [line] = lines_logged_since(app_process, before)
    assert f"refused a malformed request: {status} " in line
    assert len(line) < 200
    assert "Traceback" not in app_process.log()
    assert app_process.place_call()  # still serving


def test_json_nested_1000_deep_gets_a_400_and_one_short_log_line(app_process, voice_api):
    body = b"[" * 1000 + b"]" * 1000
    before = len(app_process.log().splitlines())

    answer = requests.post(
        app_process.url + "/webhooks/events", data=body, headers={"Content-Type": "application/json"}, timeout=5
    )

    assert answer.status_code == 400
    refusal, access = lines_logged_since(app_process, before, count=2)
    assert "event webhook: refused JSON nested too deep" in refusal and len(refusal) < 200
    assert '"POST /webhooks/events HTTP/1.1" 400' in access
    assert "Traceback" not in app_process.log()
    assert voice_api.received == []
