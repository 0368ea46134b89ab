"""What happens to each call, as Vonage's events arrive, as deadlines pass and as the person presses
the call page's buttons. CallFlow owns the table of calls and the lock that guards it, the pacer
every request waits in and the deadlines that time each hang-up; each Call decides (call.py) and
VoiceRequests sends. Each queued piece of work makes at most one request:

  an event arrives                     on_event -> Call.status_reported
  answered: the music starts           Then.START_MUSIC, sent by _send (_request: start_stream)
  STREAM_SECONDS later                 Call.time_up: Then.STOP_MUSIC_THEN_HANG_UP, then Then.HANG_UP
  the page's buttons                   act (Call.stop_music, play_music, hang_up), say
  a call to VONAGE_NUMBER              answer_inbound, on the answer NCCO's fetch
  an unsigned final status             Then.CHECK_CALL (GET /v1/calls/{uuid}) before the call is forgotten
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from stream_audio.call import Call, Snapshot
from stream_audio.call_life import CallState, Next, Then
from stream_audio.call_placing import CallPlacing
from stream_audio.call_table import CallTable
from stream_audio.deadlines import Deadlines
from stream_audio.events import VoiceEvent
from stream_audio.history import CallHistory, CallRecord
from stream_audio.pacer import Pacer, Priority
from stream_audio.refused import Refused
from stream_audio.setting_values import CALL_MARGIN_SECONDS
from stream_audio.settings import Settings
from stream_audio.voice_requests import Outcome, VoiceRequests

log = logging.getLogger(__name__)

# Vonage posts a call's answered event right after it fetches the answer NCCO; a call to the
# number still waiting for it after this long was made up by whoever fetched the answer URL.
ANSWERED_WAIT_SECONDS = 10
# How long shutdown waits for its hang-ups; Vonage's length_timer ends any it missed.
SHUTDOWN_SECONDS = 5
# A transient failure (429, 5xx, timeout, no connection) is retried after 0.5 s, 1 s, 2 s, ... while it has a point.
FIRST_RETRY_SECONDS = 0.5
# Music started later than this after `answered` would be cut short by length_timer: the call is hung up instead.
LATEST_MUSIC_START_SECONDS = CALL_MARGIN_SECONDS / 2
# How urgent each request is when the account's limit makes them queue.
PRIORITIES = {
    Then.HANG_UP: Priority.HANG_UP,
    Then.CHECK_CALL: Priority.CHECK_CALL,
    Then.STOP_MUSIC_THEN_HANG_UP: Priority.STOP_MUSIC,
    Then.STOP_MUSIC: Priority.STOP_MUSIC,
    Then.START_MUSIC: Priority.START_MUSIC,
    Then.PLAY_MUSIC_AGAIN: Priority.START_MUSIC,
}


class CallFlow:
    """The calls this app placed, and what it does for each. Webhook requests only update this
    table and queue work in the pacer, so Vonage never waits on the Voice API for an answer."""

    def __init__(
        self,
        settings: Settings,
        requests: VoiceRequests,
        history: CallHistory,
        deadlines: Deadlines | None = None,
        pacer: Pacer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.history = history
        self._settings = settings
        self._requests = requests
        self._clock = clock
        self._deadlines = Deadlines() if deadlines is None else deadlines
        self._pacer = Pacer(settings.calls_per_second, settings.requests_per_second) if pacer is None else pacer
        self._placing = CallPlacing(settings, requests, self._pacer)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._calls = CallTable()
        self._closing = False
        self._placed_while_closing: list[Call] = []

    # --- what the pages ask -------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def snapshot(self, uuid: str) -> Snapshot | None:
        """Call `uuid` as it is now; None once it has ended, or if this app does not handle it."""
        with self._lock:
            call = self._calls.get(uuid)
            return call.snapshot(self._clock()) if call else None

    def as_recorded(self, uuid: str | None = None) -> list[tuple[Snapshot | None, CallRecord]]:
        """Call `uuid` (or each in the history, newest first) now, and its record, read as of one moment."""
        with self._lock:
            records = self.history.newest_first() if uuid is None else [self.history.of(uuid)]
            calls = [(self._calls.get(record.uuid), record) for record in records if record is not None]
            return [(call.snapshot(self._clock()) if call else None, record) for call, record in calls]

    # --- placing a call -------------------------------------------------------------------

    def place_call(self, base_url: str) -> str:
        """Ring TO_NUMBER with webhooks on `base_url`; the new call's uuid, or Refused saying why."""
        with self._lock:
            if self._closing:
                raise Refused(503, "The app is shutting down.")
            in_progress = self._calls.in_progress()
            if in_progress >= self._settings.max_active_calls:
                log.warning("/call: refused: %d call(s) in progress, the most MAX_ACTIVE_CALLS allows", in_progress)
                why = f"{in_progress} call(s) are already in progress, the most MAX_ACTIVE_CALLS allows."
                raise Refused(429, f"{why} Try again when one has ended.")
            self._calls.being_placed += 1
        call, took_ms = None, 0
        try:
            placed, took_ms = self._placing.place(base_url)
            call = Call.outbound(placed.uuid, placed.conversation_uuid, self._settings, base_url, self._clock())
        finally:
            # One step, so that no request sees the call counted twice or not at all, nor listed but not tracked.
            with self._changed:
                self._calls.being_placed -= 1
                if call is not None:
                    self.history.placed(call.uuid, "placed: POST /v1/calls", *call.numbers, took_ms)
                    self._add(call)
                self._changed.notify_all()
        return call.uuid

    def answer_inbound(self, uuid: str, conversation_uuid: str, caller: str, base_url: str) -> bool:
        """Vonage fetched the answer NCCO for a call to VONAGE_NUMBER from `caller`: track it, with the
        music on `base_url` once it is answered; False if there is no room for it (or it is not a call)."""
        with self._lock:
            if self._closing or uuid in self._calls.finished or self._calls.get(uuid) is not None:
                return False
            if self._calls.in_progress() >= self._settings.max_active_calls:
                log.warning(
                    "call %s: a call to the number from %s; all lines are busy (MAX_ACTIVE_CALLS)", uuid, caller
                )
                return False
            call = Call.inbound(uuid, conversation_uuid, caller, self._settings, base_url, self._clock())
            self._add(call)
            self._later(ANSWERED_WAIT_SECONDS, call, Call.answered_event_overdue)
            log.info("call %s: a call to the number from %s; the music starts once it is answered", uuid, caller)
            return True

    def _add(self, call: Call) -> None:
        self._calls.add(call)
        # If the final event is lost, the call still stops counting once Vonage has ended it.
        self._later(call.longest_life, call, Call.outlived)
        if self._closing:
            log.info("call %s: placed while shutting down; hanging it up", call.uuid)
            self._placed_while_closing.append(call)
            self._carry_out(call, call.shutting_down())

    # --- events from Vonage ---------------------------------------------------------------

    def on_event(self, event: VoiceEvent) -> None:
        """Act on one Voice API event; never blocks on the Voice API."""
        with self._changed:
            call = self._calls.of(event)
            named = call.uuid if call else event.call_uuid or event.conversation_uuid or "(none named)"
            if event.kind == "error":
                log.error("call %s: Vonage reported an error: %s", named, event.reason)
            elif event.status is None or event.kind != "status":
                log.info("call %s: %s event; nothing to do", named, event.kind)
            elif call is None:
                log.info("call %s: event %s for a call this app is not handling; nothing sent", named, event.status)
            else:
                signed = bool(self._settings.signature_secret)
                self._carry_out(call, call.status_reported(event, self._clock(), signed))
            self._changed.notify_all()

    def _forget(self, call: Call) -> None:
        """Vonage says the call is over: drop it from the table, and anything still due for it."""
        pending = call.ended()
        self._calls.remove(call)  # and remembers its uuid: an answer request naming it again is not a call
        for timer in call.timers:
            self._deadlines.cancel(timer)
        ending = call.check.ending
        if ending is not None:
            then = "pending hang-up cancelled, nothing more sent" if pending else "nothing more to send"
            log.info("call %s: %s%s; %s", call.uuid, ending.status, ending.billing, then)
            what = f"ended: {ending.status}{ending.billing}"
            self.history.ended(call.uuid, what, ending.status, ending.duration, ending.price)

    # --- every request a call asks for, and the hang-up STREAM_SECONDS after the music starts ------

    def _send(self, call: Call, then: Then, attempt: int = 1) -> None:
        """One queued request for `call`: sent if the call still wants it, retried while that can
        help, then acted on. Runs on a pacer thread once the account's rolling second has room."""
        with self._lock:
            if (instead := call.start_sending(then, self._clock(), LATEST_MUSIC_START_SECONDS)) is not None:
                self._carry_out(call, instead)
                return
            retry_until = call.retry_until(then, LATEST_MUSIC_START_SECONDS)
            retry_in = None if retry_until is None else self._retry_in(attempt, retry_until)
        outcome = self._request(call, then, attempt, retry_in)
        with self._changed:
            call.sending.discard(then)
            if outcome.retry_in is not None and call.wants(then):
                again = (PRIORITIES[then], self._send, call, then, attempt + 1)
                call.timers.append(self._deadlines.schedule(outcome.retry_in, self._pacer.submit, *again))
            else:
                self._carry_out(call, call.request_answered(then, outcome, self._closing))
            self._changed.notify_all()

    def _request(self, call: Call, then: Then, attempt: int, retry_in: float | None) -> Outcome:
        """The Voice API request that does `then`."""
        if then in (Then.START_MUSIC, Then.PLAY_MUSIC_AGAIN):
            return self._requests.start_stream(call.uuid, call.base_url, attempt, retry_in)
        if then in (Then.STOP_MUSIC, Then.STOP_MUSIC_THEN_HANG_UP):
            return self._requests.stop_stream(call.uuid)
        if then is Then.HANG_UP:
            return self._requests.hang_up(call.uuid, attempt, retry_in)
        return self._requests.get_call(call.uuid, attempt, retry_in)  # Then.CHECK_CALL

    def _retry_in(self, attempt: int, pointless_after: float) -> float | None:
        """The pause before the next try, or None if that try would come after `pointless_after`, or never."""
        pause = FIRST_RETRY_SECONDS * 2 ** (attempt - 1)
        return None if self._closing or self._clock() + pause >= pointless_after else pause

    def _later(self, seconds: float, call: Call, decide: Callable[[Call], Next]) -> None:
        """In `seconds`, let `call` decide what to do then (`Call.time_up`, ...), and do it."""
        call.timers.append(self._deadlines.schedule(seconds, self._decide, call, decide))

    def _decide(self, call: Call, decide: Callable[[Call], Next]) -> None:
        with self._changed:
            self._carry_out(call, decide(call))
            self._changed.notify_all()

    # --- the page's buttons: Stop music, Play music, Hang up, Say --------------------------------

    def act(self, uuid: str, pressed: Callable[[Call], Next]) -> None:
        """Do what the person pressed (`Call.stop_music`, `Call.play_music`, `Call.hang_up`) on call
        `uuid`, through the pacer like every request; Refused if it does not fit the call now."""
        with self._lock:
            call = self._calls.get(uuid)
            if call is None:
                raise Refused(409, "Cannot do that now: the call is over.")
            self._carry_out(call, pressed(call))

    def say(self, uuid: str, text: str) -> None:
        """Speak `text` into call `uuid` over the music, or Refused if no one is on the line to hear it."""
        with self._lock:
            call = self._calls.get(uuid)
            if call is None:
                why = "it has ended, or this app did not place it."
                raise Refused(409, f"The call is not answered, so there is no one to say it to: {why}")
            call.check_can_hear()
            log.info("call %s: saying %d character(s): %r", uuid, len(text), text)
            self.history.note(uuid, "Say pressed: “" + (text if len(text) <= 80 else text[:79] + "…") + "”")
            self._pacer.submit(Priority.OTHER, self._requests.talk, uuid, text)

    # --- carrying out what a call decided ---------------------------------------------------------

    def _carry_out(self, call: Call, next: Next) -> None:
        """Say what `call` decided, and do it (the lock is held)."""
        if next.words:
            log.log(next.level, "call %s: %s", call.uuid, next.words)
            if not next.quiet:
                self.history.note(call.uuid, next.words)
        if next.then is Then.FORGET:
            self._forget(call)
        elif next.then is Then.START_MUSIC_FOR_CALLER:
            self.history.placed(call.uuid, "a call to the number", *call.numbers)
            self._carry_out(call, Next("answered; starting the music", Then.START_MUSIC))
        elif next.then is Then.HANG_UP_LATER:
            seconds = self._settings.stream_seconds
            call.hang_up_due = self._clock() + seconds
            self._later(seconds, call, Call.time_up)
            self._carry_out(call, Next(f"music playing; hang-up in {seconds:g} s"))
        elif next.then is not None:
            self._pacer.submit(PRIORITIES[next.then], self._send, call, next.then)

    # --- shutting down ------------------------------------------------------------------------

    def close(self) -> int:
        """Hang up every call still in progress, waiting at most SHUTDOWN_SECONDS, then stop;
        return how many calls could not be ended (Vonage's length_timer ends those)."""
        give_up_at = time.monotonic() + SHUTDOWN_SECONDS
        with self._changed:
            self._closing = True
            # A call being placed now is hung up as soon as it exists (_add), perhaps before this looks: it counts.
            self._changed.wait_for(lambda: self._calls.being_placed == 0, SHUTDOWN_SECONDS)
            ending = [call for call in self._calls if call.in_progress]
            ending += [call for call in self._placed_while_closing if call not in ending]
        self._deadlines.stop()
        if ending:
            log.info("shutting down: ending %d call(s) in progress", len(ending))
        with self._changed:
            for call in ending:
                self._carry_out(call, call.shutting_down())
            left = give_up_at - time.monotonic()
            self._changed.wait_for(lambda: not any(call.in_progress for call in ending), left)
            ended = sum(call.state in (CallState.HUNG_UP, CallState.ENDED) for call in ending)
        if ending:
            rest = "" if ended == len(ending) else "; Vonage's length_timer ends the rest"
            log.info("shutting down: ended %d of %d call(s)%s", ended, len(ending), rest)
        # A request still in flight is abandoned: its thread does not hold up the exit.
        self._pacer.stop(max(0.0, give_up_at - time.monotonic()))
        return len(ending) - ended
