"""What the call's page shows of one call: its state in words, its controls, and the steps it went through."""

from __future__ import annotations

import time
from typing import Any

from stream_audio.app_parts import parts
from stream_audio.call_life import HANG_UP_STATES, MUSIC_STATES, CallState
from stream_audio.events import CALL_UUID
from stream_audio.history import CallRecord

RESTARTED = "The app restarted; this call is no longer tracked."

HEADLINES = {
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


def call_view(uuid: str) -> dict[str, Any] | None:
    """What the call's page shows of call `uuid` now, or None if this process holds no record of it."""
    if not CALL_UUID.fullmatch(uuid):
        return None
    app = parts()
    settings = app.settings
    now = app.calls.snapshot(uuid)  # first: a call that has ended has its final status recorded by then
    record = app.calls.history.of(uuid)
    if record is None:
        return None
    state, hang_up_in = (now.state, now.hang_up_in) if now else (None, None)
    over = state in (None, CallState.HUNG_UP, CallState.LEFT_TO_LENGTH_TIMER)
    return {
        "uuid": uuid,
        "from": record.from_number,
        "to": record.to_number,
        "direction": record.direction,
        "state": state.value if state else "ended",
        "headline": _headline(state, hang_up_in, record),
        "hang_up_in": hang_up_in,
        "ended": state is None,
        "failure": record.failure,
        "playing": f"{settings.audio.source}, for {settings.stream_seconds:g} s"
        + (f", {settings.audio_loop} time(s)" if settings.audio_loop else ""),
        "steps": [
            {
                "at": when(step.at),
                "after": f"+{step.at - record.placed_at:.1f} s",
                "what": step.what,
                "took": None if step.took_ms is None else f"Voice API {step.took_ms} ms",
                "failure": step.failure,
            }
            for step in record.steps
        ],
        "controls": {
            "stop_music": state is CallState.STREAMING,
            "play_music": state is CallState.MUSIC_STOPPED,
            "hang_up": state in HANG_UP_STATES,
            "say": state in MUSIC_STATES,
            "call_again": over,
        },
    }


def _headline(state: CallState | None, hang_up_in: float | None, record: CallRecord) -> str:
    if state is None:
        said = [
            f"after {record.duration} s" if record.duration else "",
            f"price {record.price}" if record.price else "",
        ]
        details = ", ".join(part for part in said if part)
        return f"Ended: {record.final_status}" + (f" ({details})" if details else "")
    if state is CallState.ANSWERED and hang_up_in is not None:
        return "Starting the music again"
    return HEADLINES[state]


def when(at: float) -> str:
    """A wall-clock time as the page shows it: 14:03:07.2."""
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 10) % 10}"
