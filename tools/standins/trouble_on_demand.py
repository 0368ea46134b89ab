"""What tests ask of the Voice API stand-in beyond answering well: failures of each step on demand,
and an account's rate limits enforced as Vonage enforces them."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass
class Trouble:
    status: int | None = None
    stall: float = 0.0
    raw_body: str | None = None
    refuse: bool = False
    times: int | None = None  # None: every request from now on


class Troubles:
    """The trouble asked for each step, used up one request at a time."""

    def __init__(self) -> None:
        self._asked: dict[str, Trouble] = {}
        self._lock = threading.Lock()

    def ask(self, step: str, trouble: Trouble) -> None:
        with self._lock:
            self._asked[step] = trouble

    def clear(self) -> None:
        with self._lock:
            self._asked.clear()

    def next_for(self, step: str) -> Trouble:
        """The trouble for this `step` request: none (Trouble()) unless some was asked for."""
        with self._lock:
            trouble = self._asked.get(step, Trouble())
            if trouble.times is not None:
                trouble.times -= 1
                if trouble.times <= 0:
                    del self._asked[step]
            return trouble


class RateLimits:
    """Vonage's limits per account: N call creations and M other requests in any rolling second,
    counted separately, every request counted (those refused too), nothing queued."""

    def __init__(self) -> None:
        self._limits: dict[str, int] = {}
        self._arrivals: dict[str, deque[float]] = {"create_call": deque(), "other": deque()}
        self._lock = threading.Lock()

    def enforce(self, calls_per_second: int, requests_per_second: int) -> None:
        with self._lock:
            self._limits = {"create_call": calls_per_second, "other": requests_per_second}

    def over(self, step: str, now: float) -> bool:
        """Count a `step` request arriving `now`: whether it goes over the limit and must be answered 429."""
        kind = "create_call" if step == "create_call" else "other"
        with self._lock:
            if kind not in self._limits:
                return False
            arrivals = self._arrivals[kind]
            arrivals.append(now)
            while arrivals[0] <= now - 1.0:
                arrivals.popleft()
            return len(arrivals) > self._limits[kind]
