"""What an event webhook body says, if it is shaped as Vonage's events are: VoiceEvent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vonage_voice import CallInfo

from stream_audio.log_text import shown

# Vonage's events are a few hundred bytes; anything near this is not from Vonage.
MAX_EVENT_BYTES = 64 * 1024
# What a call uuid and a status look like; anything else is not from Vonage and is
# refused before it reaches a log line.
CALL_UUID = re.compile(r"[A-Za-z0-9-]{1,64}")
STATUS = re.compile(r"[a-z_]{1,32}")


class EventRefused(Exception):
    """Why an event was not accepted, in words fit for a log line."""


@dataclass(frozen=True)
class VoiceEvent:
    """What the app reads from one event body. Vonage sends more shapes than call statuses:
    transfer and input events carry no status; error, notify and record events no call uuid."""

    kind: str
    call_uuid: str | None = None
    conversation_uuid: str | None = None
    status: str | None = None
    reason: str | None = None  # why Vonage reports an error
    duration: str | None = None  # seconds, on a final status, as a string
    price: str | None = None
    detail: str | None = None  # why a call failed or was rejected
    disconnected_by: str | None = None

    @classmethod
    def told_by_the_voice_api(cls, call: CallInfo) -> VoiceEvent:
        """A call's status as GET /v1/calls/{uuid} answered it, with its duration and price once it ended."""
        said = {name: shown(value) for name in ("status", "duration", "price") if (value := getattr(call, name))}
        return cls("status", call_uuid=call.uuid, conversation_uuid=call.conversation_uuid, **said)

    @property
    def billing(self) -> str:
        """What Vonage said of a final status's cost and cause, for a log line: ` (after 21 s, price 0.004)`."""
        said = [
            f"{name} {value}"
            for name, value in (
                ("after", self.duration and f"{self.duration} s"),
                ("price", self.price),
                ("detail", self.detail),
                ("disconnected by", self.disconnected_by),
            )
            if value
        ]
        return f" ({', '.join(said)})" if said else ""


def read_event(body: Any) -> VoiceEvent:
    """The event in a parsed webhook body; EventRefused if it is not one Vonage could send."""
    if not isinstance(body, dict):
        raise EventRefused("a body that is not a JSON object")
    # human/machine events name the call `call_uuid`; error, notify and record events not at all.
    call_uuid = _checked(body, "uuid", CALL_UUID, "call uuid is not letters, digits and dashes") or _checked(
        body, "call_uuid", CALL_UUID, "call uuid is not letters, digits and dashes"
    )
    status = _checked(body, "status", STATUS, "status is not a lower-case word")
    return VoiceEvent(
        kind=_kind(body),
        call_uuid=call_uuid,
        conversation_uuid=_text(body, "conversation_uuid"),
        status=status,
        reason=_text(body, "reason"),
        duration=_text(body, "duration"),
        price=_text(body, "price"),
        detail=_text(body, "detail"),
        disconnected_by=_text(body, "disconnected_by"),
    )


def _kind(body: dict) -> str:
    """What sort of event this is; only `status` events speak of a call's progress."""
    if "dtmf" in body or "speech" in body:
        return "input"
    if body.get("type") == "transfer" or "conversation_uuid_to" in body:
        return "transfer"
    if body.get("type") == "record" or "recording_url" in body:
        return "record"  # a recording, or its transcription
    if "payload" in body:
        return "notify"
    if "status" in body:
        return "status"
    if "reason" in body:
        return "error"
    return "unknown"


def _checked(body: dict, name: str, pattern: re.Pattern, why: str) -> str | None:
    """The field if absent or as Vonage writes it; anything else is refused before it reaches a log line."""
    if name not in body:
        return None
    value = body[name]
    if not (isinstance(value, str) and pattern.fullmatch(value)):
        raise EventRefused(f"an event whose {why}")
    return value


def _text(body: dict, name: str) -> str | None:
    """A string field as it may be shown in a log line, or None when absent or not a string."""
    value = body.get(name)
    return shown(value) if isinstance(value, str) and value else None
