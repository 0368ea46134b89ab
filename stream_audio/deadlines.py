"""One thread that runs each scheduled action at its own deadline: the hang-ups and retries."""

from __future__ import annotations

import sched
import threading
import time
from collections.abc import Callable
from typing import Any


class Deadlines:
    """The standard library's scheduler on a thread of its own.

    Waking its sleep with an Event lets a newly scheduled, earlier deadline take
    effect at once.
    """

    def __init__(self) -> None:
        self._wakeup = threading.Event()
        self._stopping = False
        self._scheduler = sched.scheduler(time.monotonic, self._sleep)
        self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
        self._thread.start()

    def schedule(self, delay: float, action: Callable[..., Any], *args: Any) -> sched.Event:
        event = self._scheduler.enter(delay, 0, action, args)
        self._wakeup.set()
        return event

    def cancel(self, event: sched.Event) -> bool:
        """Cancel `event`; False if it has already run."""
        try:
            self._scheduler.cancel(event)
        except ValueError:
            return False
        return True

    def stop(self) -> None:
        self._stopping = True
        for event in self._scheduler.queue:
            self.cancel(event)
        self._wakeup.set()
        self._thread.join()

    def _sleep(self, seconds: float | None) -> None:
        if self._wakeup.wait(seconds):
            self._wakeup.clear()

    def _run(self) -> None:
        while True:
            self._scheduler.run()
            if self._stopping:
                return
            self._sleep(None)
