"""Saying something into a live call: POST /calls/<uuid>/say speaks the user's words over the
music through PUT /v1/calls/{uuid}/talk, only while the call is answered, only for whoever
holds the call token, only from this app's own pages."""

from __future__ import annotations

import time

import pytest
import requests

from stream_audio.person_routes import ANOTHER_SITE, PRESS_ON_THE_PAGE
from tests.helpers import app_log, wait_for_log

WORDS = "Our offices reopen on Monday at nine."


@pytest.fixture
def answered(start_app, voice_api):
    """An app speaking British English, and a call of its that was answered and hears the music."""
    running = start_app(GREETING_LANGUAGE="en-GB", STREAM_SECONDS="30")
    call_uuid = running.place_call()
    running.vonage_sends(call_uuid, "answered")
    voice_api.wait_for("start_stream", call_uuid=call_uuid)
    return running, call_uuid


def say(running, call_uuid: str, **kwargs) -> requests.Response:
    """POST to the say endpoint as the app's own page does, holding the token's cookie."""
    return running.press(f"/calls/{call_uuid}/say", **kwargs)


def test_the_words_are_spoken_into_the_call_in_greeting_language(answered, voice_api, caplog):
    running, call_uuid = answered

    response = say(running, call_uuid, json={"text": WORDS})

    assert response.status_code == 202
    assert response.json()["uuid"] == call_uuid
    [talk] = voice_api.wait_for("start_talk", call_uuid=call_uuid)
    assert talk.method == "PUT" and talk.path == f"/v1/calls/{call_uuid}/talk"
    assert talk.body == {"text": WORDS, "language": "en-GB"}
    assert voice_api.rejected == []  # a valid JWT, and a body the Voice API reference accepts
    wait_for_log(caplog, f"call {call_uuid}: PUT talk done")
    assert f"call {call_uuid}: saying 37 character(s): {WORDS!r}" in app_log(caplog)
    assert not voice_api.sent("stop_stream")  # spoken over the music, which plays on


def test_a_form_field_works_as_well_as_json_and_longest_text_the_voice_api_takes_is_sent(answered, voice_api):
    running, call_uuid = answered

    assert say(running, call_uuid, data={"text": "Hello"}).status_code == 202
    assert say(running, call_uuid, data={"text": "a" * 1500}).status_code == 202

    talks = voice_api.wait_for("start_talk", count=2, call_uuid=call_uuid)
    assert sorted(len(talk.body["text"]) for talk in talks) == [5, 1500]


def test_words_can_be_said_while_the_music_is_still_being_started(start_app, voice_api):
    running = start_app(STREAM_SECONDS="30")
    call_uuid = running.place_call()
    voice_api.misbehave("start_stream", stall=1)
    running.vonage_sends(call_uuid, "answered")

    assert say(running, call_uuid, json={"text": WORDS}).status_code == 202
    voice_api.wait_for("start_talk", call_uuid=call_uuid)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"json": {"text": ""}}, "There is nothing to say: the text is empty."),
        ({"json": {"text": "  \n\t "}}, "There is nothing to say: the text is empty."),
        ({"data": {"text": ""}}, "There is nothing to say: the text is empty."),
        (
            {"json": {"text": "a" * 1501}},
            "The text is 1,501 characters long; the Voice API speaks at most 1,500 at "
            "a time. Shorten it, or say it in parts.",
        ),
        ({"json": {}}, "Send the words to say as `text`, in a form field or a JSON object."),
        ({"json": {"text": ["Hello"]}}, "Send the words to say as `text`, in a form field or a JSON object."),
        ({"json": ["Hello"]}, "Send the words to say as `text`, in a form field or a JSON object."),
        (
            {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
            "Send the words to say as `text`, in a form field or a JSON object: this body is not JSON.",
        ),
        (
            {"data": b"[" * 5000 + b"]" * 5000, "headers": {"Content-Type": "application/json"}},
            "Send the words to say as `text`, in a form field or a JSON object: this body is JSON nested 5000 "
            "deep, more than 20.",
        ),
    ],
    ids=[
        "empty",
        "blank",
        "empty form field",
        "over 1500 characters",
        "no text",
        "a list",
        "not an object",
        "broken JSON",
        "JSON nested 5,000 deep",
    ],
)
def test_text_the_voice_api_would_not_speak_is_refused_in_plain_words_and_nothing_is_sent(
    answered, voice_api, caplog, kwargs, error
):
    running, call_uuid = answered

    response = say(running, call_uuid, **kwargs)

    assert response.status_code == 400
    assert response.json() == {"error": error}
    time.sleep(0.2)
    assert voice_api.sent("start_talk") == []
    assert f"call {call_uuid}: refused to say something: " in app_log(caplog)


def test_without_the_call_token_nothing_is_said(answered, voice_api, caplog):
    running, call_uuid = answered

    response = requests.post(f"{running.url}/calls/{call_uuid}/say", json={"text": WORDS}, timeout=10)
    wrong = requests.post(f"{running.url}/calls/{call_uuid}/say?token=guess", json={"text": WORDS}, timeout=10)

    assert response.status_code == wrong.status_code == 403
    assert "start-up" in response.json()["error"] and running.token not in response.text
    time.sleep(0.2)
    assert voice_api.sent("start_talk") == []
    assert "say: refused a request from 127.0.0.1 without the right token" in app_log(caplog)


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://evil.example"}],
    ids=["cross-site", "same-site", "Origin"],
)
def test_another_sites_page_cannot_make_the_callee_hear_its_words(answered, voice_api, caplog, headers):
    running, call_uuid = answered

    url = f"{running.url}/calls/{call_uuid}/say"
    response = running.browser.post(url, json={"text": "Please call 0900 123 456"}, headers=headers, timeout=10)

    assert response.status_code == 403
    assert response.json()["error"] in (ANOTHER_SITE, PRESS_ON_THE_PAGE)
    time.sleep(0.2)
    assert voice_api.sent("start_talk") == []
    assert "say: refused a" in app_log(caplog)


def test_a_call_still_ringing_gets_a_409_and_nothing_is_sent(start_app, voice_api):
    running = start_app()
    call_uuid = running.place_call()
    running.vonage_sends(call_uuid, "ringing")

    response = say(running, call_uuid, json={"text": WORDS})

    assert response.status_code == 409
    assert response.json()["error"] == "The call is not answered, so there is no one to say it to: it is ringing."
    assert voice_api.sent("start_talk") == []


def test_a_call_that_has_ended_or_was_never_placed_gets_a_409(answered, voice_api):
    running, call_uuid = answered
    running.callee_hangs_up(voice_api, call_uuid)

    ended = say(running, call_uuid, json={"text": WORDS})
    stranger = say(running, "no-such-call\n2026-01-01 INFO forged", json={"text": WORDS})

    for response in (ended, stranger):
        assert response.status_code == 409
        assert response.json()["error"].endswith("it has ended, or this app did not place it.")
    time.sleep(0.2)
    assert voice_api.sent("start_talk") == []


def test_a_voice_api_refusing_the_talk_is_logged_with_its_reason_and_the_call_goes_on(answered, voice_api, caplog):
    running, call_uuid = answered
    voice_api.misbehave("start_talk", status=400, times=1)

    assert say(running, call_uuid, json={"text": WORDS}).status_code == 202

    wait_for_log(caplog, f"call {call_uuid}: PUT talk failed after")
    assert say(running, call_uuid, json={"text": WORDS}).status_code == 202
    assert len(voice_api.wait_for("start_talk", count=2, call_uuid=call_uuid)) == 2
