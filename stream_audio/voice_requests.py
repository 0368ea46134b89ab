"""Each Voice API request the app makes, one method each: sent through the SDK's Voice client,
timed, logged in one line, noted in the call's history for its page, and a failure explained
in plain words. It holds no call state and no lock: CallFlow decides what to send, and when.

  create_call   POST   /v1/calls                ring TO_NUMBER
  start_stream  PUT    /v1/calls/{uuid}/stream  play AUDIO into the call
  stop_stream   DELETE /v1/calls/{uuid}/stream  stop it
  hang_up       PUT    /v1/calls/{uuid}         {"action": "hangup"}
  talk          PUT    /v1/calls/{uuid}/talk    say words into the call
  get_call      GET    /v1/calls/{uuid}         what the Voice API knows of the call
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vonage_voice import AudioStreamOptions, CreateCallRequest, Phone, ToPhone, TtsStreamOptions, Voice

from stream_audio.history import CallHistory
from stream_audio.settings import Settings
from stream_audio.voice_api import VOICE_API_ERRORS, explain, is_gone, is_transient, nothing_was_created

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How one request went. `error` is None when it was done, or when the call was already over (`gone`)."""

    took_ms: int
    answer: Any = None  # the SDK's model of the answer, when there is one
    error: Exception | None = None
    gone: bool = False  # the Voice API answered 404: the call (or its stream) is over
    reason: str = ""  # why it failed, in plain words
    status: int = 0  # the HTTP status to give whoever asked, for a failure: 502, or 504 for a timeout
    transient: bool = False  # a failure that may not happen again: 429, 5xx, a timeout, no connection
    retry_in: float | None = None  # a transient failure worth retrying now, after this pause

    @property
    def failed(self) -> bool:
        return self.error is not None


class VoiceRequests:
    def __init__(self, voice: Voice, settings: Settings, history: CallHistory) -> None:
        self._voice = voice
        self._settings = settings
        self._history = history

    def create_call(self, base_url: str, retry_in: float | None = None) -> Outcome:
        """POST /v1/calls: ring TO_NUMBER from VONAGE_NUMBER, with webhooks on `base_url`."""
        s = self._settings
        request = CreateCallRequest(
            to=[ToPhone(number=s.to_number)],
            from_=Phone(number=s.vonage_number),
            answer_url=[f"{base_url}/audio/answer.json"],
            event_url=[f"{base_url}/webhooks/events"],
            ringing_timer=s.ringing_timer,
            length_timer=s.length_timer,
        )
        started = time.monotonic()
        try:
            answer = self._voice.create_call(request)
        except VOICE_API_ERRORS as error:
            status, reason = explain(error, s.api_timeout)
            retry_in = retry_in if nothing_was_created(error) else None
            log.error(
                "call to %s: POST /v1/calls failed after %s: %s%s",
                s.to_number,
                _since(started),
                reason,
                _retrying(retry_in),
            )
            return Outcome(_ms_since(started), error=error, reason=reason, status=status, retry_in=retry_in)
        log.info(
            "call %s: placed to %s from %s, length_timer %d s (POST /v1/calls %s, took %s)",
            answer.uuid,
            s.to_number,
            s.vonage_number,
            s.length_timer,
            answer.status,
            _since(started),
        )
        return Outcome(_ms_since(started), answer=answer)

    def start_stream(self, call_uuid: str, base_url: str, attempt: int = 1, retry_in: float | None = None) -> Outcome:
        """PUT /v1/calls/{uuid}/stream: AUDIO at AUDIO_LEVEL, AUDIO_LOOP times."""
        s = self._settings
        # The Voice API's default level is 0, so a request at that level leaves it out.
        level = s.audio_level or None
        step = f"PUT stream {s.audio.source} loop {s.audio_loop}" + (f" level {level:g}" if level else "")
        music = AudioStreamOptions(stream_url=[s.audio.url(base_url)], loop=s.audio_loop, level=level)
        return self._send(
            call_uuid,
            numbered(step, attempt),
            lambda: self._voice.play_audio_into_call(call_uuid, music),
            retry_in=retry_in,
        )

    def stop_stream(self, call_uuid: str) -> Outcome:
        """DELETE /v1/calls/{uuid}/stream. A 404 means the call (or its stream) is already over: nothing is wrong."""
        return self._send(
            call_uuid, "DELETE stream", lambda: self._voice.stop_audio_stream(call_uuid), gone_is_fine=True
        )

    def hang_up(self, call_uuid: str, attempt: int = 1, retry_in: float | None = None) -> Outcome:
        """PUT /v1/calls/{uuid} with the hangup action. A 404 means the call is already over."""
        return self._send(
            call_uuid,
            numbered("PUT hangup", attempt),
            lambda: self._voice.hangup(call_uuid),
            gone_is_fine=True,
            retry_in=retry_in,
        )

    def talk(self, call_uuid: str, text: str) -> Outcome:
        """PUT /v1/calls/{uuid}/talk: `text` spoken in GREETING_LANGUAGE, over the music."""
        words = TtsStreamOptions(text=text, language=self._settings.greeting_language)
        return self._send(call_uuid, "PUT talk", lambda: self._voice.play_tts_into_call(call_uuid, words))

    def get_call(self, call_uuid: str, attempt: int = 1, retry_in: float | None = None) -> Outcome:
        """GET /v1/calls/{uuid}: the call's status as the Voice API knows it; `answer` is None for a 404."""
        return self._send(
            call_uuid,
            numbered("GET call", attempt),
            lambda: self._voice.get_call(call_uuid),
            gone_is_fine=True,
            retry_in=retry_in,
        )

    def _send(
        self,
        call_uuid: str,
        step: str,
        send: Callable[[], Any],
        gone_is_fine: bool = False,
        retry_in: float | None = None,
    ) -> Outcome:
        started = time.monotonic()
        try:
            answer = send()
        except VOICE_API_ERRORS as error:
            took = _ms_since(started)
            if gone_is_fine and is_gone(error):
                log.info("call %s: %s answered 404: already ended (took %s ms)", call_uuid, step, took)
                self._history.note(call_uuid, f"{step}: already ended", took)
                return Outcome(took, gone=True)
            status, reason = explain(error, self._settings.api_timeout)
            transient = is_transient(error)
            retry_in = retry_in if transient else None
            log.error("call %s: %s failed after %s ms: %s%s", call_uuid, step, took, reason, _retrying(retry_in))
            self._history.note(call_uuid, f"{step} failed.{_retrying(retry_in)}", took, failure=reason)
            return Outcome(took, error=error, reason=reason, status=status, transient=transient, retry_in=retry_in)
        took = _ms_since(started)
        log.info("call %s: %s done (took %s ms)", call_uuid, step, took)
        self._history.note(call_uuid, f"{step} done", took)
        return Outcome(took, answer=answer)


def numbered(step: str, attempt: int) -> str:
    """A retried request's step, as logged: `PUT hangup (attempt 2)`."""
    return step if attempt == 1 else f"{step} (attempt {attempt})"


def _retrying(retry_in: float | None) -> str:
    return "" if retry_in is None else f" Retrying in {retry_in:g} s."


def _since(started: float) -> str:
    return f"{_ms_since(started)} ms"


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
