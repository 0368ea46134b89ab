"""Each Voice API request the app makes for a call, written where it happens:

  CallRequests._create_call       POST /v1/calls                 ring TO_NUMBER (for CallFlow.place_call)
  CallRequests._start_music       PUT /v1/calls/{uuid}/stream    on `answered`
  CallRequests._stop_music        DELETE /v1/calls/{uuid}/stream STREAM_SECONDS later (_time_up)
  CallRequests._hang_up           PUT /v1/calls/{uuid} hangup    right after
  CallRequests._say               PUT /v1/calls/{uuid}/talk      the user says something into the call
  CallRequests._pause_music       DELETE /v1/calls/{uuid}/stream the person presses Stop music on the call's page
  CallRequests._play_music_again  PUT /v1/calls/{uuid}/stream    ... and Play music (Hang up is _hang_up)

Every request but the first waits its turn in the pacer (pacer.py), hang-ups first. Each
is timed and logged in one line, noted in the call's history (history.py) for its page, and
a transient failure is retried while the request still has a point.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from vonage_voice import AudioStreamOptions, CreateCallRequest, Phone, ToPhone, TtsStreamOptions, Voice

from stream_audio.call_state import MUSIC_STATES, Call, CallState
from stream_audio.deadlines import Deadlines
from stream_audio.history import CallHistory
from stream_audio.pacer import Pacer, Priority
from stream_audio.settings import CALL_MARGIN_SECONDS, Settings
from stream_audio.voice_api import VOICE_API_ERRORS, explain, is_gone, is_transient, nothing_was_created

log = logging.getLogger(__name__)

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


class CallNotPlaced(Exception):
    """The Voice API did not create the call: the HTTP status for whoever asked, and why."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class Outcome:
    """How one Voice API request went: `error` is None when it succeeded (or the call was gone)."""

    error: Exception | None = None


