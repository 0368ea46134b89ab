"""The call page's rules, asked without a browser: /call answers a browser with a redirect and a
script with JSON, the controls need the token, this site's own page and a call they fit, and what
the page is sent stays small and is of one moment."""

from __future__ import annotations

import re
import threading
import time

import requests

from stream_audio.call_life import CallState
from stream_audio.events import read_event
from stream_audio.history import FIRST_STEPS_KEPT, LATEST_STEPS_KEPT, CallRecord
from tests.helpers import SIGNATURE_SECRET, TO_NUMBER, wait_until
from tests.integration.helpers import OPENED_BY_THE_PERSON, steps_sent

CALL_PAGE = re.compile(r"/calls/([A-Za-z0-9-]+)$")


def test_a_control_needs_the_token_and_this_apps_own_page_not_the_cookie_alone(running_app, voice_api):
    call_uuid = running_app.place_call()
    hang_up = f"{running_app.url}/calls/{call_uuid}/hang-up"

    without_token = requests.post(hang_up, timeout=5)
    from_another_site = running_app.press(f"/calls/{call_uuid}/hang-up", headers={"Sec-Fetch-Site": "cross-site"})
    another_local_server = running_app.browser.post(hang_up, timeout=5)  # the cookie alone, no fetch metadata
    state_without_token = requests.get(f"{running_app.url}/calls/{call_uuid}.json", timeout=5)

    assert without_token.status_code == 403 and "start-up" in without_token.json()["error"]
    assert from_another_site.status_code == 403 and "another site" in from_another_site.json()["error"]
    assert another_local_server.status_code == 403 and "the cookie alone" in another_local_server.json()["error"]
    assert state_without_token.status_code == 403
    time.sleep(0.3)
    assert steps_sent(voice_api, call_uuid) == ["create_call"]


def test_a_control_that_does_not_fit_the_call_now_is_refused_with_why(running_app, voice_api):
    call_uuid = running_app.place_call()

    play = running_app.press(f"/calls/{call_uuid}/music/play")
    hang_up = running_app.press(f"/calls/{call_uuid}/hang-up")
    again = running_app.press(f"/calls/{call_uuid}/hang-up")

    assert play.status_code == 409 and play.json()["error"] == "Cannot play the music now: the call is placed."
    assert hang_up.status_code == 202
    assert again.status_code == 409
    assert re.fullmatch(r"Cannot hang up now: the call is (hanging up|hung up)\.", again.json()["error"])
    voice_api.wait_for("hangup", call_uuid=call_uuid)
    time.sleep(0.3)
    assert len(voice_api.sent("hangup", call_uuid)) == 1


def test_a_browser_opening_call_is_sent_to_its_page_and_a_script_gets_json(running_app, voice_api):
    as_a_browser = running_app.browser.get(
        running_app.url + "/call", headers=OPENED_BY_THE_PERSON, allow_redirects=False, timeout=10
    )
    as_curl = running_app.get("/call", headers={"Accept": "*/*"})

    [first, second] = voice_api.sent("create_call")
    assert as_a_browser.status_code == 303
    call_uuid = CALL_PAGE.search(as_a_browser.headers["Location"])[1]
    assert as_curl.status_code == 200 and as_curl.json()["to"] == TO_NUMBER
    state = running_app.get(f"/calls/{call_uuid}.json").json()
    assert (
        state["state"] == "placed" and state["controls"]["hang_up"] and state["steps"][0]["what"].startswith("placed")
    )
    assert running_app.get("/calls/no-such-call.json").status_code == 404
    assert first.call_uuid is second.call_uuid is None  # two calls created: no more, no fewer


def test_a_call_rung_10000_times_keeps_its_page_and_its_json_small(running_app, voice_api):
    call_uuid = running_app.place_call()
    for _ in range(10_000):
        running_app.calls.on_event(read_event({"uuid": call_uuid, "status": "ringing"}))

    page = running_app.get(f"/calls/{call_uuid}", headers={"Accept": "text/html"})
    state = running_app.get(f"/calls/{call_uuid}.json")

    folded = 10_001 - FIRST_STEPS_KEPT - LATEST_STEPS_KEPT
    assert f"… {folded:,} steps not shown …" in page.text
    assert len(state.json()["steps"]) == FIRST_STEPS_KEPT + 1 + LATEST_STEPS_KEPT
    assert len(page.content) < 40_000 and len(state.content) < 25_000  # were 1.3 MB and 814 KB


def test_a_call_that_ends_while_its_page_asks_about_it_is_shown_going_on_or_ended_never_both(
    start_app, voice_api, monkeypatch
):
    running = start_app(VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET, STREAM_SECONDS="30")
    call_uuid = running.place_call()
    voice_api.callee_answers(call_uuid)
    running.vonage_sends(call_uuid, "answered")
    wait_until(lambda: running.calls.snapshot(call_uuid).state is CallState.STREAMING, 5, "the music playing")
    history, read_record = running.calls.history, running.calls.history.of
    ending = threading.Thread(target=running.vonage_sends, args=(call_uuid, "completed"))

    def record_read_as_the_call_ends(uuid: str) -> CallRecord | None:
        # Vonage's final status arrives while the page is being read: it waits, or it is all there.
        monkeypatch.setattr(history, "of", read_record)
        ending.start()
        ending.join(1.0)
        return read_record(uuid)

    monkeypatch.setattr(history, "of", record_read_as_the_call_ends)
    while_ending = running.get(f"/calls/{call_uuid}.json").json()
    ending.join()
    ended = running.get(f"/calls/{call_uuid}.json").json()

    for view in (while_ending, ended):
        ended_in_timeline = any(step["what"].startswith("ended: completed") for step in view["steps"])
        assert ended_in_timeline == view["ended"] == view["controls"]["call_again"], view
        assert view["headline"].startswith("Ended") == view["ended"], view
    assert ended["ended"]
