"""The calls this app placed, each one's state, and what the app sends as events arrive.

A call's life: placed -> ringing -> answered -> streaming (the music) -> hanging up ->
hung up -> ended. Where each Voice API request is sent:
  CallFlow.place_call        POST /v1/calls             ring TO_NUMBER
  CallFlow._start_music      PUT /v1/calls/{uuid}/stream    on `answered`
  CallFlow._stop_music       DELETE /v1/calls/{uuid}/stream STREAM_SECONDS later
  CallFlow._hang_up          PUT /v1/calls/{uuid} hangup    right after, retried
  CallFlow._say              PUT /v1/calls/{uuid}/talk      when the user says something into the call
"""

from __future__ import annotations

import enum
import logging
import sched
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass

from vonage_voice import AudioStreamOptions, CreateCallRequest, Phone, ToPhone, TtsStreamOptions, Voice

from stream_audio.deadlines import Deadlines
from stream_audio.public_url import NoPublicUrl, PublicUrl
from stream_audio.settings import Settings
from stream_audio.voice_api import VOICE_API_ERRORS, explain, is_gone, is_transient

log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"completed", "busy", "cancelled", "unanswered", "rejected", "failed", "timeout"})
KNOWN_STATUSES = FINAL_STATUSES | {"started", "ringing", "answered", "human", "machine"}

VOICE_API_WORKERS = 8
# The hang-up is the request whose loss costs the user money, so it is retried on a
# transient failure: after 0.5 s, 1 s and 2 s.
HANGUP_ATTEMPTS = 4
HANGUP_FIRST_RETRY_SECONDS = 0.5
# How long shutdown waits for its hang-ups; Vonage's length_timer ends any it missed.
SHUTDOWN_SECONDS = 5


class CallState(enum.Enum):
    PLACED = "placed"
    RINGING = "ringing"
    ANSWERED = "answered"  # the music is being started, or failed to start
    STREAMING = "streaming"  # the music is playing; the hang-up is scheduled
    HANGING_UP = "hanging up"
    HUNG_UP = "hung up"  # by this app, or it gave up trying; the final event is on its way
    ENDED = "ended"  # Vonage reported a final status, or the call outlived longest_call


@dataclass(eq=False)
class Call:
    uuid: str
    state: CallState = CallState.PLACED
    hangup: sched.Event | None = None
    expiry: sched.Event | None = None
    base_url: str = ""  # the public URL it was placed with: its answer NCCO and audio use it

    @property
    def in_progress(self) -> bool:
        return self.state not in (CallState.HUNG_UP, CallState.ENDED)


