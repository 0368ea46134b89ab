"""JSON from outside (a webhook body, the ngrok agent's answer, every answer of Vonage's APIs) read
within a bound on its size and its depth, so that no body can take the memory or the stack: a
refusal in plain words, never a traceback."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import requests

# Vonage's events, the ngrok agent's tunnel list and the account APIs' answers nest a few levels;
# a body nested deeper than this is not one of them.
MOST_DEPTH = 20
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(rb"[^\[\]{}]+")
_CHUNK_BYTES = 64 * 1024


class UnreadableJson(ValueError):
    """Why a body cannot be read as JSON, in words that follow "not read: "."""


class UnreadableAnswer(requests.exceptions.InvalidJSONError):
    """An API's answer refused before anyone parsed it: too large, nested too deep, or a success not JSON."""


def read_json(body: bytes, most_bytes: int, most_depth: int = MOST_DEPTH) -> Any:
    """`body` parsed as JSON, or UnreadableJson if it is over `most_bytes`, nested deeper than
    `most_depth`, not UTF-8, or not JSON."""
    if len(body) > most_bytes:
        raise UnreadableJson(f"over {most_bytes:,} bytes")
    depth = _depth(body)
    if depth > most_depth:
        raise UnreadableJson(f"JSON nested {depth} deep, more than {most_depth}")
    try:
        return json.loads(body.decode())
    except UnicodeDecodeError:
        raise UnreadableJson("not UTF-8") from None
    except ValueError:
        raise UnreadableJson("not JSON") from None


def bounded_answers(most_bytes: int, most_depth: int = MOST_DEPTH) -> Callable[..., None]:
    """A requests response hook that reads each answer's body itself, refusing as UnreadableAnswer one
    over `most_bytes` or nested deeper than `most_depth`, and a success answer that is not JSON.

    requests runs response hooks before it reads the body (Session.send), so a client whose session
    has this hook never holds more than `most_bytes` of an answer, and the SDK, which parses every
    answer itself, only ever parses a bounded one. A success that is not JSON is refused because
    the SDK would make it None, and then fail on that with a bare TypeError.
    """

    def read_within_bounds(response: requests.Response, **_: object) -> None:
        body = bytearray()
        # iter_content, as Response.content does, so that a failure mid-body is requests' own error.
        for chunk in response.iter_content(_CHUNK_BYTES):
            body += chunk
            if len(body) > most_bytes:
                response.close()  # the rest is never read: the connection goes, not back to the pool
                raise _refusal(response, f"over {most_bytes:,} bytes")
        # Where Response.content keeps a body it has read, so that no one reads it again.
        response._content = bytes(body)
        if response.ok and body:
            try:
                read_json(response._content, most_bytes, most_depth)
            except UnreadableJson as why:
                raise _refusal(response, str(why)) from None
        elif (depth := _depth(response._content)) > most_depth:
            raise _refusal(response, f"JSON nested {depth} deep, more than {most_depth}")

    return read_within_bounds


def _refusal(response: requests.Response, why: str) -> UnreadableAnswer:
    return UnreadableAnswer(f"a {response.status_code} answer not read: {why}", response=response)


def _depth(body: bytes) -> int:
    """How deep `body`'s arrays and objects nest, counted without parsing it (so without recursion)."""
    brackets = _NOT_A_BRACKET.sub(b"", _STRING.sub(b"", body))
    depth = deepest = 0
    for bracket in brackets:
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest
