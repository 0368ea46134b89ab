"""One call the app handles: where it is in its life, and every decision that follows from that alone.

A call the app places: placed -> ringing -> answered (the music is starting) -> streaming ->
hanging up -> hung up -> ended. A call to VONAGE_NUMBER starts as incoming, when Vonage fetches
its answer NCCO, and joins that path once answered. The person may stop the music and play it
again until the hang-up is due.
Each method changes one call's record and returns what should happen next, in words for the log
and as at most one thing to do; CallFlow holds the lock and carries it out. So every decision
here is tested without threads, sockets or clocks.
"""

from __future__ import annotations

import logging
import sched
from dataclasses import dataclass, field

from stream_audio.call_check import CallCheck, Verdict
from stream_audio.call_life import (
    DONE_STATES,
    FINAL_STATUSES,
    HANG_UP_STATES,
    KNOWN_STATUSES,
    MUSIC_STATES,
    NOT_ANSWERED,
    NOTHING,
    WANTED_IN,
    CallState,
    Next,
    Then,
)
from stream_audio.events import VoiceEvent
from stream_audio.refused import Refused
from stream_audio.settings import Settings
from stream_audio.voice_requests import Outcome


@dataclass(frozen=True)
class Snapshot:
    """One call as it is at one moment, read under CallFlow's lock and used after it."""

    uuid: str
    state: CallState
    direction: str
    base_url: str
    hang_up_in: float | None  # seconds until the hang-up, once it is scheduled