class CallNotPlaced(Exception):
    """The Voice API did not create the call: the HTTP status for whoever asked, and why."""

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

    Webhook requests only update this table and hand Voice API work to a small pool
    of threads, so Vonage never waits on the Voice API for its answer.
    """

    def __init__(
        self, settings: Settings, voice: Voice, deadlines: Deadlines | None = None, workers: Executor | None = None,
    ) -> None:
        self._settings = settings
        self._voice = voice
        self._public_url = PublicUrl(settings)
        self._calls: dict[str, Call] = {}
        self._being_placed = 0
        self._lock = threading.Lock()
        self._deadlines = deadlines or Deadlines()
        self._workers = workers or ThreadPoolExecutor(VOICE_API_WORKERS, thread_name_prefix="voice-api")

    def __len__(self) -> int:
        """How many calls the table holds: in progress, or hung up and awaiting their final event."""
        with self._lock:
            return len(self._calls)

    def state_of(self, uuid: str) -> CallState | None:
        with self._lock:
            call = self._calls.get(uuid)
            return call.state if call else None

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
            base_url = self._current_base_url()
            call = Call(self._create_call(base_url), base_url=base_url)
        finally:
            # One step, so that no other request sees the call counted twice or not at all.
            with self._lock:
                self._being_placed -= 1
                if call is not None:
                    self._calls[call.uuid] = call
                    # If the final event is lost, the call still stops counting once Vonage has ended it.
                    call.expiry = self._deadlines.schedule(s.longest_call, self._forget_overdue_call, call)
        return call.uuid

    def _current_base_url(self) -> str:
        try:
            return self._public_url.current()
        except NoPublicUrl as why:
            log.error("call to %s: not placed: %s", self._settings.to_number, why)
            raise CallNotPlaced(503, str(why)) from None

    def _create_call(self, base_url: str) -> str:
        s = self._settings
        started = time.monotonic()
        try:
            response = self._voice.create_call(CreateCallRequest(
                to=[ToPhone(number=s.to_number)],
                from_=Phone(number=s.vonage_number),
                answer_url=[f"{base_url}/audio/answer.json"],
                event_url=[f"{base_url}/webhooks/events"],
                ringing_timer=s.ringing_timer,
                length_timer=s.length_timer,
            ))
        except VOICE_API_ERRORS as error:
            failure = CallNotPlaced(*explain(error, s.api_timeout))
            log.error("call to %s: POST /v1/calls failed after %s: %s", s.to_number, _since(started), failure.reason)
            raise failure from error
        log.info(
            "call %s: placed to %s from %s, length_timer %d s (POST /v1/calls %s, took %s)",
            response.uuid, s.to_number, s.vonage_number, s.length_timer, response.status, _since(started),
        )
        return response.uuid

    # --- events from Vonage --------------------------------------------------------

    def on_event(self, uuid: str, status: str) -> None:
        """Act on one Voice API event; never blocks on the Voice API."""
        with self._lock:
            call = self._calls.get(uuid)
            if call is None:
                log.info("call %s: event %s for a call this app is not handling; nothing sent", uuid, status)
            elif status not in KNOWN_STATUSES:
                log.info("call %s: ignored an event with an unknown status %s", uuid, status)
            elif status == "answered" and call.state in (CallState.PLACED, CallState.RINGING):
                call.state = CallState.ANSWERED
                log.info("call %s: answered; starting the music", uuid)
                self._workers.submit(self._start_music, call)
            elif status == "answered":
                log.info("call %s: repeated answered event; the music is already arranged, nothing sent", uuid)
            elif status in FINAL_STATUSES:
                cancelled = self._end(call)
                log.info(
                    "call %s: %s; %s", uuid, status,
                    "pending hang-up cancelled, nothing more sent" if cancelled else "nothing more to send",
                )
            else:
                if status == "ringing" and call.state is CallState.PLACED:
                    call.state = CallState.RINGING
                log.info("call %s: %s", uuid, status)

    def _end(self, call: Call) -> bool:
        """Vonage says the call is over: forget it (the lock is held); True if a hang-up was pending."""
        call.state = CallState.ENDED
        self._calls.pop(call.uuid, None)
        if call.expiry is not None:
            self._deadlines.cancel(call.expiry)
        return call.hangup is not None and self._deadlines.cancel(call.hangup)

    def _forget_overdue_call(self, call: Call) -> None:
        with self._lock:
            if call.state is CallState.ENDED:
                return
            self._end(call)
        log.warning(
            "call %s: no final event within %d s of placing it; Vonage has ended it, so it is forgotten",
            call.uuid, self._settings.longest_call,
        )

    # --- the music, and the hang-up STREAM_SECONDS later ---------------------------

    def _start_music(self, call: Call) -> None:
        s = self._settings
        # The Voice API's default level is 0, so a request at that level leaves it out.
        level = s.audio_level or None
        step = f"PUT stream {s.audio.source} loop {s.audio_loop}" + (f" level {level:g}" if level else "")
        with self._voice_api_request(call, step) as outcome:
            self._voice.play_audio_into_call(call.uuid, AudioStreamOptions(
                stream_url=[s.audio.url(call.base_url)], loop=s.audio_loop, level=level,
            ))
        delay = self._settings.stream_seconds
        with self._lock:
            if call.state is CallState.ENDED:
                log.info("call %s: ended while the music was starting; no hang-up needed", call.uuid)
                return
            if outcome.error is None:
                call.state = CallState.STREAMING
            call.hangup = self._deadlines.schedule(delay, self._workers.submit, self._stop_music_and_hang_up, call)
        log.info("call %s: hang-up in %g s", call.uuid, delay)

    def _stop_music_and_hang_up(self, call: Call) -> None:
        with self._lock:
            if call.state is CallState.ENDED:
                return
            streaming = call.state is CallState.STREAMING
            call.state = CallState.HANGING_UP
        if streaming:
            self._stop_music(call)
        self._hang_up(call)

    def _stop_music(self, call: Call) -> None:
        # Vonage answers 404 once the call (or its stream) is over: the callee hung up
        # and the `completed` event is still on its way. Nothing is wrong then.
        with self._voice_api_request(call, "DELETE stream", gone_is_fine=True):
            self._voice.stop_audio_stream(call.uuid)

    def _hang_up(self, call: Call, attempt: int = 1) -> None:
        with self._lock:
            if call.state is not CallState.HANGING_UP:
                return  # the callee hung up while this waited
        retry_in = HANGUP_FIRST_RETRY_SECONDS * 2 ** (attempt - 1) if attempt < HANGUP_ATTEMPTS else None
        step = "PUT hangup" if attempt == 1 else f"PUT hangup (attempt {attempt} of {HANGUP_ATTEMPTS})"
        with self._voice_api_request(call, step, gone_is_fine=True, retry_in=retry_in) as outcome:
            self._voice.hangup(call.uuid)
        with self._lock:
            if call.state is CallState.ENDED:
                return
            if outcome.error is not None and is_transient(outcome.error) and retry_in is not None:
                call.hangup = self._deadlines.schedule(retry_in, self._workers.submit, self._hang_up, call, attempt + 1)
                return
            call.state = CallState.HUNG_UP
        if outcome.error is not None:
            log.error(
                "call %s: gave up hanging up; Vonage's length_timer ends the call %d s after it was answered",
                call.uuid, self._settings.length_timer,
            )

    # --- saying something into the call ------------------------------------------

    def say(self, uuid: str, text: str) -> None:
        """Speak `text` into call `uuid` over the music, or raise CannotSay if the call is not answered."""
        with self._lock:
            call = self._calls.get(uuid)
            state = call.state if call else None
            if state in (CallState.ANSWERED, CallState.STREAMING):
                log.info("call %s: saying %d character(s): %r", uuid, len(text), text)
                self._workers.submit(self._say, call, text)
                return
        raise CannotSay(409, "The call is not answered, so there is no one to say it to: "
                             + (f"it is {state.value}." if state else "it has ended, or this app did not place it."))

    def _say(self, call: Call, text: str) -> None:
        with self._voice_api_request(call, "say"):
            self._voice.play_tts_into_call(call.uuid, TtsStreamOptions(
                text=text, language=self._settings.greeting_language,
            ))

    # --- shutting down -------------------------------------------------------------

    def close(self) -> None:
        """Hang up every call still in progress (waiting at most SHUTDOWN_SECONDS), then stop."""
        self._deadlines.stop()
        with self._lock:
            in_progress = [call for call in self._calls.values() if call.in_progress]
            self._calls.clear()
        still_sending = set()
        if in_progress:
            log.info("shutting down: ending %d call(s) in progress", len(in_progress))
            endings = [self._workers.submit(self._hang_up_at_shutdown, call) for call in in_progress]
            done, still_sending = wait(endings, timeout=SHUTDOWN_SECONDS)
            ended = sum(ending.result() for ending in done)
            log.info(
                "shutting down: ended %d of %d call(s)%s", ended, len(in_progress),
                "" if ended == len(in_progress) else "; Vonage's length_timer ends the rest",
            )
        # A request still in flight ends within VONAGE_API_TIMEOUT; the interpreter waits for it.
        self._workers.shutdown(wait=not still_sending, cancel_futures=True)

    def _hang_up_at_shutdown(self, call: Call) -> bool:
        """One try at stopping the music and hanging up; True if the call is over."""
        if call.state is CallState.STREAMING:
            self._stop_music(call)
        with self._voice_api_request(call, "PUT hangup (shutting down)", gone_is_fine=True) as outcome:
            self._voice.hangup(call.uuid)
        call.state = CallState.HUNG_UP if outcome.error is None else call.state
        return outcome.error is None

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
                return
            outcome.error = error
            reason = explain(error, self._settings.api_timeout)[1]
            then = f"; retrying in {retry_in:g} s" if retry_in is not None and is_transient(error) else ""
            log.error("call %s: %s failed after %s: %s%s", call.uuid, step, _since(started), reason, then)
        else:
            log.info("call %s: %s done (took %s)", call.uuid, step, _since(started))


def _since(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.0f} ms"
