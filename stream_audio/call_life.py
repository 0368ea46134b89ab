"""The words of a call's life: its states, the statuses Vonage reports, and what may happen next."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

FINAL_STATUSES = frozenset({"completed", "busy", "cancelled", "unanswered", "rejected", "failed", "timeout"})
KNOWN_STATUSES = FINAL_STATUSES | {"started", "ringing", "answered", "human", "machine"}


class CallState(enum.Enum):
    INCOMING = "incoming"  # someone rang VONAGE_NUMBER: its answered event is due
    PLACED = "placed"
    RINGING = "ringing"
    ANSWERED = "answered"  # the music is being started
    STREAMING = "streaming"  # the music is playing; the hang-up is scheduled
    STOPPING_MUSIC = "stopping the music"  # the person asked; the hang-up is still scheduled
    MUSIC_STOPPED = "music stopped"  # until the person plays it again, or the hang-up is due
    HANGING_UP = "hanging up"
    HUNG_UP = "hung up"  # by this app; the final event is on its way
    LEFT_TO_LENGTH_TIMER = "left to length_timer"  # the app gave up hanging up; Vonage ends the call
    ENDED = "ended"  # Vonage reported a final status, or the call outlived its longest possible life


NOT_ANSWERED = frozenset({CallState.PLACED, CallState.RINGING})
# The music was started, so the hang-up is scheduled: it may be stopped and played again until then.
MUSIC_STATES = frozenset({CallState.ANSWERED, CallState.STREAMING, CallState.STOPPING_MUSIC, CallState.MUSIC_STOPPED})
# The person may hang up a call from its page until the app is hanging it up.
HANG_UP_STATES = NOT_ANSWERED | MUSIC_STATES
# The app has done what it can: the call no longer counts toward MAX_ACTIVE_CALLS.
DONE_STATES = frozenset({CallState.HUNG_UP, CallState.LEFT_TO_LENGTH_TIMER, CallState.ENDED})


class Then(enum.Enum):
    """What CallFlow does next for a call: queue one Voice API request, schedule the hang-up, or forget it."""

    START_MUSIC = "PUT stream, on answered"
    PLAY_MUSIC_AGAIN = "PUT stream, the person asked"
    STOP_MUSIC = "DELETE stream, the person asked"
    STOP_MUSIC_THEN_HANG_UP = "DELETE stream, time is up"
    HANG_UP = "PUT hangup"
    CHECK_CALL = "GET call, about an unsigned event"
    START_MUSIC_FOR_CALLER = "list a call to VONAGE_NUMBER, then PUT stream"
    HANG_UP_LATER = "the hang-up, STREAM_SECONDS from now"
    FORGET = "the call is over"


@dataclass(frozen=True)
class Next:
    """What a call decided: words for one log line (and a step on its page unless `quiet`), and what to do."""

    words: str = ""
    then: Then | None = None
    level: int = logging.INFO
    quiet: bool = False


NOTHING = Next()

# Where a call must still be for a queued request to be sent: a request whose moment has passed sends nothing.
WANTED_IN = {
    Then.START_MUSIC: frozenset({CallState.ANSWERED}),
    Then.PLAY_MUSIC_AGAIN: frozenset({CallState.ANSWERED}),
    Then.STOP_MUSIC: frozenset({CallState.STOPPING_MUSIC}),
    Then.STOP_MUSIC_THEN_HANG_UP: frozenset({CallState.HANGING_UP}),
    Then.HANG_UP: frozenset({CallState.HANGING_UP}),
    Then.CHECK_CALL: frozenset(CallState) - {CallState.ENDED},
}
