"""The calls the Voice API stand-in knows, each as `GET /v1/calls/{uuid}` tells it: who rang whom and
which way, its status through its life, and, once it has ended, how long it lasted and its price."""

from __future__ import annotations

import threading
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

# The final statuses Vonage reports; once a call has one, nothing more can be done to it.
FINAL_STATUSES = frozenset({"completed", "busy", "cancelled", "unanswered", "rejected", "failed", "timeout"})
RATE_PER_MINUTE = Decimal("0.01200000")  # what a call to a UK mobile costs, as the Voice API writes it
NETWORK = "23410"  # the MCCMNC of the network the call went through


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class KnownCall:
    direction: str  # outbound: created by POST /v1/calls; inbound: someone rang the application's number
    from_number: str
    to_number: str
    uuid: str = field(default_factory=lambda: str(uuid_module.uuid4()))
    conversation_uuid: str = field(default_factory=lambda: f"CON-{uuid_module.uuid4()}")
    status: str = "started"
    started_at: datetime = field(default_factory=_now)
    answered_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.status not in FINAL_STATUSES

    def rings(self) -> None:
        if self.status == "started":
            self.status = "ringing"

    def answered(self) -> None:
        if self.live:
            self.status, self.answered_at = "answered", _now()

    def ends(self, status: str | None = None) -> str:
        """The call is over with `status`, or as Vonage says of a hang-up: completed once answered,
        cancelled while it still rang. Its final status (the first one, if it had ended already)."""
        if self.live:
            self.status = status or ("completed" if self.answered_at else "cancelled")
            self.ended_at = _now()
        return self.status

    def details(self) -> dict:
        """GetCallResponse, with the billing fields Vonage adds once a call has completed."""
        details = {
            "_links": {"self": {"href": f"/calls/{self.uuid}"}},
            "uuid": self.uuid,
            "conversation_uuid": self.conversation_uuid,
            "to": {"type": "phone", "number": self.to_number},
            "from": {"type": "phone", "number": self.from_number},
            "status": self.status,
            "direction": self.direction,
            "network": NETWORK,
        }
        if self.status == "completed" and self.ended_at is not None:
            seconds = round((self.ended_at - (self.answered_at or self.ended_at)).total_seconds())
            details |= {
                "rate": str(RATE_PER_MINUTE),
                "price": f"{RATE_PER_MINUTE * seconds / 60:.8f}",
                "duration": str(seconds),
                "start_time": f"{self.answered_at or self.started_at:%Y-%m-%d %H:%M:%S}",
                "end_time": f"{self.ended_at:%Y-%m-%d %H:%M:%S}",
            }
        return details


class KnownCalls:
    """Every call the stand-in made or was rung with, by uuid; safe to use from any thread."""

    def __init__(self) -> None:
        self._calls: dict[str, KnownCall] = {}
        self._lock = threading.Lock()

    def add(self, call: KnownCall) -> KnownCall:
        with self._lock:
            self._calls[call.uuid] = call
        return call

    def rings(self, call_uuid: str) -> None:
        with self._lock:
            self._calls[call_uuid].rings()

    def answered(self, call_uuid: str) -> None:
        with self._lock:
            self._calls[call_uuid].answered()

    def end(self, call_uuid: str, status: str | None = None) -> str:
        """The call is over, with `status` or the one Vonage gives a hang-up; its final status."""
        with self._lock:
            return self._calls[call_uuid].ends(status)

    def status_of(self, call_uuid: str) -> str | None:
        """The call's status as `GET /v1/calls/{uuid}` tells it; None for a call Vonage never made."""
        with self._lock:
            call = self._calls.get(call_uuid)
            return call.status if call else None

    def live(self, call_uuid: str) -> bool:
        with self._lock:
            call = self._calls.get(call_uuid)
            return call is not None and call.live

    def details(self, call_uuid: str) -> dict | None:
        """GetCallResponse for the call; None for a call Vonage never made."""
        with self._lock:
            call = self._calls.get(call_uuid)
            return call.details() if call else None

    def conversations(self) -> dict[str, str]:
        with self._lock:
            return {uuid: call.conversation_uuid for uuid, call in self._calls.items()}

    def conversation_uuid(self, call_uuid: str) -> str:
        with self._lock:
            return self._calls[call_uuid].conversation_uuid
