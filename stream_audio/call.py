"""One call the app handles: where it is in its life, and every decision that follows from that alone.

A call's life: placed -> ringing -> answered (the music is starting) -> streaming -> hanging up
-> hung up -> ended. The person may stop the music and play it again until the hang-up is due.
Each method changes one call's record and returns what should happen next, in words for the log
and as at most one thing to do; CallFlow holds the lock and carries it out. So every decision
here is tested without threads, sockets or clocks.
"""

from __future__ import annotations

import enum
import logging
import sched
from dataclasses import dataclass, field

from stream_audio.events import VoiceEvent
from stream_audio.refused import Refused
from stream_audio.voice_requests import Outcome

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
    CHECK_ENDING = "GET call"
    HANG_UP_LATER = "the hang-up, STREAM_SECONDS from now"
    FORGET = "the call is over"


@dataclass(frozen=True)
class Next:
    words: str = ""  # one log line, and a step on the call's page unless `on_page` is False
    then: Then | None = None
    level: int = logging.INFO
    on_page: bool = True


NOTHING = Next()

# Where a call must still be for a queued request to be sent: a request whose moment has passed sends nothing.
WANTED_IN = {
    Then.START_MUSIC: frozenset({CallState.ANSWERED}),
    Then.PLAY_MUSIC_AGAIN: frozenset({CallState.ANSWERED}),
    Then.STOP_MUSIC: frozenset({CallState.STOPPING_MUSIC}),
    Then.STOP_MUSIC_THEN_HANG_UP: frozenset({CallState.HANGING_UP}),
    Then.HANG_UP: frozenset({CallState.HANGING_UP}),
    Then.CHECK_ENDING: frozenset(CallState) - {CallState.ENDED},
}


@dataclass(frozen=True)
class Snapshot:
    """One call as it is at one moment, read under CallFlow's lock and used after it."""

    uuid: str
    state: CallState
    base_url: str
    hang_up_in: float | None  # seconds until the hang-up, once it is scheduled


