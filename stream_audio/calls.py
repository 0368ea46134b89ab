"""The calls this app placed, and what the app does as Vonage's events arrive and as the
person on the call's page presses its buttons.

A call's life (call_state.py): placed -> ringing -> answered -> streaming (the music) ->
hanging up -> hung up -> ended. CallFlow keeps the table of calls and decides; the Voice API
requests it queues are in voice_requests.py, except one made here:
  CallFlow._confirm_ended    GET /v1/calls/{uuid}           an unsigned final event for a call in progress
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from vonage_voice import CallInfo, Voice

from stream_audio.call_state import FINAL_STATUSES, HANG_UP_STATES, KNOWN_STATUSES, MUSIC_STATES, Call, CallState
from stream_audio.deadlines import Deadlines
from stream_audio.pacer import Pacer, Priority
from stream_audio.public_url import NoPublicUrl, PublicUrl
from stream_audio.settings import Settings
from stream_audio.voice_api import is_transient
from stream_audio.voice_requests import CallNotPlaced, CallRequests, numbered
from stream_audio.webhooks import VoiceEvent, shown

log = logging.getLogger(__name__)

# Checks of unsigned final events at once, at most: forged ones cannot take more of the
# account's requests than this. One not checked is ignored, which is safe: the call is hung
# up on time, and a hang-up to a call already over is answered 404.
MOST_CONFIRMATIONS = 3
# How long shutdown waits for its hang-ups; Vonage's length_timer ends any it missed.
SHUTDOWN_SECONDS = 5


class Refused(Exception):
    """What the person asked for (say this, stop the music, hang up...) cannot be done now:
    the HTTP status for them, and why in plain words."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CallFlow(CallRequests):
    """The calls this app placed, and what it does for each as events arrive.

    Webhook requests only update this table and queue Voice API work in the pacer,
    so Vonage never waits on the Voice API for its answer. Each queued piece of work
    makes at most one request, so the pacer's count is the account's count.
    """

    def __init__(
        self,
        settings: Settings,
        voice: Voice,
        deadlines: Deadlines | None = None,
        pacer: Pacer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(settings, voice, deadlines, pacer, clock)
        self._public_url = PublicUrl(settings)
        self._calls: dict[str, Call] = {}
        self._by_conversation: dict[str, Call] = {}
        self._being_placed = 0

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
                    429,
                    f"{in_progress} call(s) are already in progress, the most MAX_ACTIVE_CALLS allows. "
                    "Try again when one has ended.",
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
        elif (
            status in FINAL_STATUSES
            and call.in_progress
            and not call.hanging_up_now
            and not self._settings.signature_secret
        ):
            # Anyone who finds BASE_URL could have sent it; ending the call's record on its word
            # would drop the hang-up and free a MAX_ACTIVE_CALLS slot, so the Voice API is asked
            # first. Once the app's own hang-up is on its way, the ending is the app's doing.
            if call.confirming_end:
                log.info("call %s: unsigned %s event; already asking the Voice API", call.uuid, status)
            elif sum(c.confirming_end for c in self._calls.values()) >= MOST_CONFIRMATIONS:
                log.warning(
                    "call %s: ignored an unsigned %s event: %d others are being checked; the call is still "
                    "hung up on time",
                    call.uuid,
                    status,
                    MOST_CONFIRMATIONS,
                )
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
            "call %s: %s%s; %s",
            call.uuid,
            event.status,
            event.billing,
            "pending hang-up cancelled, nothing more sent" if pending else "nothing more to send",
        )
        self.history.ended(
            call.uuid, f"ended: {event.status}{event.billing}", event.status, event.duration, event.price
        )

    def _confirm_ended(self, call: Call, event: VoiceEvent, attempt: int = 1) -> None:
        with self._lock:
            if call.state is CallState.ENDED:
                return
            retry_in = self._retry_in(attempt, self._ended_by_vonage_at(call))
        found: CallInfo | None = None
        with self._voice_api_request(
            call, numbered("GET call", attempt), gone_is_fine=True, retry_in=retry_in
        ) as outcome:
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
                    call.uuid,
                    event.status,
                    shown(found.status),
                )
                self.history.note(call.uuid, f"ignored a {event.status} event the Voice API contradicts")
            elif is_transient(outcome.error) and retry_in is not None:
                self._deadlines.schedule(
                    retry_in,
                    self._pacer.submit,
                    Priority.CONFIRM_END,
                    self._confirm_ended,
                    call,
                    event,
                    attempt + 1,
                )
            else:
                call.confirming_end = False
                log.error(
                    "call %s: could not confirm the %s event, so the call is still treated as in progress; "
                    "a hang-up to a call already over is answered 404 and harms nothing",
                    call.uuid,
                    event.status,
                )
            self._changed.notify_all()

    def _end(self, call: Call) -> bool:
        """Vonage says the call is over: forget it (the lock is held); True if a hang-up was pending."""
        pending = call.state in MUSIC_STATES or call.state is CallState.HANGING_UP
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
            call.uuid,
            self._settings.longest_call,
        )
        self.history.ended(call.uuid, "no final event came; Vonage has ended the call", "unknown")

    # --- the controls on the call's page: Stop music, Play music, Hang up ---------------

    def stop_music(self, uuid: str) -> None:
        """Stop the music while the hang-up stays due when it was; Refused unless the music is playing."""
        with self._lock:
            call = self._in_state(uuid, {CallState.STREAMING}, "stop the music")
            call.state = CallState.STOPPING_MUSIC
            log.info("call %s: the person asked to stop the music", uuid)
            self.history.note(uuid, "Stop music pressed")
            self._pacer.submit(Priority.STOP_MUSIC, self._pause_music, call)

    def play_music(self, uuid: str) -> None:
        """Play AUDIO again before the hang-up is due; Refused unless the person stopped it."""
        with self._lock:
            call = self._in_state(uuid, {CallState.MUSIC_STOPPED}, "play the music")
            call.state = CallState.ANSWERED
            log.info("call %s: the person asked to play the music again", uuid)
            self.history.note(uuid, "Play music pressed")
            self._pacer.submit(Priority.START_MUSIC, self._play_music_again, call)

    def hang_up(self, uuid: str) -> None:
        """Hang up now, through the one hang-up each call gets; Refused once it is being hung up or over."""
        with self._lock:
            call = self._in_state(uuid, HANG_UP_STATES, "hang up")
            log.info("call %s: the person asked to hang up", uuid)
            self.history.note(uuid, "Hang up pressed")
            self._hang_up_soon(call)

    def _in_state(self, uuid: str, states: frozenset[CallState] | set[CallState], doing: str) -> Call:
        """Call `uuid` if it is in one of `states`, else Refused saying why (the lock is held)."""
        call = self._calls.get(uuid)
        if call is None or call.state not in states:
            raise Refused(409, f"Cannot {doing} now: the call is {call.state.value if call else 'over'}.")
        return call

    # --- saying something into the call ------------------------------------------

    def say(self, uuid: str, text: str) -> None:
        """Speak `text` into call `uuid` over the music, or raise Refused if the call is not answered."""
        with self._lock:
            call = self._calls.get(uuid)
            state = call.state if call else None
            if state in MUSIC_STATES:
                log.info("call %s: saying %d character(s): %r", uuid, len(text), text)
                self.history.note(uuid, "Say pressed: “" + (text if len(text) <= 80 else text[:79] + "…") + "”")
                self._pacer.submit(Priority.OTHER, self._say, call, text)
                return
        raise Refused(
            409,
            "The call is not answered, so there is no one to say it to: "
            + (f"it is {state.value}." if state else "it has ended, or this app did not place it."),
        )

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
            self._changed.wait_for(
                lambda: not any(call.in_progress for call in in_progress), give_up_at - time.monotonic()
            )
            ended = sum(call.state in (CallState.HUNG_UP, CallState.ENDED) for call in in_progress)
        if in_progress:
            log.info(
                "shutting down: ended %d of %d call(s)%s",
                ended,
                len(in_progress),
                "" if ended == len(in_progress) else "; Vonage's length_timer ends the rest",
            )
        # A request still in flight is abandoned: its thread does not hold up the exit.
        self._pacer.stop(max(0.0, give_up_at - time.monotonic()))
        return len(in_progress) - ended
