"""A local stand-in for the ngrok agent's API: plain HTTP on loopback, `GET /api/tunnels`
in the shape ngrok documents (`tunnels`, each with `public_url`, `proto` and `config.addr`).

Tests change its tunnels as ngrok would on a restart, and count how often it was asked.
"""

from __future__ import annotations

import threading

from flask import Flask, jsonify
from werkzeug.serving import make_server


def tunnel(public_url: str, addr: str, name: str = "command_line") -> dict:
    """One tunnel as `GET /api/tunnels` lists it; `proto` follows the public URL's scheme."""
    return {
        "name": name,
        "ID": f"id-{name}",
        "uri": f"/api/tunnels/{name}",
        "public_url": public_url,
        "proto": public_url.split("://", 1)[0],
        "config": {"addr": addr, "inspect": True},
        "metrics": {"conns": {"count": 0}, "http": {"count": 0}},
    }


class NgrokAgentStandIn:
    def __init__(self, tunnels: list[dict] | None = None) -> None:
        self._lock = threading.Lock()
        self._tunnels = list(tunnels or [])
        self.asked = 0
        self._server = make_server("127.0.0.1", 0, self._make_app(), threaded=True)
        self.api_url = f"http://127.0.0.1:{self._server.server_port}/api"
        self._thread = threading.Thread(target=self._server.serve_forever, name="ngrok-agent-standin", daemon=True)
        self._thread.start()

    def restart(self, tunnels: list[dict]) -> None:
        """ngrok was restarted: its tunnels (and a free plan's URLs) are new."""
        with self._lock:
            self._tunnels = list(tunnels)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _make_app(self) -> Flask:
        app = Flask("ngrok_agent_standin")

        @app.get("/api/tunnels")
        def tunnels():
            with self._lock:
                self.asked += 1
                return jsonify(tunnels=self._tunnels, uri="/api/tunnels")

        return app
