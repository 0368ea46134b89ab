"""GET /call costs money: CALL_TOKEN keeps strangers out, MAX_ACTIVE_CALLS bounds how many
calls run at once, and a lost event never blocks /call for good (a call whose every event is
lost: unit/test_max_active_calls.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.helpers import app_log, wait_for_log

CALL_TOKEN = "open-sesame-7f3a9c"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?token=",
        "?token=open-sesame",
        "?token=open-sesame-7f3a9c-and-more",
        "?TOKEN=open-sesame-7f3a9c",
        "?token=%ff%fe",
    ],
)
def test_with_a_call_token_a_request_without_the_right_one_gets_a_403_and_places_no_call(
    start_app, voice_api, caplog, query
):
    running = start_app(CALL_TOKEN=CALL_TOKEN)

    response = requests.get(running.url + "/call" + query, timeout=10)

    assert response.status_code == 403
    assert "token" in response.json()["error"] and CALL_TOKEN not in response.text
    assert voice_api.received == []
    assert "/call: refused a request" in app_log(caplog)


def test_with_the_right_token_the_call_is_placed_and_the_token_is_never_logged(start_app, voice_api, caplog):
    running = start_app(CALL_TOKEN=CALL_TOKEN)

    response = running.get(f"/call?token={CALL_TOKEN}")

    assert response.status_code == 200
    assert len(voice_api.sent("create_call")) == 1
    assert all(CALL_TOKEN not in r.getMessage() for r in caplog.records)
    wait_for_log(caplog, '"GET /call HTTP/1.1" 200')  # the request log, written once the answer is sent


def test_a_head_request_such_as_a_link_preview_places_no_call(running_app, voice_api):
    response = requests.head(running_app.url + "/call", timeout=5)

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert voice_api.received == []


def test_a_call_beyond_max_active_calls_gets_a_429_until_one_ends(start_app, voice_api, caplog):
    running = start_app(MAX_ACTIVE_CALLS="2")
    first, _second = running.place_call(), running.place_call()

    refused = running.get("/call")

    assert refused.status_code == 429
    assert "MAX_ACTIVE_CALLS" in refused.json()["error"]
    assert len(voice_api.sent("create_call")) == 2
    running.callee_hangs_up(voice_api, first)
    running.place_call()


def test_a_burst_of_requests_never_places_more_than_max_active_calls(start_app, voice_api):
    running = start_app(MAX_ACTIVE_CALLS="3")

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: running.get("/call").status_code, range(8)))

    assert statuses == [200] * 3 + [429] * 5
    assert len(voice_api.sent("create_call")) == 3


def test_a_failed_call_does_not_count(start_app, voice_api):
    running = start_app(MAX_ACTIVE_CALLS="1")
    voice_api.misbehave("create_call", status=500)
    assert running.get("/call").status_code == 502

    voice_api.behave()

    running.place_call()


def test_a_call_stops_counting_once_this_app_has_hung_up_even_if_completed_never_arrives(start_app, voice_api, caplog):
    running = start_app(MAX_ACTIVE_CALLS="1")
    call_uuid = running.place_call()
    running.vonage_sends(call_uuid, "answered")
    voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=4)
    wait_for_log(caplog, f"call {call_uuid}: PUT hangup done")

    running.place_call()
