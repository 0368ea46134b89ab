"""What the pages show of calls: on a call's page, its state in words, its controls and the steps it
went through; on the start page, each call in a line. Each call is read as of one moment (the flow's
snapshot and the history's record together), so what the page says and what it offers never disagree."""

from __future__ import annotations

import time
from typing import Any

from stream_audio.app_parts import parts
from stream_audio.call import Snapshot
from stream_audio.call_life import HANG_UP_STATES, MUSIC_STATES, CallState
from stream_audio.events import CALL_UUID
from stream_audio.history import FIRST_STEPS_KEPT, CallRecord, Step

RESTARTED = "The app restarted; this call is no longer tracked."

HEADLINES = {
    CallState.INCOMING: "Incoming: waiting for Vonage's answered event",
    CallState.PLACED: "Placed: waiting for the phone to ring",
    CallState.RINGING: "Ringing",
    CallState.ANSWERED: "Answered: starting the music",
    CallState.STREAMING: "Music playing",
    CallState.STOPPING_MUSIC: "Stopping the music",
    CallState.MUSIC_STOPPED: "Music stopped",
    CallState.HANGING_UP: "Hanging up",
    CallState.HUNG_UP: "Hung up: waiting for Vonage's final status",
    CallState.LEFT_TO_LENGTH_TIMER: "Could not hang up: Vonage's length_timer ends the call",
}
# The app has done all it can for the call (None: Vonage has ended it): another may be placed.
OVER = frozenset({None, CallState.HUNG_UP, CallState.LEFT_TO_LENGTH_TIMER})
DIRECTIONS = {"outbound": "placed by the app", "inbound": "to your number"}


def call_view(uuid: str) -> dict[str, Any] | None:
    """What the call's page shows of call `uuid` now, or None if this process holds no record of it."""
    if not CALL_UUID.fullmatch(uuid):
        return None
    app = parts()
    found = app.calls.as_recorded(uuid)
    if not found:
        return None
    [(now, record)] = found
    settings = app.settings
    state, hang_up_in = (now.state, now.hang_up_in) if now else (None, None)
    return {
        "uuid": uuid,
        "from": record.from_number,
        "to": record.to_number,
        "direction": record.direction,
        "title": _title(record),
        "state": state.value if state else "ended",
        "headline": _headline(now, record),
        "hang_up_in": hang_up_in,
        "ended": state is None,
        "failure": record.failure,
        "playing": f"{settings.audio.source}, for {settings.stream_seconds:g} s"
        + (f", {settings.audio_loop} time(s)" if settings.audio_loop else ""),
        "steps": _steps(record),
        "controls": {
            "stop_music": state is CallState.STREAMING,
            "play_music": state is CallState.MUSIC_STOPPED,
            "hang_up": state in HANG_UP_STATES,
            "say": state in MUSIC_STATES,
            "call_again": state in OVER,
        },
    }


def call_list() -> list[dict[str, str]]:
    """Each call this process remembers, newest first, as the start page lists it."""
    return [_listed(now, record) for now, record in parts().calls.as_recorded()]


def _listed(now: Snapshot | None, record: CallRecord) -> dict[str, str]:
    inbound = record.direction == "inbound"
    return {
        "uuid": record.uuid,
        "number": record.from_number if inbound else record.to_number,
        "direction": DIRECTIONS.get(record.direction, record.direction),
        "state": _headline(now, record),
        "started": time.strftime("%H:%M:%S", time.localtime(record.placed_at)),
    }


def _title(record: CallRecord) -> str:
    if record.direction == "inbound":
        return f"Call from {record.from_number} to your number"
    return f"Call to {record.to_number}"


def _headline(now: Snapshot | None, record: CallRecord) -> str:
    if now is None:
        said = [
            f"after {record.duration} s" if record.duration else "",
            f"price {record.price}" if record.price else "",
        ]
        details = ", ".join(part for part in said if part)
        status = f": {record.final_status}" if record.final_status else ""
        return f"Ended{status}" + (f" ({details})" if details else "")
    if now.state is CallState.ANSWERED and now.hang_up_in is not None:
        return "Starting the music again"
    return HEADLINES[now.state]


def _steps(record: CallRecord) -> list[dict[str, Any]]:
    steps = [_step(step, record.placed_at) for step in record.steps]
    if record.folded:
        plural = "" if record.folded == 1 else "s"
        steps.insert(
            FIRST_STEPS_KEPT, {"folded": record.folded, "what": f"… {record.folded:,} step{plural} not shown …"}
        )
    return steps


def _step(step: Step, placed_at: float) -> dict[str, Any]:
    return {
        "at": when(step.at),
        "after": f"+{step.at - placed_at:.1f} s",
        "what": step.what,
        "took": None if step.took_ms is None else f"Voice API {step.took_ms} ms",
        "failure": step.failure,
    }


def when(at: float) -> str:
    """A wall-clock time as the page shows it: 14:03:07.2."""
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 10) % 10}"
