"""Whether to believe an unsigned final status: without VONAGE_SIGNATURE_SECRET anyone who finds the
event URL can post one, so the Voice API is asked (GET /v1/calls/{uuid}) before the call's safeguards
go: its hang-up, and its place among MAX_ACTIVE_CALLS. One question at a time per call; a final
status that comes while one is asked is asked about again after, so none is ever dropped."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from stream_audio.call_life import FINAL_STATUSES, Next, Then
from stream_audio.events import VoiceEvent
from stream_audio.voice_requests import Outcome


class Verdict(enum.Enum):
    OVER = "the call is over"
    GOING_ON = "the call is going on"
    UNKNOWN = "the Voice API could not say"


@dataclass
class CallCheck:
    ending: VoiceEvent | None = None  # the latest final status reported, not yet acted on
    asking: bool = False  # GET /v1/calls/{uuid} is queued or on its way
    ask_again: bool = False  # a final status came while asking

    def ending_reported(self, event: VoiceEvent, hang_up_on_its_way: bool) -> Next:
        self.ending = event
        if hang_up_on_its_way:
            return Next(f"unsigned {event.status} event while the hang-up is on its way; its answer first", quiet=True)
        if self.asking:
            self.ask_again = True
            return Next(f"unsigned {event.status} event; asking the Voice API again once it answers", quiet=True)
        return self.ask(f"unsigned {event.status} event; asking the Voice API before acting on it")

    def ask(self, why: str, level: int = logging.INFO) -> Next:
        self.asking = True
        return Next(why, Then.CHECK_CALL, level, quiet=True)

    def verdict(self, outcome: Outcome) -> Verdict:
        """What the Voice API's answer says; once the call is over, `ending` is the Voice API's own word."""
        self.asking = False
        if outcome.failed:
            return Verdict.UNKNOWN
        if outcome.gone:
            return Verdict.OVER  # no such call is going on
        if outcome.answer.status in FINAL_STATUSES:
            self.ending = VoiceEvent.told_by_the_voice_api(outcome.answer)
            return Verdict.OVER
        return Verdict.GOING_ON

    def not_over(self, outcome: Outcome) -> Next:
        """The Voice API did not confirm the ending: ask again if another came meanwhile, else say why it stays."""
        if self.ask_again and not outcome.failed:
            self.ask_again = False
            return self.ask("another final status came while asking; asking again")
        event, self.ending, self.ask_again = self.ending, None, False
        if outcome.failed:
            why = "a hang-up to a call already over is answered 404 and harms nothing"
            what = f"could not confirm the {event.status} event, so the call is still treated as in progress; {why}"
            return Next(what, level=logging.ERROR, quiet=True)
        advice = "Unsigned events can be forged; set VONAGE_SIGNATURE_SECRET so that only Vonage's count."
        what = f"ignored a {event.status} event that the Voice API contradicts: the call is {outcome.answer.status}."
        return Next(f"{what} {advice}", level=logging.WARNING)
