"""The text the user asked to say into a call, as a form field or JSON `text`, checked
against what the Voice API will speak before anything is sent."""

from __future__ import annotations

from flask import Request

from stream_audio.calls import Refused
from stream_audio.settings import MAX_SPOKEN_CHARACTERS


def text_to_say(request: Request) -> str:
    """The `text` of the request, or Refused (400) saying why it cannot be spoken."""
    if request.is_json:
        body = request.get_json(silent=True)
        text = body.get("text") if isinstance(body, dict) else None
    else:
        text = request.form.get("text")
    if not isinstance(text, str):
        raise Refused(400, "Send the words to say as `text`, in a form field or a JSON object.")
    text = text.strip()
    if not text:
        raise Refused(400, "There is nothing to say: the text is empty.")
    if len(text) > MAX_SPOKEN_CHARACTERS:
        raise Refused(
            400,
            f"The text is {len(text):,} characters long; the Voice API speaks at most "
            f"{MAX_SPOKEN_CHARACTERS:,} at a time. Shorten it, or say it in parts.",
        )
    return text
