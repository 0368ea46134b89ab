"""The answer NCCOs: what Vonage does when a call is answered, until the app's own requests take over."""

from __future__ import annotations

from vonage_voice import Stream, Talk

from stream_audio.settings import DEFAULT_GREETING

ALL_LINES_BUSY = "All our lines are busy. Please call back later."
NO_CALLS_TAKEN = "This number does not take calls. Goodbye."


def answer_ncco(base_url: str, greeting: str = DEFAULT_GREETING, language: str = "en-US", loops: int = 0) -> list[dict]:
    """The greeting (none if empty), then silence that holds the line for the app's music: looped
    `loops` times, so that the NCCO itself ends the call at last, or (0) until the app hangs up
    or length_timer ends the call."""
    actions = [Talk(text=greeting, language=language, style=0)] if greeting else []
    actions.append(Stream(streamUrl=[f"{base_url}/audio/silence.mp3"], loop=loops))
    return [action.model_dump(mode="json", exclude_none=True) for action in actions]


def one_sentence_ncco(sentence: str, language: str) -> list[dict]:
    """`sentence`, after which the NCCO ends and so does the call: no Voice API request needed."""
    # The sentences are English: a greeting in another language keeps an English voice for them.
    voice = language if language.startswith("en-") else "en-US"
    return [Talk(text=sentence, language=voice, style=0).model_dump(mode="json", exclude_none=True)]