@dataclass(eq=False)
class Call:
    uuid: str
    conversation_uuid: str = ""
    base_url: str = ""  # the public URL it was placed with: its answer NCCO and audio use it
    placed_at: float = 0.0
    length_timer: float = 0.0  # Vonage ends the call this long after it was answered, whatever the app does
    longest_life: float = 0.0  # ... and this long after it was placed, whatever events were lost
    state: CallState = CallState.PLACED
    answered_at: float | None = None
    hang_up_due: float | None = None  # when STREAM_SECONDS are up, once the music has started
    timers: list[sched.Event] = field(default_factory=list)  # time up, retries, and when Vonage has surely ended it
    sending: set[Then] = field(default_factory=set)  # requests on their way: never a second of each at once
    ending: VoiceEvent | None = None  # the final status reported
    checking_ending: bool = False  # the ending was not signed: the Voice API is being asked about it

    @property
    def in_progress(self) -> bool:
        return self.state not in DONE_STATES

    @property
    def ended_by_vonage_at(self) -> float:
        """When Vonage's own timers end the call, whatever the app does."""
        if self.answered_at is not None:
            return self.answered_at + self.length_timer
        return self.placed_at + self.longest_life

    def snapshot(self, now: float) -> Snapshot:
        due = self.hang_up_due if self.state in MUSIC_STATES else None
        return Snapshot(self.uuid, self.state, self.base_url, None if due is None else max(0.0, due - now))

    # --- Vonage's events ---

    def status_reported(self, event: VoiceEvent, now: float, signed: bool, checks: int, most_checks: int) -> Next:
        """A status event for this call; `checks` of unsigned final events are under way, of `most_checks`."""
        status = event.status
        if status not in KNOWN_STATUSES:
            return Next(f"ignored an event with an unknown status {status}", on_page=False)
        if status in FINAL_STATUSES:
            return self._ending_reported(event, signed, checks, most_checks)
        if status == "answered" and self.state in NOT_ANSWERED:
            self.state, self.answered_at = CallState.ANSWERED, now
            return Next("answered; starting the music", Then.START_MUSIC)
        if status == "answered":
            return Next("repeated answered event; the music is already arranged, nothing sent", on_page=False)
        if status == "ringing" and self.state is CallState.PLACED:
            self.state = CallState.RINGING
        return Next(status)

    def _ending_reported(self, event: VoiceEvent, signed: bool, checks: int, most_checks: int) -> Next:
        # Unsigned, anyone may have sent it: while the call is in progress and not being hung
        # up by this app, the Voice API is asked before the call's safeguards are dropped.
        if signed or not self.in_progress or Then.HANG_UP in self.sending:
            self.ending = event
            return Next(then=Then.FORGET)
        if self.checking_ending:
            return Next(f"unsigned {event.status} event; already asking the Voice API", on_page=False)
        if checks >= most_checks:
            why = f"{most_checks} others are being checked; the call is still hung up on time"
            return Next(f"ignored an unsigned {event.status} event: {why}", level=logging.WARNING, on_page=False)
        self.ending, self.checking_ending = event, True
        what = f"unsigned {event.status} event; asking the Voice API before acting on it"
        return Next(what, Then.CHECK_ENDING, on_page=False)

    def ended(self) -> bool:
        """Vonage says the call is over: True if a hang-up from this app was still to come."""
        pending = self.state in MUSIC_STATES or self.state is CallState.HANGING_UP
        self.state = CallState.ENDED
        return pending

    def shutting_down(self) -> Next:
        """The app is stopping: a call in progress is hung up now, its music stopped first."""
        if not self.in_progress:
            return NOTHING
        streaming = self.state is CallState.STREAMING
        self.state = CallState.HANGING_UP  # a copy of a hang-up already queued or on its way sends nothing
        return Next(then=Then.STOP_MUSIC_THEN_HANG_UP if streaming else Then.HANG_UP)

    def time_up(self) -> Next:
        """STREAM_SECONDS are up: the music stops (if it plays) and the call is hung up."""
        if self.state not in MUSIC_STATES:
            return NOTHING
        playing = self.state in (CallState.ANSWERED, CallState.STREAMING)
        self.state = CallState.HANGING_UP
        if playing:
            return Next("time is up; stopping the music, then hanging up", Then.STOP_MUSIC_THEN_HANG_UP)
        return Next("time is up; the music is stopped, so hanging up", Then.HANG_UP)

    # --- the Voice API requests it asks for ---

    def wants(self, then: Then) -> bool:
        """Whether a queued request still has a point: the call is where it was when it was queued."""
        return self.state in WANTED_IN[then] and then not in self.sending

    def start_sending(self, then: Then, now: float, latest_music_start: float) -> Next | None:
        """None to send the request now; else what to do instead (NOTHING: the call has moved on)."""
        if not self.wants(then):
            return NOTHING
        if then is Then.START_MUSIC and now > self.answered_at + latest_music_start:
            self.state = CallState.HANGING_UP
            return Next("too late to start the music; hanging up instead", Then.HANG_UP, logging.WARNING)
        self.sending.add(then)
        return None

    def retry_until(self, then: Then, latest_music_start: float) -> float | None:
        """Until when a failed request is worth sending again; None: never."""
        if then is Then.START_MUSIC:
            return self.answered_at + latest_music_start
        if then in (Then.HANG_UP, Then.CHECK_ENDING):
            return self.ended_by_vonage_at
        # A failed stop is not retried: the hang-up after it ends the stream; nor are the
        # person's own requests: the page shows why, and the button is on offer again.
        return None

    def request_answered(self, then: Then, outcome: Outcome, shutting_down: bool) -> Next:
        """What follows the Voice API's answer to `then` (CallFlow has retried what could be)."""
        self.sending.discard(then)
        if then is Then.CHECK_ENDING:
            return self._ending_checked(outcome)
        if then is Then.STOP_MUSIC_THEN_HANG_UP:
            return Next(then=Then.HANG_UP) if self.state is CallState.HANGING_UP else NOTHING
        if then is Then.HANG_UP:
            return self._hang_up_answered(outcome, shutting_down)
        if then is Then.START_MUSIC:
            return self._music_start_answered(outcome)
        if then is Then.STOP_MUSIC and self.state is CallState.STOPPING_MUSIC:
            # If the stop failed, the music still plays and Stop music is on offer again.
            self.state = CallState.STREAMING if outcome.failed else CallState.MUSIC_STOPPED
        elif then is Then.PLAY_MUSIC_AGAIN and self.state is CallState.ANSWERED:
            self.state = CallState.MUSIC_STOPPED if outcome.failed else CallState.STREAMING
        return NOTHING

    def _ending_checked(self, outcome: Outcome) -> Next:
        self.checking_ending = False
        if outcome.gone or (not outcome.failed and outcome.answer.status in FINAL_STATUSES):
            return Next(then=Then.FORGET)  # a 404 too: no such call is going on
        event, self.ending = self.ending, None
        if outcome.failed:
            why = "a hang-up to a call already over is answered 404 and harms nothing"
            what = f"could not confirm the {event.status} event, so the call is still treated as in progress; {why}"
            return Next(what, level=logging.ERROR, on_page=False)
        advice = "Unsigned events can be forged; set VONAGE_SIGNATURE_SECRET so that only Vonage's count."
        what = f"ignored a {event.status} event that the Voice API contradicts: the call is {outcome.answer.status}."
        return Next(f"{what} {advice}", level=logging.WARNING)

    def _music_start_answered(self, outcome: Outcome) -> Next:
        if self.state is CallState.HANGING_UP:
            return Next("the hang-up asked for while the music was starting is on its way", on_page=False)
        if self.state is not CallState.ANSWERED:
            return Next("ended while the music was starting; no hang-up needed", on_page=False)
        if outcome.failed:
            self.state = CallState.HANGING_UP
            what = "the music could not start; hanging up rather than leave the callee on a silent line"
            return Next(what, Then.HANG_UP, logging.ERROR)
        self.state = CallState.STREAMING
        return Next(then=Then.HANG_UP_LATER)

    def _hang_up_answered(self, outcome: Outcome, shutting_down: bool) -> Next:
        if self.state is not CallState.HANGING_UP:
            return NOTHING
        if not outcome.failed:
            self.state = CallState.HUNG_UP
            return Next("hung up; waiting for Vonage's final status")
        self.state = CallState.LEFT_TO_LENGTH_TIMER
        if shutting_down:
            why = "shutting down"
        elif outcome.transient:
            why = "a retry would come after Vonage's length_timer ends the call"
        else:
            why = "retrying cannot change this answer"
        return Next(f"gave up hanging up ({why}); Vonage's length_timer ends the call", level=logging.ERROR)

    # --- what the person asks from the call's page ---

    def stop_music(self) -> Next:
        self._only_when(frozenset({CallState.STREAMING}), "stop the music")
        self.state = CallState.STOPPING_MUSIC
        return Next("Stop music pressed", Then.STOP_MUSIC)

    def play_music(self) -> Next:
        self._only_when(frozenset({CallState.MUSIC_STOPPED}), "play the music")
        self.state = CallState.ANSWERED
        return Next("Play music pressed", Then.PLAY_MUSIC_AGAIN)

    def hang_up(self) -> Next:
        self._only_when(HANG_UP_STATES, "hang up")
        self.state = CallState.HANGING_UP
        return Next("Hang up pressed", Then.HANG_UP)

    def check_can_hear(self) -> None:
        """Refused unless someone is on the line to hear words said into the call."""
        if self.state not in MUSIC_STATES:
            raise Refused(409, f"The call is not answered, so there is no one to say it to: it is {self.state.value}.")

    def _only_when(self, states: frozenset[CallState], doing: str) -> None:
        if self.state not in states:
            raise Refused(409, f"Cannot {doing} now: the call is {self.state.value}.")
