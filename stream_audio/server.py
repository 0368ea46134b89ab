"""Serving the app on a public URL: waitress, with limits that shed slow and malformed clients.

Waitress reads every socket from one loop and hands only complete requests to a fixed
pool of threads, so a client that sends half a request costs a socket, not a thread, and
is dropped once it has been idle for IDLE_CLIENT_SECONDS.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import BadRequest

from stream_audio.answer_headers import SERVER_ANSWER
from stream_audio.log_text import shown

log = logging.getLogger(__name__)

# Requests that wait on the Voice API (/call) hold a thread up to VONAGE_API_TIMEOUT;
# eight leave room for the webhook while a few of them wait.
THREADS = 8
# A client idle this long, even halfway through a request, is dropped; waitress checks
# every CLEANUP_SECONDS, so none stays longer than their sum (under 30 s).
IDLE_CLIENT_SECONDS = 20
CLEANUP_SECONDS = 5
# Each open connection holds a file; past this many, new ones wait in the listen queue
# rather than use up the files the Voice API's connections need.
MAX_CONNECTIONS = 500
FILES_KEPT_FREE = 100
# The request line and headers together, and the line alone; a browser's or Vonage's are
# a few hundred bytes, and Apache and nginx refuse request lines over 8 KiB too.
MAX_REQUEST_HEAD_BYTES = 16 * 1024
MAX_REQUEST_LINE_BYTES = 8 * 1024
# Bodies over this are refused before they are read; the webhook has its own, smaller cap.
MAX_REQUEST_BODY_BYTES = 1024 * 1024

# What a request may start with: a method's first character, or a blank line before it.
_REQUEST_START = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\r\n")
TLS_HANDSHAKE = 0x16


class _URITooLong(BadRequest):
    code = 414
    reason = "URI Too Long"


class _StrictRequest(HTTPRequestParser):
    """Waitress's parser, also refusing what is not HTTP/1.x: at its first byte, not after headers that never end."""

    def received(self, data: bytes) -> int:
        if self.body_rcv is None and not self.header_plus and data and data[0] not in _REQUEST_START:
            self.error = BadRequest(
                "a TLS handshake: this port speaks plain HTTP"
                if data[0] == TLS_HANDSHAKE
                else f"not HTTP: it starts with byte {data[0]:#04x}"
            )
            self.completed = True
            return len(data)
        return super().received(data)

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.version not in ("1.0", "1.1"):
            raise ParsingError(f"HTTP/{self.version or '0.9'}: this server speaks HTTP/1.0 and HTTP/1.1")
        if len(self.first_line) > MAX_REQUEST_LINE_BYTES:
            self.error = _URITooLong(f"a request line over {MAX_REQUEST_LINE_BYTES} bytes")


class _LoggedRequest:
    """One log line per request, its query string (which may carry the call token) left out."""

    def service(self) -> None:
        try:
            super().service()
        finally:
            self._log()

    def _log(self) -> None:
        request, client = self.request, self.channel.addr[0]
        if request.error is not None:
            log.warning("%s: refused a malformed request: %s (%s)", client, self.status, shown(str(request.error.body)))
        else:
            # An open call page asks for its call's state twice a second: those answers are DEBUG lines.
            polled = request.path.startswith("/calls/") and request.path.endswith(".json") and self.status[:3] == "200"
            log.log(
                logging.DEBUG if polled else logging.INFO,
                '%s "%s %s HTTP/%s" %s in %s',
                client,
                shown(request.command),
                shown(request.path),
                shown(request.version),
                self.status.partition(" ")[0],
                f"{(time.time() - self.start_time) * 1000:.0f} ms",
            )


class _LoggedAppRequest(_LoggedRequest, WSGITask):
    pass


class _LoggedRefusal(_LoggedRequest, ErrorTask):
    def execute(self) -> None:
        # Waitress writes these answers itself: they carry the headers the app's own answers do.
        self.response_headers.extend(SERVER_ANSWER)
        super().execute()


class _Channel(HTTPChannel):
    parser_class = _StrictRequest
    task_class = _LoggedAppRequest
    error_task_class = _LoggedRefusal


def make_server(
    app, listening: socket.socket, idle_seconds: int = IDLE_CLIENT_SECONDS, cleanup_seconds: int = CLEANUP_SECONDS
) -> BaseWSGIServer:
    """A waitress server for `app` on the bound socket `listening`; `.run()` serves until a signal.
    A client idle `idle_seconds` is dropped at the next check, every `cleanup_seconds`."""
    server = create_server(
        app,
        sockets=[listening],
        threads=THREADS,
        channel_timeout=idle_seconds,
        cleanup_interval=cleanup_seconds,
        connection_limit=_connection_limit(),
        max_request_header_size=MAX_REQUEST_HEAD_BYTES,
        max_request_body_size=MAX_REQUEST_BODY_BYTES,
        # poll() has no ceiling on file numbers, where select() stops at 1,024.
        asyncore_use_poll=True,
        ident=None,  # no Server header telling scanners what to try
        # A client that resets its connection is not this server's error, and is not worth a traceback.
        log_socket_errors=False,
        # ngrok's X-Forwarded-* headers are dropped: nothing here trusts what a client says of itself.
        clear_untrusted_proxy_headers=True,
    )
    # Waitress's INFO line for a client gone before its answer names the path unescaped;
    # the request's own line says the same, escaped.
    logging.getLogger("waitress").setLevel(logging.WARNING)
    server.channel_class = _Channel
    return server


def listen(port: int) -> socket.socket:
    """A socket listening on loopback `port`: ngrok forwards to it, and nothing else on the network reaches it."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", port))
    return listening


def serve_until_stopped(app, listening: socket.socket) -> None:
    """Serve `app` on `listening` until Ctrl-C or SIGTERM; a second one exits at once."""
    signal.signal(signal.SIGINT, _stop_serving)
    signal.signal(signal.SIGTERM, _stop_serving)
    server = make_server(app, listening)
    # Waitress's loop ends on SystemExit, after waiting (at most 5 s) for requests in progress.
    server.run()
    server.close()


def _stop_serving(signum: int, _frame) -> None:
    signal.signal(signal.SIGINT, _exit_now)
    signal.signal(signal.SIGTERM, _exit_now)
    log.info("%s: stopping; press Ctrl-C again to exit at once", signal.Signals(signum).name)
    raise SystemExit


def _exit_now(signum: int, _frame) -> None:
    log.warning(
        "%s again: exiting now; Vonage's length_timer ends any call still in progress", signal.Signals(signum).name
    )
    # At once: not even waiting for Voice API requests in flight, as a normal exit would.
    os._exit(128 + signum)


def _connection_limit() -> int:
    """MAX_CONNECTIONS, or fewer if this process may not open that many files (macOS allows 256 by default)."""
    try:
        import resource
    except ImportError:  # Windows: no per-process limit on open files to fit under
        return MAX_CONNECTIONS
    wanted = MAX_CONNECTIONS + FILES_KEPT_FREE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return MAX_CONNECTIONS if soft == resource.RLIM_INFINITY else min(MAX_CONNECTIONS, soft - FILES_KEPT_FREE)
