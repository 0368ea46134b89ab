"""A call's life as `make demo` prints it: lines of `+seconds  who  what`, as they happen, and the problems found."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Timeline:
    """Lines of `+seconds  who  what`, printed as they happen; the first is +0.00s."""

    def __init__(self, out: Callable[[str], None] = print) -> None:
        self._out = out
        self._start: float | None = None
        self._lock = threading.Lock()
        self.lines: list[str] = []
        self.problems: list[str] = []

    def add(self, who: str, what: str) -> None:
        with self._lock:
            if self._start is None:
                self._start = time.monotonic()
            line = f"+{time.monotonic() - self._start:.2f}s  {who:<9} {what}"
            self.lines.append(line)
            self._out(line)

    def problem(self, who: str, what: str) -> None:
        """Something Vonage would fail, or that went wrong in the demo itself: printed, and counted."""
        with self._lock:
            self.problems.append(what)
        self.add(who, f"PROBLEM: {what}")