class CallRequests:
    """The Voice API requests for the calls CallFlow keeps, and what they share: the client,
    the pacer, the deadline timer, the history and the lock that guards every call's state."""

    def __init__(
        self,
        settings: Settings,
        voice: Voice,
        deadlines: Deadlines | None = None,
        pacer: Pacer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._voice = voice
        self._closing = False
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._clock = clock
        self._deadlines = Deadlines() if deadlines is None else deadlines
        self._pacer = Pacer(settings.calls_per_second, settings.requests_per_second) if pacer is None else pacer
        self.history = CallHistory()

    # --- placing a call ------------------------------------------------------------

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
                log.warning(
                    "/call: refused: more calls asked for than VONAGE_CALLS_PER_SECOND (%d) allows", s.calls_per_second
                )
                raise CallNotPlaced(
                    429,
                    f"Calls are being placed faster than VONAGE_CALLS_PER_SECOND ({s.calls_per_second}) "
                    "allows. Try again in a second.",
                    retry_after=1,
                )
            started = time.monotonic()
            try:
                response = self._voice.create_call(request)
            except VOICE_API_ERRORS as error:
                failure = CallNotPlaced(*explain(error, s.api_timeout))
                retry_in = FIRST_RETRY_SECONDS * 2 ** (attempt - 1)
                again = nothing_was_created(error) and attempt < CREATE_ATTEMPTS
                log.error(
                    "call to %s: POST /v1/calls failed after %s: %s%s",
                    s.to_number,
                    _since(started),
                    failure.reason,
                    f" Retrying in {retry_in:g} s." if again else "",
                )
                if not again:
                    raise failure from error
            else:
                log.info(
                    "call %s: placed to %s from %s, length_timer %d s (POST /v1/calls %s, took %s)",
                    response.uuid,
                    s.to_number,
                    s.vonage_number,
                    s.length_timer,
                    response.status,
                    _since(started),
                )
                self.history.placed(response.uuid, "placed: POST /v1/calls", _ms_since(started))
                return Call(response.uuid, response.conversation_uuid, placed_at=self._clock(), base_url=base_url)
            finally:
                self._pacer.call_creation_answered()
            time.sleep(retry_in)
        raise AssertionError("unreachable: the last attempt returns or raises")

    # --- the music, and the hang-up STREAM_SECONDS later ---------------------------

    def _start_music(self, call: Call, attempt: int = 1) -> None:
        with self._lock:
            if call.state is not CallState.ANSWERED:
                return  # the call ended while this waited
            too_late = call.answered_at + LATEST_MUSIC_START_SECONDS
            if self._clock() > too_late:
                log.warning(
                    "call %s: too late to start the music, %s after answered; hanging up instead",
                    call.uuid,
                    _seconds(self._clock() - call.answered_at),
                )
                self.history.note(call.uuid, "too late to start the music; hanging up instead")
                self._hang_up_soon(call)
                return
            retry_in = self._retry_in(attempt, too_late)
        step, music = self._music(call)
        with self._voice_api_request(call, numbered(step, attempt), retry_in=retry_in) as outcome:
            self._voice.play_audio_into_call(call.uuid, music)
        with self._lock:
            if call.state is CallState.HANGING_UP:
                log.info("call %s: the hang-up asked for while the music was starting is on its way", call.uuid)
            elif call.state is not CallState.ANSWERED:
                log.info("call %s: ended while the music was starting; no hang-up needed", call.uuid)
            elif outcome.error is None:
                call.state = CallState.STREAMING
                call.hangup = self._deadlines.schedule(self._settings.stream_seconds, self._time_up, call)
                call.hang_up_due = self._clock() + self._settings.stream_seconds
                log.info("call %s: hang-up in %g s", call.uuid, self._settings.stream_seconds)
                self.history.note(call.uuid, f"music playing; hang-up in {self._settings.stream_seconds:g} s")
            elif is_transient(outcome.error) and retry_in is not None:
                call.hangup = self._deadlines.schedule(
                    retry_in,
                    self._pacer.submit,
                    Priority.START_MUSIC,
                    self._start_music,
                    call,
                    attempt + 1,
                )
            else:
                log.error(
                    "call %s: the music could not start; hanging up rather than leave the callee on a silent line",
                    call.uuid,
                )
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
        with self._voice_api_request(
            call, numbered("PUT hangup", attempt), gone_is_fine=True, retry_in=retry_in
        ) as outcome:
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
                    retry_in,
                    self._pacer.submit,
                    Priority.HANG_UP,
                    self._hang_up,
                    call,
                    attempt + 1,
                )
                return
            else:
                call.state = CallState.LEFT_TO_LENGTH_TIMER
            self._changed.notify_all()
        if outcome.error is not None:
            why = (
                "shutting down"
                if self._closing
                else "a retry would come after Vonage's length_timer ends the call"
                if is_transient(outcome.error)
                else "retrying cannot change this answer"
            )
            log.error(
                "call %s: gave up hanging up (%s); Vonage's length_timer ends the call %d s after it was answered",
                call.uuid,
                why,
                s.length_timer,
            )
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

    # --- the page's Stop music and Play music -------------------------------------

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

    # --- saying something into the call ------------------------------------------

    def _say(self, call: Call, text: str) -> None:
        with self._voice_api_request(call, "PUT talk"):
            self._voice.play_tts_into_call(
                call.uuid,
                TtsStreamOptions(
                    text=text,
                    language=self._settings.greeting_language,
                ),
            )

    # --- one Voice API request, logged in one line -----------------------------------

    @contextmanager
    def _voice_api_request(
        self,
        call: Call,
        step: str,
        gone_is_fine: bool = False,
        retry_in: float | None = None,
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


def numbered(step: str, attempt: int) -> str:
    """A retried request's step, as logged: `PUT hangup (attempt 2)`."""
    return step if attempt == 1 else f"{step} (attempt {attempt})"


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s"


def _since(started: float) -> str:
    return f"{_ms_since(started)} ms"


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
