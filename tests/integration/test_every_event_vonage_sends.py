"""Vonage posts more to the event webhook than call statuses: input and transfer events
without a status, error, notify and record events without a call uuid, human/machine
with `call_uuid`. Each is acknowledged (a 4xx would send a live call down Vonage's
fallback path) and logged in one line; an error says Vonage's reason at ERROR level.
The bodies are those Vonage's own PHP and .NET SDKs captured (tests/vonage_webhook_fixtures)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.helpers import APPLICATION_ID, SIGNATURE_SECRET, app_records, wait_for_log
from tools.standins.webhook_events import signed_headers

FIXTURES = Path(__file__).parent / "vonage_webhook_fixtures"
FIXTURE_UUID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
FIXTURE_CONVERSATION = "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


def captured(name: str) -> tuple[bytes, str]:
    """A captured event's body and Content-Type."""
    text = (FIXTURES / name).read_text()
    if name.endswith(".txt"):  # a whole HTTP request
        head, _, body = text.partition("\n\n")
        [content_type] = [line.split(": ", 1)[1] for line in head.splitlines() if line.startswith("Content-Type")]
        return body.strip().encode(), content_type
    return text.encode(), "application/json"


def for_call(name: str, call_uuid: str, conversation_uuid: str) -> bytes:
    """A captured .NET event, about a call this app placed."""
    body = captured(name)[0].decode()
    return body.replace(FIXTURE_CONVERSATION, conversation_uuid).replace(FIXTURE_UUID, call_uuid).encode()


def event_lines(caplog) -> list[str]:
    """What the app logged of events, leaving out the request log."""
    return [line for line in app_records(caplog) if line.startswith("call ")]


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".json", ".txt")))
def test_every_event_shape_vonage_captured_is_acknowledged_and_logged_in_one_line(running_app, voice_api, caplog, name):
    body, content_type = captured(name)

    response = running_app.post_to_webhook(body, {"Content-Type": content_type})

    assert response.status_code == 204
    assert len(event_lines(caplog)) == 1
    assert voice_api.received == []


def test_an_error_event_is_logged_at_error_level_with_vonages_reason_tied_to_the_call(running_app, voice_api, caplog):
    call_uuid = running_app.place_call()
    body = for_call("dotnet-Error.json", call_uuid, voice_api.conversation_of[call_uuid])

    assert running_app.post_to_webhook(body, {"Content-Type": "application/json"}).status_code == 204

    [line] = app_records(caplog, logging.ERROR)
    assert line == f"call {call_uuid}: Vonage reported an error: Syntax error in NCCO. Invalid value type or action."


def test_a_signed_final_event_logs_the_calls_duration_price_and_who_hung_up(start_app, voice_api, caplog):
    app = start_app(VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET)
    call_uuid = app.place_call()
    body = for_call("dotnet-Completed.json", call_uuid, voice_api.conversation_of[call_uuid])
    voice_api.callee_hangs_up(call_uuid)

    headers = {"Content-Type": "application/json", **signed_headers(body, SIGNATURE_SECRET, APPLICATION_ID)}
    assert app.post_to_webhook(body, headers).status_code == 204

    wait_for_log(
        caplog, f"call {call_uuid}: completed (after 2 s, price 0.03, disconnected by user); nothing more to send"
    )


def test_an_unsigned_final_event_logs_the_duration_and_price_the_voice_api_confirms_not_its_own(
    running_app, voice_api, caplog
):
    call_uuid = running_app.place_call()
    body = for_call("dotnet-Completed.json", call_uuid, voice_api.conversation_of[call_uuid])
    voice_api.callee_hangs_up(call_uuid)  # the app checks with GET /v1/calls/{uuid} before it believes

    assert running_app.post_to_webhook(body, {"Content-Type": "application/json"}).status_code == 204

    confirmed = voice_api.calls.details(call_uuid)
    billing = f"after {confirmed['duration']} s, price {confirmed['price']}"
    wait_for_log(caplog, f"call {call_uuid}: completed ({billing}); nothing more to send")


def test_a_machine_event_names_the_call_as_call_uuid_and_changes_nothing(running_app, voice_api, caplog):
    call_uuid = running_app.place_call()
    running_app.vonage_sends(call_uuid, "answered")
    voice_api.wait_for("start_stream", call_uuid=call_uuid)
    body = for_call("dotnet-HumanMachine.json", call_uuid, voice_api.conversation_of[call_uuid])

    assert running_app.post_to_webhook(body, {"Content-Type": "application/json"}).status_code == 204

    wait_for_log(caplog, f"call {call_uuid}: machine")
    voice_api.wait_for("hangup", call_uuid=call_uuid)  # the call goes on as before
    assert len(voice_api.sent("start_stream")) == 1


@pytest.mark.parametrize("name", ["dotnet-MultiInputDtmf.json", "dotnet-Transfer.json"])
def test_input_and_transfer_events_during_the_music_are_acknowledged_and_send_nothing(
    running_app, voice_api, caplog, name
):
    call_uuid = running_app.place_call()
    running_app.vonage_sends(call_uuid, "answered")
    voice_api.wait_for("start_stream", call_uuid=call_uuid)
    body = for_call(name, call_uuid, voice_api.conversation_of[call_uuid])

    assert running_app.post_to_webhook(body, {"Content-Type": "application/json"}).status_code == 204

    kind = "input" if "Dtmf" in name else "transfer"
    wait_for_log(caplog, f"call {call_uuid}: {kind} event; nothing to do")
    assert [r.step for r in voice_api.received] == ["create_call", "start_stream"]


def test_a_call_uuid_of_32_hex_digits_without_dashes_is_read(running_app, caplog):
    call_uuid = "0123456789abcdef0123456789ABCDEF"
    body = json.dumps({"uuid": call_uuid, "status": "ringing", "conversation_uuid": "CON-1"}).encode()

    assert running_app.post_to_webhook(body, {"Content-Type": "application/json"}).status_code == 204

    wait_for_log(caplog, f"call {call_uuid}: event ringing for a call this app is not handling")
