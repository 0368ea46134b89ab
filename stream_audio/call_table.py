"""The calls being handled, found by call uuid or by conversation, and how many count toward
MAX_ACTIVE_CALLS. It has no lock of its own: only CallFlow uses it, under CallFlow's lock."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from stream_audio.call import Call
from stream_audio.events import VoiceEvent

# Uuids of calls the app has finished with, remembered so that nothing is done for one twice.
FINISHED_KEPT = 1000


class CallTable:
    def __init__(self) -> None:
        self._calls: dict[str, Call] = {}
        self._by_conversation: dict[str, Call] = {}
        self.being_placed = 0  # POST /v1/calls sent, not yet answered
        self.finished: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(list(self._calls.values()))

    def get(self, uuid: str) -> Call | None:
        return self._calls.get(uuid)

    def of(self, event: VoiceEvent) -> Call | None:
        """The call an event is about: by its uuid, or by its conversation (error events name only that)."""
        call = self._calls.get(event.call_uuid) if event.call_uuid else None
        if call is None and event.conversation_uuid:
            call = self._by_conversation.get(event.conversation_uuid)
        return call

    def add(self, call: Call) -> None:
        self._calls[call.uuid] = call
        if call.conversation_uuid:
            self._by_conversation[call.conversation_uuid] = call

    def remove(self, call: Call) -> None:
        self._calls.pop(call.uuid, None)
        if self._by_conversation.get(call.conversation_uuid) is call:
            del self._by_conversation[call.conversation_uuid]
        self.finished[call.uuid] = None
        if len(self.finished) > FINISHED_KEPT:
            self.finished.popitem(last=False)

    def in_progress(self) -> int:
        """How many calls count toward MAX_ACTIVE_CALLS: those being placed, and those not yet done."""
        return self.being_placed + sum(call.in_progress for call in self._calls.values())
