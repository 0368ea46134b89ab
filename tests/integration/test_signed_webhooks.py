"""With VONAGE_SIGNATURE_SECRET set, the webhook acts only on events Vonage signed:
for this body, recently, and once."""

from __future__ import annotations

import json
import logging
import time

import jwt
import pytest

from tests.helpers import APPLICATION_ID, SIGNATURE_SECRET, app_log
from tools.standins.webhook_events import signed_headers

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def signed_app(start_app):
    return start_app(VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET)


def event_body(call_uuid: str, status: str = "answered") -> bytes:
    return json.dumps({"uuid": call_uuid, "status": status, "direction": "outbound"}).encode()


def refusals(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "not verified as Vonage's" in r.getMessage()
    ]


def test_a_correctly_signed_call_plays_its_music_and_is_hung_up(signed_app, voice_api):
    call_uuid = signed_app.place_call()

    for status in ("started", "ringing", "answered"):
        assert signed_app.vonage_sends(call_uuid, status).status_code == 204

    voice_api.wait_for("start_stream", call_uuid=call_uuid)
    voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=4)
    assert signed_app.vonage_sends(call_uuid, "completed").status_code == 204


def test_an_event_signed_up_to_30_s_ahead_of_this_clock_is_accepted(signed_app, voice_api):
    call_uuid = signed_app.place_call()

    assert signed_app.vonage_sends(call_uuid, "answered", signed_at=int(time.time()) + 20).status_code == 204

    voice_api.wait_for("start_stream", call_uuid=call_uuid)


def forged(call_uuid: str, case: str) -> tuple[bytes, dict[str, str]]:
    body = event_body(call_uuid)
    now = int(time.time())
    headers = {
        "no Authorization header": {},
        "not a Bearer token": {"Authorization": "Basic dXNlcjpwYXNz"},
        "an empty Bearer token": {"Authorization": "Bearer "},
        "a token that is not a JWT": {"Authorization": "Bearer not-a-jwt"},
        "a token with three garbage parts": {"Authorization": "Bearer a.b.c"},
        "the wrong secret": signed_headers(body, "some-other-secret-0123456789abcdefghij", APPLICATION_ID),
        "an unsigned alg none token": {
            "Authorization": "Bearer "
            + jwt.encode({"iat": now, "jti": "j1", "payload_hash": "x"}, None, algorithm="none")
        },
        "a hash of another body": signed_headers(event_body(call_uuid, "ringing"), SIGNATURE_SECRET, APPLICATION_ID),
        "no payload_hash": signed_headers(body, SIGNATURE_SECRET, APPLICATION_ID, payload_hash=None),
        "iat 6 minutes old": signed_headers(body, SIGNATURE_SECRET, APPLICATION_ID, iat=now - 360),
        "iat 2 minutes ahead": signed_headers(body, SIGNATURE_SECRET, APPLICATION_ID, iat=now + 120),
        "no iat": signed_headers(body, SIGNATURE_SECRET, APPLICATION_ID, iat=None),
        "iat that is not a number": signed_headers(body, SIGNATURE_SECRET, APPLICATION_ID, iat="yesterday"),
        "a token expired beyond the clock-skew leeway": signed_headers(
            body, SIGNATURE_SECRET, APPLICATION_ID, exp=now - 60
        ),
        "no jti": signed_headers(body, SIGNATURE_SECRET, APPLICATION_ID, jti=None),
    }[case]
    return body, JSON | headers


# Each forgery, and the reason the app logs for refusing it.
FORGERIES = {
    "no Authorization header": "no Bearer token",
    "not a Bearer token": "no Bearer token",
    "an empty Bearer token": "no Bearer token",
    "a token that is not a JWT": "not a valid JWT (DecodeError)",
    "a token with three garbage parts": "not a valid JWT (DecodeError)",
    "the wrong secret": "the signature does not match VONAGE_SIGNATURE_SECRET",
    "an unsigned alg none token": "not a valid JWT (InvalidAlgorithmError)",
    "a hash of another body": "payload_hash does not match the body",
    "no payload_hash": "no payload_hash claim",
    "iat 6 minutes old": "iat is more than 5 minutes old",
    "iat 2 minutes ahead": "iat is more than 30 s ahead of this clock",
    "no iat": "no iat claim",
    "iat that is not a number": "not a valid JWT (InvalidIssuedAtError)",
    "a token expired beyond the clock-skew leeway": "not a valid JWT (ExpiredSignatureError)",
    "no jti": "no jti claim",
}


@pytest.mark.parametrize(("case", "reason"), FORGERIES.items())
def test_an_event_not_signed_by_vonage_for_this_body_now_gets_a_401_and_nothing_happens(
    signed_app, voice_api, caplog, case, reason
):
    call_uuid = signed_app.place_call()
    body, headers = forged(call_uuid, case)

    response = signed_app.post_to_webhook(body, headers)

    assert response.status_code == 401
    assert response.json()["error"]
    assert f"call {call_uuid}: answered" not in app_log(caplog)
    [refusal] = refusals(caplog)
    assert reason in refusal
    token = headers.get("Authorization", "").partition(" ")[2]
    assert not token or token not in refusal
    time.sleep(0.2)
    assert [r.step for r in voice_api.received] == ["create_call"]


def test_a_replayed_event_is_refused_and_starts_nothing_more(signed_app, voice_api, caplog):
    call_uuid = signed_app.place_call()
    body = event_body(call_uuid)
    headers = JSON | signed_headers(body, SIGNATURE_SECRET, APPLICATION_ID)

    first = signed_app.post_to_webhook(body, headers)
    replay = signed_app.post_to_webhook(body, headers)

    assert (first.status_code, replay.status_code) == (204, 401)
    assert "a replayed request" in refusals(caplog)[0]
    voice_api.wait_for("start_stream", call_uuid=call_uuid)
    time.sleep(0.2)
    assert len(voice_api.sent("start_stream", call_uuid)) == 1


def test_a_new_jti_for_the_same_event_is_a_repeat_not_a_replay(signed_app, voice_api, caplog):
    # Vonage may send the same status twice, each time signed afresh: that is handled
    # as a repeated event (acknowledged, nothing more sent), not refused.
    call_uuid = signed_app.place_call()

    assert signed_app.vonage_sends(call_uuid, "answered").status_code == 204
    assert signed_app.vonage_sends(call_uuid, "answered").status_code == 204

    assert refusals(caplog) == []
    assert "repeated answered event" in app_log(caplog)


def test_without_a_secret_start_up_warns_once_that_webhooks_are_not_verified(start_app, caplog):
    start_app()

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "VONAGE_SIGNATURE_SECRET is not set" in w]) == 1


def test_with_a_secret_there_is_no_such_warning(signed_app, caplog):
    assert "VONAGE_SIGNATURE_SECRET is not set" not in app_log(caplog)
