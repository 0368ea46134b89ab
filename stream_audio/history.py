"""What happened to each of the last calls this process placed: the story its page tells.

CallFlow forgets a call once it has ended; the person watching its page still wants to
see how it went. So each step the app logs for a call is also noted here, with its wall
clock time, how long the Voice API took and, for a failure, the reason in plain words.

Steps are kept in the order they happened: a request's step is noted when its answer comes
back, but it happened when the request was sent, before any event that came meanwhile.
A call keeps its first FIRST_STEPS_KEPT steps and its latest LATEST_STEPS_KEPT, and counts
the ones folded between them: a caller's phone or a stranger posting 10,000 events makes
the page no longer, and its JSON, polled twice a second, no heavier.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

# Enough for a person's afternoon of test calls; each record is at most about 20 KB.
CALLS_KEPT = 100
# How a call went: its start, and how it is going now.
FIRST_STEPS_KEPT = 20
LATEST_STEPS_KEPT = 100


@dataclass(frozen=True)
class Step:
    at: float  # seconds since the epoch; for a request, when it was sent
    what: str
    took_ms: int | None = None  # how long the Voice API took to answer this step's request
    failure: str | None = None  # why it failed, in plain words


@dataclass
class CallRecord:
    uuid: str
    placed_at: float
    from_number: str
    to_number: str
    direction: str  # outbound: placed by this app; inbound: someone rang VONAGE_NUMBER
    steps: list[Step] = field(default_factory=list)  # in time order: the first kept, then the latest
    folded: int = 0  # steps left out between the first FIRST_STEPS_KEPT and the latest LATEST_STEPS_KEPT
    final_status: str | None = None  # as Vonage reported it
    duration: str | None = None  # seconds, as Vonage reported them
    price: str | None = None
    failure: str | None = None  # the latest thing that went wrong, in plain words


class CallHistory:
    """The records of the last CALLS_KEPT calls, oldest forgotten first; safe to use from any thread."""

    def __init__(self, kept: int = CALLS_KEPT, clock: Callable[[], float] = time.time) -> None:
        self._kept = kept
        self._clock = clock
        self._records: OrderedDict[str, CallRecord] = OrderedDict()
        self._lock = threading.Lock()

    def placed(
        self, uuid: str, what: str, from_number: str, to_number: str, direction: str, took_ms: int | None = None
    ) -> None:
        """Start the record of a new call: its first step is `what`."""
        with self._lock:
            first = self._step(what, took_ms)
            self._records[uuid] = CallRecord(uuid, first.at, from_number, to_number, direction, [first])
            while len(self._records) > self._kept:
                self._records.popitem(last=False)

    def note(self, uuid: str, what: str, took_ms: int | None = None, failure: str | None = None) -> None:
        """Add a step to call `uuid`'s record (none is kept for a call it does not hold)."""
        with self._lock:
            record = self._records.get(uuid)
            if record is None:
                return
            bisect.insort(record.steps, self._step(what, took_ms, failure), key=lambda step: step.at)
            if len(record.steps) > FIRST_STEPS_KEPT + LATEST_STEPS_KEPT:
                del record.steps[FIRST_STEPS_KEPT]
                record.folded += 1
            if failure is not None:
                record.failure = failure

    def _step(self, what: str, took_ms: int | None = None, failure: str | None = None) -> Step:
        """A step happening now; one that took the Voice API `took_ms` happened when its request was sent."""
        at = self._clock() - (took_ms or 0) / 1000
        return Step(at, what, took_ms, failure)

    def ended(self, uuid: str, what: str, status: str, duration: str | None = None, price: str | None = None) -> None:
        """Vonage's final word on call `uuid` (or, with status "unknown", the app's last)."""
        self.note(uuid, what)
        with self._lock:
            record = self._records.get(uuid)
            if record is not None:
                record.final_status, record.duration, record.price = status, duration, price

    def of(self, uuid: str) -> CallRecord | None:
        """A copy of call `uuid`'s record, or None if this process placed no such call (or forgot it)."""
        with self._lock:
            record = self._records.get(uuid)
            return None if record is None else replace(record, steps=list(record.steps))

    def newest_first(self) -> list[CallRecord]:
        with self._lock:
            return [replace(record, steps=list(record.steps)) for record in reversed(self._records.values())]
