"""A local stand-in for the ngrok agent's API: plain HTTP on loopback, `GET /api/tunnels`
in the shape ngrok documents (`tunnels`, each with `public_url`, `proto` and `config.addr`).

Tests change its tunnels as ngrok would on a restart, count how often it was asked, and make
it misbehave as whatever else might answer on that port could: trickle its answer out a byte
at a time, pad it to any size, redirect elsewhere, or answer any bytes at all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Flask, Response, redirect
from werkzeug.serving import make_server

PADDING_CHUNK = b" " * (1024 * 1024)


def tunnel(public_url: str, addr: str, name: str = "command_line", proto: str | None = None) -> dict:
    """One tunnel as `GET /api/tunnels` lists it; `proto` follows the public URL's scheme unless given."""
    return {
        "name": name,
        "ID": f"id-{name}",
        "uri": f"/api/tunnels/{name}",
        "public_url": public_url,
        "proto": proto or public_url.split("://", 1)[0],
        "config": {"addr": addr, "inspect": True},
        "metrics": {"conns": {"count": 0}, "http": {"count": 0}},
    }


@dataclass(frozen=True)
class Misbehaviour:
    byte_every: float = 0.0
    padded_to: int = 0
    redirect_to: str = ""
    raw_body: bytes | None = None


class NgrokAgentStandIn:
    def __init__(self, tunnels: list[dict] | None = None) -> None:
        self._lock = threading.Lock()
        self._tunnels = list(tunnels or [])
        self._misbehaviour = Misbehaviour()
        self._closing = threading.Event()
        self.asked = 0
        self._server = make_server("127.0.0.1", 0, self._make_app(), threaded=True)
        self.api_url = f"http://127.0.0.1:{self._server.server_port}/api"
        self._thread = threading.Thread(target=self._server.serve_forever, name="ngrok-agent-standin", daemon=True)
        self._thread.start()

    def restart(self, tunnels: list[dict]) -> None:
        """ngrok was restarted: its tunnels (and a free plan's URLs) are new."""
        with self._lock:
            self._tunnels = list(tunnels)

    def misbehave(
        self, byte_every: float = 0.0, padded_to: int = 0, redirect_to: str = "", raw_body: bytes | None = None
    ) -> None:
        """Answer every later GET /api/tunnels a byte every `byte_every` s, padded with spaces to
        `padded_to` bytes, with a 302 to `redirect_to`, or with `raw_body` instead of the tunnel list."""
        with self._lock:
            self._misbehaviour = Misbehaviour(byte_every, padded_to, redirect_to, raw_body)

    def close(self) -> None:
        self._closing.set()  # ends any answer being trickled out
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _make_app(self) -> Flask:
        app = Flask("ngrok_agent_standin")

        @app.get("/api/tunnels")
        def tunnels():
            with self._lock:
                self.asked += 1
                how = self._misbehaviour
                listed = json.dumps({"tunnels": self._tunnels, "uri": "/api/tunnels"}).encode()
            if how.redirect_to:
                return redirect(how.redirect_to, 302)
            body = listed if how.raw_body is None else how.raw_body
            length = max(len(body), how.padded_to)
            return Response(
                self._body(body, length, how.byte_every),
                200,
                {"Content-Length": str(length)},
                mimetype="application/json",
            )

        return app

    def _body(self, body: bytes, length: int, byte_every: float) -> Iterator[bytes]:
        """`body`, a byte every `byte_every` s, or at once followed by spaces up to `length` bytes."""
        if byte_every:
            for byte in body:
                if self._closing.wait(byte_every):
                    return
                yield bytes([byte])
            return
        yield body
        for left in range(length - len(body), 0, -len(PADDING_CHUNK)):
            yield PADDING_CHUNK[:left]
