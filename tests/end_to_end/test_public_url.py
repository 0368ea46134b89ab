"""`python app.py` on a public URL, tried as a stranger would: without the start-up link's token,
and with a forged final event (slow and malformed clients: integration/test_slow_and_malformed_clients.py)."""

from __future__ import annotations

import requests

from stream_audio.access import COOKIE


def test_a_stranger_without_the_start_up_links_token_places_no_call(start_process, voice_api):
    running = start_process(CALL_TOKEN="")  # the default: a token made at start-up
    call = running.url + "/call"

    refused = [
        requests.get(call, timeout=5),
        requests.get(call, params={"token": "guessed"}, timeout=5),
        requests.get(call, cookies={COOKIE: "guessed"}, timeout=5),
    ]

    assert [answer.status_code for answer in refused] == [403, 403, 403]
    assert voice_api.received == []
    link = running.start_up_link()
    assert requests.get(link.replace("localhost", "127.0.0.1"), timeout=5).status_code == 200
    assert len(voice_api.sent("create_call")) == 1


def test_a_strangers_forged_completed_neither_frees_the_calls_slot_nor_stops_its_hang_up(start_process, voice_api):
    running = start_process(MAX_ACTIVE_CALLS="1", STREAM_SECONDS="2")  # and, by default, no signature secret
    call_uuid = running.place_call()
    voice_api.callee_answers(call_uuid)
    running.vonage_sends(call_uuid, "answered")
    voice_api.wait_for("start_stream", call_uuid=call_uuid)

    assert running.vonage_sends(call_uuid, "completed").status_code == 204  # the stranger's
    voice_api.wait_for("get_call", call_uuid=call_uuid)
    assert (
        requests.get(running.url + "/call", params={"token": running.env["CALL_TOKEN"]}, timeout=5).status_code == 429
    )

    voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=4)
    assert [r.step for r in voice_api.received] == ["create_call", "start_stream", "get_call", "stop_stream", "hangup"]
    assert (
        f"call {call_uuid}: ignored a completed event that the Voice API contradicts: the call is answered"
        in running.log()
    )
