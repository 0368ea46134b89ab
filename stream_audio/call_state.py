"""What the app knows about one call it placed: where the call is in its life, and the record it keeps."""

from __future__ import annotations

import enum
import sched
from dataclasses import dataclass

FINAL_STATUSES = frozenset({"completed", "busy", "cancelled", "unanswered", "rejected", "failed", "timeout"})
KNOWN_STATUSES = FINAL_STATUSES | {"started", "ringing", "answered", "human", "machine"}


class CallState(enum.Enum):
    PLACED = "placed"
    RINGING = "ringing"
    ANSWERED = "answered"  # the music is being started
    STREAMING = "streaming"  # the music is playing; the hang-up is scheduled
    STOPPING_MUSIC = "stopping the music"  # the person asked; the hang-up is still scheduled
    MUSIC_STOPPED = "music stopped"  # until the person plays it again, or the hang-up is due
    HANGING_UP = "hanging up"
    HUNG_UP = "hung up"  # by this app; the final event is on its way
    LEFT_TO_LENGTH_TIMER = "left to length_timer"  # the app gave up hanging up; Vonage ends the call
    ENDED = "ended"  # Vonage reported a final status, or the call outlived longest_call


# The music was started, so the hang-up is scheduled: it may be stopped and played again until then.
MUSIC_STATES = frozenset({CallState.ANSWERED, CallState.STREAMING, CallState.STOPPING_MUSIC, CallState.MUSIC_STOPPED})
# The person may hang up a call from its page until the app is hanging it up.
HANG_UP_STATES = frozenset({CallState.PLACED, CallState.RINGING}) | MUSIC_STATES


@dataclass(eq=False)
class Call:
    uuid: str
    conversation_uuid: str = ""
    placed_at: float = 0.0
    state: CallState = CallState.PLACED
    answered_at: float | None = None
    hangup: sched.Event | None = None  # when time is up, or the next try at a request
    hang_up_due: float | None = None  # when STREAM_SECONDS are up, once the music has started
    expiry: sched.Event | None = None
    hanging_up_now: bool = False  # a hang-up request is on its way: never send a second
    confirming_end: bool = False  # an unsigned final event is being checked with the Voice API
    base_url: str = ""  # the public URL it was placed with: its answer NCCO and audio use it

    @property
    def in_progress(self) -> bool:
        return self.state not in (CallState.HUNG_UP, CallState.LEFT_TO_LENGTH_TIMER, CallState.ENDED)
