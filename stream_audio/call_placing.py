"""Creating a call within the account's limit on new calls: a person is waiting for the answer,
so POST /v1/calls waits at most a second for room and is tried at most three times."""

from __future__ import annotations

import logging
import time

from vonage_voice import CreateCallResponse

from stream_audio.pacer import Pacer
from stream_audio.refused import Refused
from stream_audio.settings import Settings
from stream_audio.voice_requests import VoiceRequests

log = logging.getLogger(__name__)

CREATE_WAIT_SECONDS = 1.0
CREATE_ATTEMPTS = 3
FIRST_RETRY_SECONDS = 0.5


class CallPlacing:
    def __init__(self, settings: Settings, requests: VoiceRequests, pacer: Pacer) -> None:
        self._settings = settings
        self._requests = requests
        self._pacer = pacer

    def place(self, base_url: str) -> tuple[CreateCallResponse, int]:
        """The Voice API's answer to POST /v1/calls and how long it took (ms), or Refused saying why.

        A 429, a 5xx or a refused connection is tried again after 0.5 s, then 1 s; a timeout is not,
        as that call may exist and a second request would ring the callee twice."""
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            if not self._pacer.reserve_call_creation(CREATE_WAIT_SECONDS):
                limit = self._settings.calls_per_second
                log.warning("/call: refused: more calls asked for than VONAGE_CALLS_PER_SECOND (%d) allows", limit)
                raise Refused(
                    429,
                    f"Calls are being placed faster than VONAGE_CALLS_PER_SECOND ({limit}) allows. "
                    "Try again in a second.",
                    retry_after=1,
                )
            pause = FIRST_RETRY_SECONDS * 2 ** (attempt - 1) if attempt < CREATE_ATTEMPTS else None
            try:
                outcome = self._requests.create_call(base_url, retry_in=pause)
            finally:
                self._pacer.call_creation_answered()
            if not outcome.failed:
                return outcome.answer, outcome.took_ms
            if outcome.retry_in is None:
                raise Refused(outcome.status, outcome.reason)
            time.sleep(outcome.retry_in)
        raise AssertionError("unreachable: the last attempt returns or raises")