@dataclass(eq=False)
class Call:
    uuid: str
    conversation_uuid: str = ""
    direction: str = "outbound"  # or inbound: someone rang VONAGE_NUMBER
    from_number: str = ""
    to_number: str = ""
    base_url: str = ""  # the public URL it was placed (or answered) with: its NCCO and audio use it
    placed_at: float = 0.0  # or, for a call to the number, when Vonage fetched its answer NCCO
    length_timer: float = 0.0  # Vonage ends the call this long after it was answered, whatever the app does
    longest_life: float = 0.0  # ... and this long after it was placed, whatever events were lost
    state: CallState = CallState.PLACED
    answered_at: float | None = None
    hang_up_due: float | None = None  # when STREAM_SECONDS are up, once the music has started
    timers: list[sched.Event] = field(default_factory=list)  # time up, retries, and when Vonage has surely ended it
    sending: set[Then] = field(default_factory=set)  # requests on their way: never a second of each at once
    check: CallCheck = field(default_factory=CallCheck)  # what unsigned events said, until the Voice API confirms

    @classmethod
    def outbound(cls, uuid: str, conversation_uuid: str, settings: Settings, base_url: str, now: float) -> Call:
        """A call the app has just placed: POST /v1/calls answered with its uuid."""
        lives = (settings.length_timer, settings.longest_call)
        return cls(
            uuid, conversation_uuid, "outbound", settings.vonage_number, settings.to_number, base_url, now, *lives
        )

    @classmethod
    def inbound(
        cls, uuid: str, conversation_uuid: str, caller: str, settings: Settings, base_url: str, now: float
    ) -> Call:
        """A call to VONAGE_NUMBER whose answer NCCO Vonage has just fetched."""
        lives = (settings.length_timer, settings.longest_call)
        numbers = (caller, settings.vonage_number)
        return cls(uuid, conversation_uuid, "inbound", *numbers, base_url, now, *lives, CallState.INCOMING)

    @property
    def in_progress(self) -> bool:
        return self.state not in DONE_STATES

    @property
    def numbers(self) -> tuple[str, str, str]:
        """Who rang whom, and which way: as the call's page lists it."""
        return self.from_number, self.to_number, self.direction

    @property
    def ended_by_vonage_at(self) -> float:
        """When Vonage's own timers end the call, whatever the app does."""
        if self.answered_at is not None:
            return self.answered_at + self.length_timer
        return self.placed_at + self.longest_life

    def snapshot(self, now: float) -> Snapshot:
        due = self.hang_up_due if self.state in MUSIC_STATES else None
        hang_up_in = None if due is None else max(0.0, due - now)
        return Snapshot(self.uuid, self.state, self.direction, self.base_url, hang_up_in)

    # --- Vonage's events ---

    def status_reported(self, event: VoiceEvent, now: float, signed: bool) -> Next:
        """A status event for this call, signed by Vonage or not (then anyone may have sent it)."""
        status = event.status
        if status not in KNOWN_STATUSES:
            return Next(f"ignored an event with an unknown status {status}", quiet=True)
        if status in FINAL_STATUSES:
            return self._ending_reported(event, signed)
        if status == "answered" and self.state is CallState.INCOMING:
            return self._incoming_answered(now, signed)
        if status == "answered" and self.state in NOT_ANSWERED:
            self.state, self.answered_at = CallState.ANSWERED, now
            return Next("answered; starting the music", Then.START_MUSIC)
        if status == "answered":
            return Next("repeated answered event; the music is already arranged, nothing sent", quiet=True)
        if status == "ringing" and self.state is CallState.PLACED:
            self.state = CallState.RINGING
        return Next(status, quiet=self.state is CallState.INCOMING)

    def _incoming_answered(self, now: float, signed: bool) -> Next:
        # Anyone who finds the answer URL can make up a call to the number; unsigned, the Voice
        # API is asked whether it is real before the call is listed or sent anything.
        self.answered_at = now
        if signed:
            self.state = CallState.ANSWERED
            return Next(then=Then.START_MUSIC_FOR_CALLER)
        if self.check.asking:
            return Next("repeated answered event; already asking the Voice API about this call", quiet=True)
        return self.check.ask("unsigned answered event for a call to the number; asking the Voice API if it is real")

    def _ending_reported(self, event: VoiceEvent, signed: bool) -> Next:
        if signed or not self.in_progress or self.state is CallState.INCOMING:
            self.check.ending = event
            return Next(then=Then.FORGET)
        return self.check.ending_reported(event, hang_up_on_its_way=Then.HANG_UP in self.sending)

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

    def outlived(self) -> Next:
        """Vonage has surely ended the call by now: without its final event, it is forgotten all the same."""
        if self.state is CallState.ENDED:
            return NOTHING
        self.check.ending = VoiceEvent("status", self.uuid, status="unknown")  # none reported was ever confirmed
        what = f"no final event within {self.longest_life:g} s; Vonage has surely ended the call, so it is forgotten"
        return Next(what, Then.FORGET, logging.WARNING)

    def answered_event_overdue(self) -> Next:
        """Vonage posts answered right after it fetches the NCCO: a call to the number still waiting was made up."""
        if self.state is not CallState.INCOMING:
            return NOTHING
        return Next("no answered event after the answer NCCO; not a call", Then.FORGET, logging.WARNING, quiet=True)

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
        if then in (Then.HANG_UP, Then.CHECK_CALL):
            return self.ended_by_vonage_at
        # A failed stop is not retried: the hang-up after it ends the stream; nor are the
        # person's own requests: the page shows why, and the button is on offer again.
        return None

    def request_answered(self, then: Then, outcome: Outcome, shutting_down: bool) -> Next:
        """What follows the Voice API's answer to `then` (CallFlow has retried what could be)."""
        self.sending.discard(then)
        if then is Then.CHECK_CALL:
            return self._call_checked(outcome)
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

    def _call_checked(self, outcome: Outcome) -> Next:
        verdict = self.check.verdict(outcome)
        if self.state is CallState.INCOMING and verdict is Verdict.GOING_ON:
            self.state = CallState.ANSWERED
            return Next(then=Then.START_MUSIC_FOR_CALLER)
        if self.state is CallState.INCOMING:
            return Next(f"a call to the number of which {verdict.value}: no music", Then.FORGET, logging.WARNING)
        if verdict is Verdict.OVER:
            return Next(then=Then.FORGET)
        return self.check.not_over(outcome)

    def _music_start_answered(self, outcome: Outcome) -> Next:
        if self.state is CallState.HANGING_UP:
            return Next("the hang-up asked for while the music was starting is on its way", quiet=True)
        if self.state is not CallState.ANSWERED:
            return Next("ended while the music was starting; no hang-up needed", quiet=True)
        if outcome.failed:
            self.state = CallState.HANGING_UP
            what = "the music could not start; hanging up rather than leave the callee on a silent line"
            return Next(what, Then.HANG_UP, logging.ERROR)
        self.state = CallState.STREAMING
        return Next(then=Then.HANG_UP_LATER)

    def _hang_up_answered(self, outcome: Outcome, shutting_down: bool) -> Next:
        if self.state is not CallState.HANGING_UP:
            return NOTHING
        ended_meanwhile = self.check.ending is not None  # an unsigned final status came while it was sent
        if not outcome.failed:
            self.state = CallState.HUNG_UP
            # Now that the app's own hang-up is done, a final status that came meanwhile harms nothing.
            return Next(then=Then.FORGET) if ended_meanwhile else Next("hung up; waiting for Vonage's final status")
        self.state = CallState.LEFT_TO_LENGTH_TIMER
        if shutting_down:
            why = "shutting down"
        elif outcome.transient:
            why = "a retry would come after Vonage's length_timer ends the call"
        else:
            why = "retrying cannot change this answer"
        what = f"gave up hanging up ({why}); Vonage's length_timer ends the call"
        return self.check.ask(what, logging.ERROR) if ended_meanwhile else Next(what, level=logging.ERROR)

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
