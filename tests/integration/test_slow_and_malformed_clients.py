"""The server as python app.py sets it up, on a public URL, tried as a stranger would: slow
clients cost no thread and are dropped once idle; a malformed request, or JSON nested deep,
gets a 4xx and one short log line, never a traceback."""

from __future__ import annotations

import logging
import selectors
import socket
import ssl
import threading
import time

import pytest

from stream_audio.server import CLEANUP_SECONDS, IDLE_CLIENT_SECONDS, listen, make_server
from tests.helpers import wait_until

SLOW_CLIENTS = 300
# Short enough for a test to wait for; python app.py's are IDLE_CLIENT_SECONDS and CLEANUP_SECONDS.
IDLE_SECONDS = 2
CHECK_SECONDS = 1
HALF_A_HEAD = b"GET /call HTTP/1.1\r\nHost: 127.0.0.1\r\n"
HALF_A_BODY = (
    b"POST /webhooks/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n\r\n{"
)
# How python app.py writes each log line: a line's length is measured as a user would see it.
LOG_LINE = logging.Formatter("%(asctime)s %(levelname)-7s %(message)s")


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


def lines_logged_since(caplog: pytest.LogCaptureFixture, before: int, count: int = 1) -> list[str]:
    """The log lines after the first `before` records, once `count` have come; not waitress's
    note that every thread was busy a moment, which a busy machine causes, not the request."""

    def lines() -> list[str]:
        return [LOG_LINE.format(r) for r in caplog.records[before:] if r.name != "waitress.queue"]

    wait_until(lambda: len(lines()) >= count, 5, f"{count} log line(s)")
    time.sleep(0.2)  # room for one more line, which would be one too many
    return lines()


def test_python_app_pys_server_drops_a_client_idle_for_idle_client_seconds_within_30_s(running_app):
    server = make_server(running_app.app, listen(0))  # as serve_until_stopped makes it
    server.close()
    server.task_dispatcher.shutdown()

    assert (server.adj.channel_timeout, server.adj.cleanup_interval) == (IDLE_CLIENT_SECONDS, CLEANUP_SECONDS)
    assert IDLE_CLIENT_SECONDS + CLEANUP_SECONDS < 30


def test_300_slow_clients_cost_no_thread_leave_the_app_answering_and_are_dropped(start_app, caplog):
    running = start_app(idle_seconds=IDLE_SECONDS, cleanup_seconds=CHECK_SECONDS)
    threads_before = threading.active_count()
    slow_clients = []
    for n in range(SLOW_CLIENTS):
        client = socket.create_connection(("127.0.0.1", running.settings.port), timeout=5)
        client.sendall([b"", HALF_A_HEAD, HALF_A_BODY][n % 3])  # silent, half the headers, half the body
        slow_clients.append(client)
    last_byte_sent = time.monotonic()
    time.sleep(0.5)

    assert threading.active_count() <= threads_before
    started = time.monotonic()
    call_uuid = running.place_call()
    call_took = time.monotonic() - started
    started = time.monotonic()
    assert running.vonage_sends(call_uuid, "ringing").status_code == 204
    webhook_took = time.monotonic() - started
    assert call_took < 1 and webhook_took < 1, (call_took, webhook_took)

    waiting = selectors.DefaultSelector()
    for client in slow_clients:
        waiting.register(client, selectors.EVENT_READ)
    patience = IDLE_SECONDS + CHECK_SECONDS + 2
    while waiting.get_map() and time.monotonic() < last_byte_sent + patience:
        for key, _ in waiting.select(timeout=1):
            assert key.fileobj.recv(1024) == b"", "a slow client got an answer to half a request"
            waiting.unregister(key.fileobj)
    dropped_after = time.monotonic() - last_byte_sent
    assert not waiting.get_map(), f"{len(waiting.get_map())} slow clients still connected after {patience} s"
    assert IDLE_SECONDS <= dropped_after < patience
    for client in slow_clients:
        client.close()
    assert "Traceback" not in caplog.text


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
def test_a_malformed_request_gets_a_4xx_and_one_log_line_never_a_traceback(running_app, caplog, request_bytes, status):
    before = len(caplog.records)

    assert exchange(running_app.settings.port, request_bytes or tls_client_hello()) == status

    [line] = lines_logged_since(caplog, before)
    assert f"refused a malformed request: {status} " in line
    assert len(line) < 200
    assert "Traceback" not in caplog.text
    assert running_app.place_call()  # still serving


def test_json_nested_1000_deep_gets_a_400_and_one_short_log_line(running_app, voice_api, caplog):
    body = b"[" * 1000 + b"]" * 1000
    before = len(caplog.records)

    answer = running_app.post_to_webhook(body, {"Content-Type": "application/json"})

    assert answer.status_code == 400
    refusal, access = lines_logged_since(caplog, before, count=2)
    assert "event webhook: refused a body JSON nested 1000 deep, more than 20" in refusal and len(refusal) < 200
    assert '"POST /webhooks/events HTTP/1.1" 400' in access
    assert "Traceback" not in caplog.text
    assert voice_api.received == []
