"""The Voice API's shapes, transcribed from its OpenAPI description (voice.yml 1.3.7): the request
body of each step the app sends, which the stand-in checks every request against, and its error answers."""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

import jsonschema
from flask import jsonify

# CreateCallRequestAnswerUrl with CreateCallRequestBase, StartStreamRequest, StartTalkRequest,
# UpdateCallRequestHangup. `level` is a number, as the SDK sends it and Vonage takes it (the
# reference's schema says string). The text's 1,500-character limit is the Voice API's documented one.
PHONE_ENDPOINT = {
    "type": "object",
    "required": ["type", "number"],
    "properties": {
        "type": {"const": "phone"},
        "number": {"type": "string", "minLength": 7, "maxLength": 15, "pattern": r"^\d{7,15}$"},
    },
}
TTS_LANGUAGES = [
    "ar",
    "ca-ES",
    "cmn-CN",
    "cmn-TW",
    "cs-CZ",
    "cy-GB",
    "da-DK",
    "de-DE",
    "el-GR",
    "en-AU",
    "en-GB",
    "en-GB-WLS",
    "en-IN",
    "en-US",
    "en-ZA",
    "es-ES",
    "es-MX",
    "es-US",
    "eu-ES",
    "fi-FI",
    "fil-PH",
    "fr-CA",
    "fr-FR",
    "he-IL",
    "hi-IN",
    "hu-HU",
    "id-ID",
    "is-IS",
    "it-IT",
    "ja-JP",
    "ko-KR",
    "nb-NO",
    "nl-NL",
    "no-NO",
    "pl-PL",
    "pt-BR",
    "pt-PT",
    "ro-RO",
    "ru-RU",
    "sk-SK",
    "sv-SE",
    "th-TH",
    "tr-TR",
    "uk-UA",
    "vi-VN",
    "yue-CN",
]
URL_LIST = {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^https?://"}}
REQUEST_SCHEMAS = {
    "create_call": {
        "type": "object",
        "required": ["to", "answer_url"],
        "properties": {
            "to": {"type": "array", "minItems": 1, "items": PHONE_ENDPOINT},
            "from": PHONE_ENDPOINT,
            "answer_url": URL_LIST,
            "answer_method": {"enum": ["GET", "POST"]},
            "event_url": URL_LIST,
            "event_method": {"enum": ["GET", "POST"]},
            "length_timer": {"type": "integer", "minimum": 1, "maximum": 7200},
            "ringing_timer": {"type": "integer", "minimum": 1, "maximum": 120},
        },
    },
    "start_stream": {
        "type": "object",
        "required": ["stream_url"],
        "properties": {
            "stream_url": URL_LIST,
            "loop": {"type": "integer", "minimum": 0},
            "level": {"type": "number", "minimum": -1, "maximum": 1},
        },
    },
    "start_talk": {
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 1500},
            "language": {"enum": TTS_LANGUAGES},
            "style": {"type": "integer"},
            "loop": {"type": "integer", "minimum": 0},
            "level": {"type": "number", "minimum": -1, "maximum": 1},
        },
    },
    "hangup": {
        "type": "object",
        "required": ["action"],
        "properties": {"action": {"const": "hangup"}},
    },
}
ERROR_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


VALIDATORS = {step: jsonschema.Draft202012Validator(schema) for step, schema in REQUEST_SCHEMAS.items()}


def schema_complaint(step: str, body: Any) -> str | None:
    """Why `body` fails the reference's request schema for `step`, or None if it passes (or `step` has none)."""
    validator = VALIDATORS.get(step)
    if validator is None:
        return None
    try:
        validator.validate(body)
    except jsonschema.ValidationError as invalid:
        return invalid.message
    return None


def error_answer(status: int, detail: str) -> tuple:
    """An error as the Voice API answers it: a problem details object, and `status`."""
    title = ERROR_TITLES.get(status, "Error")
    return jsonify(
        type=f"https://developer.nexmo.com/api-errors#{title.lower().replace(' ', '-')}",
        title=title,
        detail=detail,
        instance=str(uuid_module.uuid4()),
    ), status
