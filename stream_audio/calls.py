"""The calls this app placed, each one's state, and what the app sends as events arrive.

A call's life: placed -> ringing -> answered -> streaming (the music) -> hanging up ->
hung up -> ended. Where each Voice API request is sent:
  CallFlow.place_call        POST /v1/calls                 ring TO_NUMBER
  CallFlow._start_music      PUT /v1/calls/{uuid}/stream    on `answered`
  CallFlow._stop_music       DELETE /v1/calls/{uuid}/stream STREAM_SECONDS later (_time_up)
  CallFlow._hang_up          PUT /v1/calls/{uuid} hangup    right after
  CallFlow._say              PUT /v1/calls/{uuid}/talk      when the user says something into the call
  CallFlow._confirm_ended    GET /v1/calls/{uuid}           an unsigned final event for a call in progress
  CallFlow._pause_music      DELETE /v1/calls/{uuid}/stream the person presses Stop music on the call's page
  CallFlow._play_music_again PUT /v1/calls/{uuid}/stream    ... and Play music (Hang up is _hang_up)
Each step is also noted in `history` (history.py) for the call's page.
Every request but the first waits its turn in the pacer (pacer.py), hang-ups first.
"""

from __future__ import annotations

import enum
import logging
import sched
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from vonage_voice import AudioStreamOptions, CallInfo, CreateCallRequest, Phone, ToPhone, TtsStreamOptions, Voice

from stream_audio.deadlines import Deadlines
from stream_audio.history import CallHistory
from stream_audio.pacer import Pacer, Priority
from stream_audio.public_url import NoPublicUrl, PublicUrl
from stream_audio.settings import CALL_MARGIN_SECONDS, Settings
from stream_audio.voice_api import VOICE_API_ERRORS, explain, is_gone, is_transient, nothing_was_created
from stream_audio.webhooks import VoiceEvent, shown

log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"completed", "busy", "cancelled", "unanswered", "rejected", "failed", "timeout"})
KNOWN_STATUSES = FINAL_STATUSES | {"started", "ringing", "answered", "human", "machine"}

# A transient failure (429, 5xx, timeout, no connection) is retried after 0.5 s, 1 s,
# 2 s, ... for as long as the request still has a point.
FIRST_RETRY_SECONDS = 0.5
# /call waits this long for the account's call-creation limit to make room, and tries
# POST /v1/calls at most this often: a person is waiting for the answer.
CREATE_WAIT_SECONDS = 1.0
CREATE_ATTEMPTS = 3
# Music started later than this after `answered` would be cut off by length_timer
# before STREAM_SECONDS are up, so the call is hung up instead.
LATEST_MUSIC_START_SECONDS = CALL_MARGIN_SECONDS / 2
# Checks of unsigned final events at once, at most: forged ones cannot take more of the
# account's requests than this. One not checked is ignored, which is safe: the call is hung
# up on time, and a hang-up to a call already over is answered 404.
MOST_CONFIRMATIONS = 3
# How long shutdown waits for its hang-ups; Vonage's length_timer ends any it missed.
SHUTDOWN_SECONDS = 5


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


