"""JSON from outside (a webhook body, the ngrok agent's answer, an account API's answer) read within
a bound on its size and its depth, so that no body can take the memory or the stack: a refusal in
plain words, never a traceback."""

from __future__ import annotations

import json
import re
from typing import Any

# Vonage's events, the ngrok agent's tunnel list and the account APIs' answers nest a few levels;
# a body nested deeper than this is not one of them.
MOST_DEPTH = 20
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(rb"[^\[\]{}]+")


class UnreadableJson(ValueError):
    """Why a body cannot be read as JSON, in words that follow "not read: "."""


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


def _depth(body: bytes) -> int:
    """How deep `body`'s arrays and objects nest, counted without parsing it (so without recursion)."""
    brackets = _NOT_A_BRACKET.sub(b"", _STRING.sub(b"", body))
    depth = deepest = 0
    for bracket in brackets:
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest
