"""The answer NCCO: what Vonage does when the callee picks up, until the app's own requests take over."""

from __future__ import annotations

from vonage_voice import Stream, Talk

from stream_audio.settings import DEFAULT_GREETING


def answer_ncco(base_url: str, greeting: str = DEFAULT_GREETING, language: str = "en-US") -> list[dict]:
    """The greeting (none if empty), then silence looped until the app hangs up (or length_timer ends the call)."""
    actions = [Talk(text=greeting, language=language, style=0)] if greeting else []
    actions.append(Stream(streamUrl=[f"{base_url}/audio/silence.mp3"], loop=0))
    return [action.model_dump(mode="json", exclude_none=True) for action in actions]