class CallNotPlaced(Exception):
    """The Voice API did not create the call: the HTTP status for whoever asked, and why."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class NotNow(Exception):
    """A control on the call's page does not apply to the call as it is now: the HTTP status, and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CannotSay(Exception):
    """The text was not sent: the HTTP status for whoever asked, and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Outcome:
    """How one Voice API request went: `error` is None when it succeeded (or the call was gone)."""

    error: Exception | None = None


class CallFlow:
    """The calls this app placed, and what it does for each as events arrive.

    Webhook requests only update this table and queue Voice API work in the pacer,
    so Vonage never waits on the Voice API for its answer. Each queued piece of work
    makes at most one request, so the pacer's count is the account's count.
    """

    def __init__(
        self, settings: Settings, voice: Voice, deadlines: Deadlines | None = None, pacer: Pacer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._voice = voice
        self._public_url = PublicUrl(settings)
        self._calls: dict[str, Call] = {}
        self._by_conversation: dict[str, Call] = {}
        self._being_placed = 0
        self._closing = False
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._clock = clock
        self._deadlines = Deadlines() if deadlines is None else deadlines
        self._pacer = Pacer(settings.calls_per_second, settings.requests_per_second) if pacer is None else pacer
        self.history = CallHistory()

    def __len__(self) -> int:
        """How many calls the table holds: in progress, or hung up and awaiting their final event."""
        with self._lock:
            return len(self._calls)

    def state_of(self, uuid: str) -> CallState | None:
        with self._lock:
            call = self._calls.get(uuid)
            return call.state if call else None

    def now_of(self, uuid: str) -> tuple[CallState, float | None] | None:
        """Call `uuid`'s state and the seconds until its hang-up is due, if scheduled; None once it has ended."""
        with self._lock:
            call = self._calls.get(uuid)
            if call is None:
                return None
            due = call.hang_up_due if call.state in MUSIC_STATES else None
            return call.state, None if due is None else max(0.0, due - self._clock())

    def base_url_of(self, uuid: str) -> str:
        """The public URL call `uuid` was placed with; the current one for a call this app does not know
        (yet: Vonage may fetch the answer NCCO before POST /v1/calls has answered), or NoPublicUrl."""
        with self._lock:
            call = self._calls.get(uuid)
        return call.base_url if call else self._public_url.current()

    # --- placing a call ------------------------------------------------------------

    def place_call(self) -> str:
        """Ring TO_NUMBER; return the new call's uuid, or raise CallNotPlaced saying why."""
        s = self._settings
        with self._lock:
            if self._closing:
                raise CallNotPlaced(503, "The app is shutting down.")
            in_progress = self._being_placed + sum(call.in_progress for call in self._calls.values())
            if in_progress >= s.max_active_calls:
                log.warning("/call: refused: %d call(s) in progress, the most MAX_ACTIVE_CALLS allows", in_progress)
                raise CallNotPlaced(
                    429, f"{in_progress} call(s) are already in progress, the most MAX_ACTIVE_CALLS allows. "
                    "Try again when one has ended."
                )
            self._being_placed += 1
        call = None
        try:
            call = self._create_call(self._current_base_url())
        finally:
            # One step, so that no other request sees the call counted twice or not at all.
            with self._changed:
                self._being_placed -= 1
                if call is not None:
                    self._add(call)
                self._changed.notify_all()
        return call.uuid

    def _current_base_url(self) -> str:
        try:
            return self._public_url.current()
        except NoPublicUrl as why:
            log.error("call to %s: not placed: %s", self._settings.to_number, why)
            raise CallNotPlaced(503, str(why)) from None

    def _create_call(self, base_url: str) -> Call:
        s = self._settings
        request = CreateCallRequest(
            to=[ToPhone(number=s.to_number)],
            from_=Phone(number=s.vonage_number),
            answer_url=[f"{base_url}/audio/answer.json"],
            event_url=[f"{base_url}/webhooks/events"],
            ringing_timer=s.ringing_timer,
            length_timer=s.length_timer,
        )
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            if not self._pacer.reserve_call_creation(CREATE_WAIT_SECONDS):
                log.warning("/call: refused: more calls asked for than VONAGE_CALLS_PER_SECOND (%d) allows",
                            s.calls_per_second)
                raise CallNotPlaced(
                    429, f"Calls are being placed faster than VONAGE_CALLS_PER_SECOND ({s.calls_per_second}) "
                    "allows. Try again in a second.", retry_after=1,
                )
            started = time.monotonic()
            try:
                response = self._voice.create_call(request)
            except VOICE_API_ERRORS as error:
                failure = CallNotPlaced(*explain(error, s.api_timeout))
                retry_in = FIRST_RETRY_SECONDS * 2 ** (attempt - 1)
                again = nothing_was_created(error) and attempt < CREATE_ATTEMPTS
                log.error(
                    "call to %s: POST /v1/calls failed after %s: %s%s", s.to_number, _since(started),
                    failure.reason, f" Retrying in {retry_in:g} s." if again else "",
                )
                if not again:
                    raise failure from error
            else:
                log.info(
                    "call %s: placed to %s from %s, length_timer %d s (POST /v1/calls %s, took %s)",
                    response.uuid, s.to_number, s.vonage_number, s.length_timer, response.status, _since(started),
                )
                self.history.placed(response.uuid, "placed: POST /v1/calls", _ms_since(started))
                return Call(response.uuid, response.conversation_uuid, placed_at=self._clock(), base_url=base_url)
            finally:
                self._pacer.call_creation_answered()
            time.sleep(retry_in)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _add(self, call: Call) -> None:
        """Start tracking a new call (the lock is held)."""
        self._calls[call.uuid] = call
        self._by_conversation[call.conversation_uuid] = call
        # If the final event is lost, the call still stops counting once Vonage has ended it.
        call.expiry = self._deadlines.schedule(self._settings.longest_call, self._forget_overdue_call, call)
        if self._closing:
            log.info("call %s: placed while shutting down; hanging it up", call.uuid)
            self._hang_up_soon(call)

    # --- events from Vonage --------------------------------------------------------

    def on_event(self, event: VoiceEvent) -> None:
        """Act on one Voice API event; never blocks on the Voice API."""
        with self._changed:
            call = self._calls.get(event.call_uuid or "") or self._by_conversation.get(event.conversation_uuid or "")
            named = call.uuid if call else event.call_uuid or event.conversation_uuid or "(none named)"
            if event.kind == "error":
                log.error("call %s: Vonage reported an error: %s", named, event.reason)
            elif event.status is None or event.kind != "status":
                log.info("call %s: %s event; nothing to do", named, event.kind)
            elif call is None:
                log.info("call %s: event %s for a call this app is not handling; nothing sent", named, event.status)
            else:
                self._on_status(call, event)
            self._changed.notify_all()

    def _on_status(self, call: Call, event: VoiceEvent) -> None:
        status = event.status
        if status not in KNOWN_STATUSES:
            log.info("call %s: ignored an event with an unknown status %s", call.uuid, status)
        elif status == "answered" and call.state in (CallState.PLACED, CallState.RINGING):
            call.state = CallState.ANSWERED
            call.answered_at = self._clock()
            log.info("call %s: answered; starting the music", call.uuid)
            self.history.note(call.uuid, "answered; starting the music")
            self._pacer.submit(Priority.START_MUSIC, self._start_music, call)
        elif status == "answered":
            log.info("call %s: repeated answered event; the music is already arranged, nothing sent", call.uuid)
        elif (status in FINAL_STATUSES and call.in_progress and not call.hanging_up_now
              and not self._settings.signature_secret):
            # Anyone who finds BASE_URL could have sent it; ending the call's record on its word
            # would drop the hang-up and free a MAX_ACTIVE_CALLS slot, so the Voice API is asked
            # first. Once the app's own hang-up is on its way, the ending is the app's doing.
            if call.confirming_end:
                log.info("call %s: unsigned %s event; already asking the Voice API", call.uuid, status)
            elif sum(c.confirming_end for c in self._calls.values()) >= MOST_CONFIRMATIONS:
                log.warning("call %s: ignored an unsigned %s event: %d others are being checked; the call is still "
                            "hung up on time", call.uuid, status, MOST_CONFIRMATIONS)
            else:
                call.confirming_end = True
                log.info("call %s: unsigned %s event; asking the Voice API before acting on it", call.uuid, status)
                self._pacer.submit(Priority.CONFIRM_END, self._confirm_ended, call, event)
        elif status in FINAL_STATUSES:
            self._finish(call, event)
        else:
            if status == "ringing" and call.state is CallState.PLACED:
                call.state = CallState.RINGING
            log.info("call %s: %s", call.uuid, status)
            self.history.note(call.uuid, status)

    def _finish(self, call: Call, event: VoiceEvent) -> None:
        """Vonage says the call is over (the lock is held)."""
        pending = self._end(call)
        log.info(
            "call %s: %s%s; %s", call.uuid, event.status, _billing(event),
            "pending hang-up cancelled, nothing more sent" if pending else "nothing more to send",
        )
        self.history.ended(call.uuid, f"ended: {event.status}{_billing(event)}", event.status, event.duration,
                           event.price)

    def _confirm_ended(self, call: Call, event: VoiceEvent, attempt: int = 1) -> None:
        with self._lock:
            if call.state is CallState.ENDED:
                return
            retry_in = self._retry_in(attempt, self._ended_by_vonage_at(call))
        found: CallInfo | None = None
        with self._voice_api_request(call, _step("GET call", attempt), gone_is_fine=True, retry_in=retry_in) as outcome:
            found = self._voice.get_call(call.uuid)
        with self._changed:
            if call.state is CallState.ENDED:
                return
            if outcome.error is None and (found is None or found.status in FINAL_STATUSES):
                self._finish(call, event)  # a 404 (found is None) too: no such call is going on
            elif outcome.error is None:
                call.confirming_end = False
                log.warning(
                    "call %s: ignored a %s event that the Voice API contradicts: the call is %s. Unsigned events "
                    "can be forged; set VONAGE_SIGNATURE_SECRET so that only Vonage's count.",
                    call.uuid, event.status, shown(found.status),
                )
                self.history.note(call.uuid, f"ignored a {event.status} event the Voice API contradicts")
            elif is_transient(outcome.error) and retry_in is not None:
                self._deadlines.schedule(
                    retry_in, self._pacer.submit, Priority.CONFIRM_END, self._confirm_ended, call, event, attempt + 1,
                )
            else:
                call.confirming_end = False
                log.error("call %s: could not confirm the %s event, so the call is still treated as in progress; "
                          "a hang-up to a call already over is answered 404 and harms nothing", call.uuid, event.status)
            self._changed.notify_all()

    def _end(self, call: Call) -> bool:
        """Vonage says the call is over: forget it (the lock is held); True if a hang-up was pending."""
        pending = call.state in (CallState.ANSWERED, CallState.STREAMING, CallState.HANGING_UP)
        call.state = CallState.ENDED
        self._calls.pop(call.uuid, None)
        self._by_conversation.pop(call.conversation_uuid, None)
        for event in (call.expiry, call.hangup):
            if event is not None:
                self._deadlines.cancel(event)
        return pending

    def _forget_overdue_call(self, call: Call) -> None:
        with self._changed:
            if call.state is CallState.ENDED:
                return
            self._end(call)
            self._changed.notify_all()
        log.warning(
            "call %s: no final event within %d s of placing it; Vonage has ended it, so it is forgotten",
            call.uuid, self._settings.longest_call,
        )
        self.history.ended(call.uuid, "no final event came; Vonage has ended the call", "unknown")

    # --- the music, and the hang-up STREAM_SECONDS later ---------------------------

    def _start_music(self, call: Call, attempt: int = 1) -> None:
        with self._lock:
            if call.state is not CallState.ANSWERED:
                return  # the call ended while this waited
            too_late = call.answered_at + LATEST_MUSIC_START_SECONDS
            if self._clock() > too_late:
                log.warning("call %s: too late to start the music, %s after answered; hanging up instead",
                            call.uuid, _seconds(self._clock() - call.answered_at))
                self.history.note(call.uuid, "too late to start the music; hanging up instead")
                self._hang_up_soon(call)
                return
            retry_in = self._retry_in(attempt, too_late)
        step, music = self._music(call)
        with self._voice_api_request(call, _step(step, attempt), retry_in=retry_in) as outcome:
            self._voice.play_audio_into_call(call.uuid, music)
        with self._lock:
            if call.state is not CallState.ANSWERED:
                log.info("call %s: ended while the music was starting; no hang-up needed", call.uuid)
            elif outcome.error is None:
                call.state = CallState.STREAMING
                call.hangup = self._deadlines.schedule(self._settings.stream_seconds, self._time_up, call)
                call.hang_up_due = self._clock() + self._settings.stream_seconds
                log.info("call %s: hang-up in %g s", call.uuid, self._settings.stream_seconds)
                self.history.note(call.uuid, f"music playing; hang-up in {self._settings.stream_seconds:g} s")
            elif is_transient(outcome.error) and retry_in is not None:
                call.hangup = self._deadlines.schedule(
                    retry_in, self._pacer.submit, Priority.START_MUSIC, self._start_music, call, attempt + 1,
                )
            else:
                log.error("call %s: the music could not start; hanging up rather than leave the callee on a "
                          "silent line", call.uuid)
                self.history.note(call.uuid, "the music could not start; hanging up")
                self._hang_up_soon(call)

    def _music(self, call: Call) -> tuple[str, AudioStreamOptions]:
        """The PUT stream request that plays AUDIO into `call`, and its step's name."""
        s = self._settings
        # The Voice API's default level is 0, so a request at that level leaves it out.
        level = s.audio_level or None
        step = f"PUT stream {s.audio.source} loop {s.audio_loop}" + (f" level {level:g}" if level else "")
        return step, AudioStreamOptions(stream_url=[s.audio.url(call.base_url)], loop=s.audio_loop, level=level)

    def _time_up(self, call: Call) -> None:
        with self._lock:
            if call.state not in MUSIC_STATES:
                return
            if call.state in (CallState.STOPPING_MUSIC, CallState.MUSIC_STOPPED):
                log.info("call %s: STREAM_SECONDS are up; the music is stopped, so hanging up", call.uuid)
                self.history.note(call.uuid, "time is up; hanging up")
                self._hang_up_soon(call)
                return
            call.state = CallState.HANGING_UP
        log.info("call %s: STREAM_SECONDS are up; stopping the music, then hanging up", call.uuid)
        self.history.note(call.uuid, "time is up; stopping the music, then hanging up")
        self._pacer.submit(Priority.STOP_MUSIC, self._stop_music, call)

    def _stop_music(self, call: Call) -> None:
        with self._lock:
            if call.state is not CallState.HANGING_UP:
                return
        # Vonage answers 404 once the call (or its stream) is over: the callee hung up
        # and the `completed` event is still on its way. Nothing is wrong then. A failed
        # stop is not retried: the hang-up, which goes next either way, ends the stream.
        with self._voice_api_request(call, "DELETE stream", gone_is_fine=True):
            self._voice.stop_audio_stream(call.uuid)
        self._pacer.submit(Priority.HANG_UP, self._hang_up, call)

    def _hang_up_soon(self, call: Call) -> None:
        """Queue the hang-up ahead of all other work (the lock is held)."""
        call.state = CallState.HANGING_UP
        self._pacer.submit(Priority.HANG_UP, self._hang_up, call)

    def _hang_up(self, call: Call, attempt: int = 1) -> None:
        s = self._settings
        with self._lock:
            if call.state is not CallState.HANGING_UP or call.hanging_up_now:
                return  # ended while this waited, or hung up by a copy of this queued at shutdown
            call.hanging_up_now = True
            retry_in = self._retry_in(attempt, self._ended_by_vonage_at(call))
        with self._voice_api_request(call, _step("PUT hangup", attempt), gone_is_fine=True, retry_in=retry_in) as outcome:
            self._voice.hangup(call.uuid)
        with self._changed:
            call.hanging_up_now = False
            if call.state is not CallState.HANGING_UP:
                return
            if outcome.error is None:
                call.state = CallState.HUNG_UP
                self.history.note(call.uuid, "hung up; waiting for Vonage's final status")
            elif is_transient(outcome.error) and retry_in is not None:
                call.hangup = self._deadlines.schedule(
                    retry_in, self._pacer.submit, Priority.HANG_UP, self._hang_up, call, attempt + 1,
                )
                return
            else:
                call.state = CallState.LEFT_TO_LENGTH_TIMER
            self._changed.notify_all()
        if outcome.error is not None:
            why = ("shutting down" if self._closing else
                   "a retry would come after Vonage's length_timer ends the call" if is_transient(outcome.error)
                   else "retrying cannot change this answer")
            log.error("call %s: gave up hanging up (%s); Vonage's length_timer ends the call %d s after it was "
                      "answered", call.uuid, why, s.length_timer)
            self.history.note(call.uuid, f"gave up hanging up ({why}); Vonage's length_timer ends the call")

    def _ended_by_vonage_at(self, call: Call) -> float:
        """When Vonage's own timers end the call whatever the app does (the lock is held)."""
        if call.answered_at is not None:
            return call.answered_at + self._settings.length_timer
        return call.placed_at + self._settings.longest_call

    def _retry_in(self, attempt: int, pointless_after: float) -> float | None:
        """The pause before the next try, or None if that try would come too late (or never)."""
        pause = FIRST_RETRY_SECONDS * 2 ** (attempt - 1)
        return None if self._closing or self._clock() + pause >= pointless_after else pause

    # --- the controls on the call's page: Stop music, Play music, Hang up ---------------

    def stop_music(self, uuid: str) -> None:
        """Stop the music while the hang-up stays due when it was; NotNow unless the music is playing."""
        with self._lock:
            call = self._in_state(uuid, {CallState.STREAMING}, "stop the music")
            call.state = CallState.STOPPING_MUSIC
            log.info("call %s: the person asked to stop the music", uuid)
            self.history.note(uuid, "Stop music pressed")
            self._pacer.submit(Priority.STOP_MUSIC, self._pause_music, call)

    def _pause_music(self, call: Call) -> None:
        with self._lock:
            if call.state is not CallState.STOPPING_MUSIC:
                return  # time was up, or the call ended, while this waited
        with self._voice_api_request(call, "DELETE stream", gone_is_fine=True) as outcome:
            self._voice.stop_audio_stream(call.uuid)
        with self._lock:
            if call.state is CallState.STOPPING_MUSIC:
                # Not stopped: it still plays, and the person may press Stop music again.
                call.state = CallState.MUSIC_STOPPED if outcome.error is None else CallState.STREAMING

    def play_music(self, uuid: str) -> None:
        """Play AUDIO again before the hang-up is due; NotNow unless the person stopped it."""
        with self._lock:
            call = self._in_state(uuid, {CallState.MUSIC_STOPPED}, "play the music")
            call.state = CallState.ANSWERED
            log.info("call %s: the person asked to play the music again", uuid)
            self.history.note(uuid, "Play music pressed")
            self._pacer.submit(Priority.START_MUSIC, self._play_music_again, call)

    def _play_music_again(self, call: Call) -> None:
        with self._lock:
            if call.state is not CallState.ANSWERED:
                return  # time was up, or the call ended, while this waited
        step, music = self._music(call)
        with self._voice_api_request(call, step) as outcome:
            self._voice.play_audio_into_call(call.uuid, music)
        with self._lock:
            if call.state is CallState.ANSWERED:
                # Not retried: the person sees the failure and may press Play music again.
                call.state = CallState.STREAMING if outcome.error is None else CallState.MUSIC_STOPPED

    def hang_up(self, uuid: str) -> None:
        """Hang up now, through the one hang-up each call gets; NotNow once it is being hung up or over."""
        with self._lock:
            call = self._in_state(uuid, HANG_UP_STATES, "hang up")
            log.info("call %s: the person asked to hang up", uuid)
            self.history.note(uuid, "Hang up pressed")
            self._hang_up_soon(call)

    def _in_state(self, uuid: str, states: frozenset[CallState] | set[CallState], doing: str) -> Call:
        """Call `uuid` if it is in one of `states`, else NotNow saying why (the lock is held)."""
        call = self._calls.get(uuid)
        if call is None or call.state not in states:
            raise NotNow(409, f"Cannot {doing} now: the call is {call.state.value if call else 'over'}.")
        return call

    # --- saying something into the call ------------------------------------------

    def say(self, uuid: str, text: str) -> None:
        """Speak `text` into call `uuid` over the music, or raise CannotSay if the call is not answered."""
        with self._lock:
            call = self._calls.get(uuid)
            state = call.state if call else None
            if state in (CallState.ANSWERED, CallState.STREAMING):
                log.info("call %s: saying %d character(s): %r", uuid, len(text), text)
                self._pacer.submit(Priority.OTHER, self._say, call, text)
                return
        raise CannotSay(409, "The call is not answered, so there is no one to say it to: "
                             + (f"it is {state.value}." if state else "it has ended, or this app did not place it."))

    def _say(self, call: Call, text: str) -> None:
        with self._voice_api_request(call, "say"):
            self._voice.play_tts_into_call(call.uuid, TtsStreamOptions(
                text=text, language=self._settings.greeting_language,
            ))

    # --- shutting down -------------------------------------------------------------

    def close(self) -> int:
        """Hang up every call still in progress, waiting at most SHUTDOWN_SECONDS, then stop;
        return how many calls could not be ended (Vonage's length_timer ends those)."""
        give_up_at = time.monotonic() + SHUTDOWN_SECONDS
        with self._changed:
            self._closing = True
            # A call being placed now is hung up as soon as it exists (see _add).
            self._changed.wait_for(lambda: self._being_placed == 0, SHUTDOWN_SECONDS)
            in_progress = [call for call in self._calls.values() if call.in_progress]
        self._deadlines.stop()
        if in_progress:
            log.info("shutting down: ending %d call(s) in progress", len(in_progress))
        with self._changed:
            for call in in_progress:
                if call.state is CallState.STREAMING:
                    call.state = CallState.HANGING_UP
                    self._pacer.submit(Priority.STOP_MUSIC, self._stop_music, call)
                elif call.in_progress:
                    self._hang_up_soon(call)  # a copy of one already queued or in flight sends nothing
            self._changed.wait_for(lambda: not any(call.in_progress for call in in_progress),
                                   give_up_at - time.monotonic())
            ended = sum(call.state in (CallState.HUNG_UP, CallState.ENDED) for call in in_progress)
        if in_progress:
            log.info("shutting down: ended %d of %d call(s)%s", ended, len(in_progress),
                     "" if ended == len(in_progress) else "; Vonage's length_timer ends the rest")
        # A request still in flight is abandoned: its thread does not hold up the exit.
        self._pacer.stop(max(0.0, give_up_at - time.monotonic()))
        return len(in_progress) - ended

    # --- one Voice API request, logged in one line -----------------------------------

    @contextmanager
    def _voice_api_request(
        self, call: Call, step: str, gone_is_fine: bool = False, retry_in: float | None = None,
    ) -> Iterator[Outcome]:
        """Time and log the request sent in the `with` block; a failure is kept in the Outcome, not raised."""
        outcome = Outcome()
        started = time.monotonic()
        try:
            yield outcome
        except VOICE_API_ERRORS as error:
            if gone_is_fine and is_gone(error):
                log.info("call %s: %s answered 404: already ended (took %s)", call.uuid, step, _since(started))
                self.history.note(call.uuid, f"{step}: already ended", _ms_since(started))
                return
            outcome.error = error
            reason = explain(error, self._settings.api_timeout)[1]
            then = f" Retrying in {retry_in:g} s." if retry_in is not None and is_transient(error) else ""
            log.error("call %s: %s failed after %s: %s%s", call.uuid, step, _since(started), reason, then)
            self.history.note(call.uuid, f"{step} failed.{then}", _ms_since(started), failure=reason)
        else:
            log.info("call %s: %s done (took %s)", call.uuid, step, _since(started))
            self.history.note(call.uuid, f"{step} done", _ms_since(started))


def _step(step: str, attempt: int) -> str:
    return step if attempt == 1 else f"{step} (attempt {attempt})"


def _billing(event: VoiceEvent) -> str:
    said = [f"{name} {value}" for name, value in (
        ("after", event.duration and f"{event.duration} s"), ("price", event.price),
        ("detail", event.detail), ("disconnected by", event.disconnected_by),
    ) if value]
    return f" ({', '.join(said)})" if said else ""


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s"


def _since(started: float) -> str:
    return f"{_ms_since(started)} ms"


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
