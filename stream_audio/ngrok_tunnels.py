"""What the local ngrok agent says: its tunnel list, read within one deadline and size, and the one
tunnel in it that is believed: https, at a plain https://host[:port], forwarding to PORT on this machine.

Whatever answers at NGROK_API_URL is not trusted: its public URL goes into every answer_url and
event_url Vonage is given, so anything else in it (a path, a query, credentials, a line break) or a
tunnel to another machine would send Vonage, or a caller's audio, somewhere else.
"""

from __future__ import annotations

import re
import time
from typing import Any

import requests
import urllib3

from stream_audio.bounded_json import UnreadableJson, read_json

# The agent is on this machine: it answers in milliseconds or is not working.
NGROK_DEADLINE_SECONDS = 2
# A tunnel list is a few hundred bytes a tunnel; ngrok's free plan runs a handful.
MOST_ANSWER_BYTES = 64 * 1024
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
# The whole public URL: https, a host name of at most 253 characters, and a port, if any.
TUNNEL_URL = re.compile(
    rf"https://(?=[a-z0-9.-]{{1,253}}(:|\Z))({_LABEL}\.)*{_LABEL}(:[1-9][0-9]{{0,4}})?", re.I | re.A
)
# Where the tunnel forwards: a port on this machine, as `ngrok http` writes it, with or without the host.
LOCAL_ADDR = re.compile(r"(?:(?:http://)?(?:localhost|127\.0\.0\.1|\[::1\]):)?([0-9]{1,5})")


class NoPublicUrl(Exception):
    """No public URL to give Vonage, and what the user should do about it."""


class NgrokAgent:
    """The ngrok agent's API at `api_url`, asked for the https tunnel to `port`."""

    def __init__(self, api_url: str, port: int) -> None:
        self.api_url = api_url
        self._port = port

    def tunnel_url(self, deadline: float) -> str:
        """The public URL of the https tunnel to this port, or NoPublicUrl saying what to do."""
        try:
            tunnels = _tunnel_list(read_json(self._answer(deadline), MOST_ANSWER_BYTES))
        except UnreadableJson as why:
            raise self.refusal(
                f"The ngrok agent at {self.api_url} gave an answer this app could not read ({why})."
            ) from None
        except (TimeoutError, requests.Timeout, urllib3.exceptions.ReadTimeoutError):
            raise self.too_slow() from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
            raise self.refusal(f"No ngrok agent answered at {self.api_url} (NGROK_API_URL).") from None
        found = [t["public_url"] for t in tunnels if self._forwards_here(t)]
        if not found:
            raise self.refusal(f"ngrok is running but has no https tunnel to port {self._port}.")
        return found[0]

    def refusal(self, what_is_wrong: str) -> NoPublicUrl:
        return NoPublicUrl(
            f"{what_is_wrong} Run `ngrok http {self._port}` in another terminal, "
            "or set BASE_URL to this server's public URL."
        )

    def too_slow(self) -> NoPublicUrl:
        return self.refusal(f"The ngrok agent at {self.api_url} did not answer within {NGROK_DEADLINE_SECONDS} s.")

    def _answer(self, deadline: float) -> bytes:
        """The body of GET /tunnels, read as it arrives, up to `deadline` and MOST_ANSWER_BYTES.

        A redirect is not followed: the agent has no reason to send one, and following it would
        take the tunnel list from wherever it points."""
        with requests.get(
            f"{self.api_url}/tunnels",
            headers={"Accept": "application/json", "Accept-Encoding": "identity"},
            timeout=NGROK_DEADLINE_SECONDS,
            allow_redirects=False,
            stream=True,
        ) as answer:
            if answer.status_code != 200:
                raise UnreadableJson(f"HTTP {answer.status_code}")
            body = bytearray()
            # read1 returns what one read brings, so the deadline is checked as often as bytes arrive.
            while chunk := answer.raw.read1(MOST_ANSWER_BYTES, decode_content=False):
                body += chunk
                if len(body) > MOST_ANSWER_BYTES:
                    raise UnreadableJson(f"over {MOST_ANSWER_BYTES:,} bytes")
                if time.monotonic() > deadline:
                    raise TimeoutError
            return bytes(body)

    def _forwards_here(self, tunnel: Any) -> bool:
        """True for an https tunnel at a plain https://host[:port] that forwards to this port on this machine."""
        if not isinstance(tunnel, dict) or tunnel.get("proto") != "https":
            return False
        public_url, config = tunnel.get("public_url"), tunnel.get("config")
        addr = config.get("addr") if isinstance(config, dict) else None
        if not (isinstance(public_url, str) and TUNNEL_URL.fullmatch(public_url) and isinstance(addr, str)):
            return False
        local = LOCAL_ADDR.fullmatch(addr)
        return bool(local) and local[1] == str(self._port)


def _tunnel_list(answer: Any) -> list:
    """The `tunnels` of the agent's answer, or UnreadableJson if it is not shaped as ngrok documents."""
    tunnels = answer.get("tunnels") if isinstance(answer, dict) else None
    if not isinstance(tunnels, list):
        raise UnreadableJson("no list of tunnels")
    return tunnels
