"""Text from outside (a request's path, an event's field) made safe to put in one log line."""

from __future__ import annotations

MOST_SHOWN = 80


def shown(text: str) -> str:
    """`text` escaped, so a line break or a control character cannot forge a log line, and cut short."""
    return repr(text[:MOST_SHOWN])[1:-1]
