"""Every Voice API request this process sends, paced to the account's limits.

Vonage lets an account create a few calls a second and make a few more other requests
(stream start and stop, talk, hang-up, ...); beyond that it answers 429 and queues
nothing. So requests wait here instead: a fixed set of worker threads takes queued work
in priority order, each piece making one request once the rolling second has room.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

WINDOW_SECONDS = 1.0


# Asking the Voice API about a call (GET /v1/calls/{uuid}) because of an unsigned event takes
# at most this many requests a second, however many events strangers forge: the rest of the
# account's budget stays for the calls themselves.
CHECKS_PER_SECOND = 3


class Priority(enum.IntEnum):
    """Which queued request goes first: a call left up costs money, a late tune only disappoints."""

    HANG_UP = 0
    # Asking about a call an unsigned event spoke of: a callee who hung up gets no stop sent to a dead call.
    CHECK_CALL = 1
    STOP_MUSIC = 2
    START_MUSIC = 3
    OTHER = 4


class RollingWindow:
    """At most `limit` requests in any WINDOW_SECONDS, as Vonage counts them on arrival.

    A request counts from when it is sent until WINDOW_SECONDS after its answer came
    back: it arrived somewhere in between, so however long it travelled, the next one
    sent once its count has lapsed arrives more than WINDOW_SECONDS after it.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._in_flight = 0
        self._answered: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until a request may go: 0 if it may go now, inf until an answer comes back."""
        while self._answered and self._answered[0] <= now - WINDOW_SECONDS:
            self._answered.popleft()
        if len(self._answered) + self._in_flight < self._limit:
            return 0.0
        return self._answered[0] + WINDOW_SECONDS - now if self._answered else math.inf

    def take(self) -> None:
        self._in_flight += 1

    def answered(self, now: float) -> None:
        self._in_flight -= 1
        self._answered.append(now)


class Pacer:
    """The one way out to the Voice API: `submit` queues work, `reserve_call_creation` waits for a slot."""

    def __init__(
        self,
        calls_per_second: int,
        requests_per_second: int,
        workers: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._call_creations = RollingWindow(calls_per_second)
        self._requests = RollingWindow(requests_per_second)
        self._checks = RollingWindow(min(CHECKS_PER_SECOND, requests_per_second))
        self._queue: list[tuple[Priority, int, Callable[..., Any], tuple]] = []
        self._check_queue: deque[tuple[Callable[..., Any], tuple]] = deque()
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"voice-api-{n}", daemon=True) for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, priority: Priority, work: Callable[..., Any], *args: Any) -> None:
        """Queue `work(*args)`, which makes at most one Voice API request; never blocks."""
        with self._changed:
            if priority is Priority.CHECK_CALL:
                self._check_queue.append((work, args))
            else:
                heapq.heappush(self._queue, (priority, next(self._order), work, args))
            self._changed.notify()

    def reserve_call_creation(self, timeout: float) -> bool:
        """Wait up to `timeout` for room to create a call, and take it; False if none came.
        Once the request is answered (or failed), call `call_creation_answered`."""
        deadline = self._clock() + timeout
        with self._changed:
            while (wait := self._call_creations.wait(self._clock())) > 0:
                if self._stopping or self._clock() + min(wait, timeout) > deadline or timeout <= 0:
                    return False
                self._changed.wait(min(wait, deadline - self._clock()))
            self._call_creations.take()
            return True

    def call_creation_answered(self) -> None:
        with self._changed:
            self._call_creations.answered(self._clock())
            self._changed.notify_all()

    def __len__(self) -> int:
        with self._changed:
            return len(self._queue) + len(self._check_queue)

    def take_ready(self) -> tuple[Callable[..., Any], tuple, tuple[RollingWindow, ...]] | float | None:
        """The most urgent queued work whose request has room in the rolling second now, with the
        windows it counts in; else the seconds to wait for room (None: nothing is queued)."""
        with self._changed:
            if not self._queue and not self._check_queue:
                return None
            now = self._clock()
            wait = self._requests.wait(now)
            check_wait = self._checks.wait(now) if self._check_queue else math.inf
            take_check = check_wait == 0 and (not self._queue or self._queue[0][0] > Priority.CHECK_CALL)
            if wait > 0:
                return wait
            if not take_check and not self._queue:
                return check_wait  # only checks are queued, and their share of the second is used up
            windows: tuple[RollingWindow, ...] = (self._requests, self._checks) if take_check else (self._requests,)
            for window in windows:
                window.take()
            work, args = self._check_queue.popleft() if take_check else heapq.heappop(self._queue)[2:]
            return work, args, windows

    def run(self, work: Callable[..., Any], args: tuple, windows: tuple[RollingWindow, ...]) -> None:
        """Do a piece of work `take_ready` gave out; its request then counts as answered in `windows`."""
        try:
            work(*args)
        except Exception:
            # A bug in one piece of work must not take a worker, and with it the hang-ups, down.
            log.exception("a Voice API task failed")
        finally:
            with self._changed:
                for window in windows:
                    window.answered(self._clock())
                self._changed.notify_all()

    def stop(self, timeout: float) -> int:
        """Drop the queued work, wait up to `timeout` for what is being sent; how many pieces were dropped."""
        with self._changed:
            self._stopping = True
            dropped = len(self._queue) + len(self._check_queue)
            self._queue.clear()
            self._check_queue.clear()
            self._changed.notify_all()
        deadline = self._clock() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - self._clock()))
        return dropped

    def _work(self) -> None:
        while True:
            with self._changed:
                while not isinstance(ready := self.take_ready(), tuple):
                    if self._stopping:
                        return
                    self._changed.wait(None if ready is None or ready == math.inf else ready)
            self.run(*ready)
