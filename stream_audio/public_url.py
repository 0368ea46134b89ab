"""Where Vonage reaches this app: BASE_URL as given, or else the https tunnel the local
ngrok agent runs to PORT, asked for afresh each time, since a restarted ngrok has a new URL."""

from __future__ import annotations

import requests

from stream_audio.settings import Settings

# The agent is on this machine: it answers in milliseconds or is not running.
NGROK_TIMEOUT_SECONDS = 2


class NoPublicUrl(Exception):
    """No public URL to give Vonage, and what the user should do about it."""


class PublicUrl:
    def __init__(self, settings: Settings) -> None:
        self._base_url = settings.base_url
        self._ngrok_api_url = settings.ngrok_api_url
        self._port = settings.port

    @property
    def from_ngrok(self) -> bool:
        return not self._base_url

    def current(self) -> str:
        """The public base URL right now, without a trailing slash, or NoPublicUrl saying what to do."""
        if self._base_url:
            return self._base_url
        try:
            answer = requests.get(f"{self._ngrok_api_url}/tunnels", timeout=NGROK_TIMEOUT_SECONDS)
            answer.raise_for_status()
            tunnels = answer.json()["tunnels"]
            found = [
                t["public_url"].rstrip("/")
                for t in tunnels
                if t["proto"] == "https" and _port_of(t["config"]["addr"]) == str(self._port)
            ]
        except (requests.HTTPError, ValueError, KeyError, TypeError, AttributeError):
            raise NoPublicUrl(
                f"The ngrok agent at {self._ngrok_api_url} gave an answer this app could not read. {self._what_to_do}"
            ) from None
        except requests.RequestException:
            raise NoPublicUrl(
                f"No ngrok agent answered at {self._ngrok_api_url} (NGROK_API_URL). {self._what_to_do}"
            ) from None
        if not found:
            raise NoPublicUrl(f"ngrok is running but has no https tunnel to port {self._port}. {self._what_to_do}")
        return found[0]

    @property
    def _what_to_do(self) -> str:
        return f"Run `ngrok http {self._port}` in another terminal, or set BASE_URL to this server's public URL."


def _port_of(addr: str) -> str:
    """The local port of a tunnel's `config.addr`: http://localhost:3000, localhost:3000 or 3000."""
    return str(addr).rstrip("/").rsplit(":", 1)[-1]
