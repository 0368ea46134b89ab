"""Serving the app on this machine: Werkzeug's server, tuned for a laptop behind ngrok."""

from __future__ import annotations

import socket

from werkzeug.serving import WSGIRequestHandler

from stream_audio.webhooks import shown


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, answering without Nagle's delay and logging no query strings."""

    def setup(self) -> None:
        super().setup()
        # Werkzeug writes the headers and the body separately; with Nagle's algorithm the
        # body waits for the client's delayed ACK of the headers, adding up to 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # /call?token= carries a secret, so the query string is left out.
        path = shown(self.path.partition("?")[0])
        self.log("info", '"%s %s %s" %s %s', self.command, path, self.request_version, code, size)
