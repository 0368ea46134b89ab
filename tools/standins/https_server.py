"""HTTPS with keep-alive on loopback, as Vonage serves its APIs: the stand-ins' server,
and the account APIs' basic auth."""

from __future__ import annotations

import hmac
import logging
import socket
import ssl
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from flask import request

log = logging.getLogger(__name__)


class KeepAliveServer(ThreadingMixIn, WSGIServer):
    """Serves a WSGI app over HTTPS on loopback, keeping connections open between requests.

    Werkzeug's development server closes every connection (and drains the socket after
    each answer, so it cannot keep one open): against it the app would pay a TLS
    handshake per request that it never pays against Vonage.
    """

    daemon_threads = True

    def __init__(self, app: Any, ssl_context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _KeepAliveHandler)
        self.set_app(app)
        # The handshake happens in each connection's own thread, not in the accept loop.
        self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def drop_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away (a timeout, a dropped connection) is not news


class _QuietServerHandler(ServerHandler):
    http_version = "1.1"

    def log_exception(self, exc_info: Any) -> None:
        if not issubclass(exc_info[0], OSError):
            super().log_exception(exc_info)


class _KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def handle(self) -> None:
        # wsgiref answers one request per connection; HTTP/1.1 keeps it for the next.
        self.close_connection = False
        while not self.close_connection:
            try:
                self.raw_requestline = self.rfile.readline(65537)
            except OSError:
                return
            if not self.raw_requestline or not self.parse_request():
                return
            handler = _QuietServerHandler(
                self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True
            )
            handler.request_handler = self
            handler.run(self.server.get_app())

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


class ServedInBackground:
    """A WSGI app on a KeepAliveServer of its own, served from a daemon thread until close()."""

    def __init__(self, app: Any, ssl_context: ssl.SSLContext, name: str) -> None:
        self._server = KeepAliveServer(app, ssl_context)
        self.host = f"127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)
        self._thread.start()

    def stop_listening(self) -> None:
        """Refuse new connections and drop the open ones, as a host gone from the network would."""
        self._server.shutdown()  # at once if already stopped, so close() may follow stop_listening()
        self._server.server_close()
        self._server.drop_connections()

    def close(self) -> None:
        self.stop_listening()
        self._thread.join()


def has_basic_auth(api_key: str, api_secret: str) -> bool:
    """Whether Flask's current request carries the account's API key and secret as HTTP basic auth.

    The body is read whatever the answer, so the kept-alive connection is ready for the next request.
    """
    request.get_data()
    credentials = request.authorization
    return bool(
        credentials
        and credentials.type == "basic"
        and credentials.username == api_key
        and hmac.compare_digest(credentials.password or "", api_secret)
    )
