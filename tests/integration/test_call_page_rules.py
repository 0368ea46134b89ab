"""The call page's rules, asked without a browser: /call answers a browser with a redirect and a
script with JSON, and the controls need the token, this site's own page and a call they fit."""

from __future__ import annotations

import re
import time

import requests

from tests.helpers import TO_NUMBER
from tests.integration.helpers import OPENED_BY_THE_PERSON, steps_sent

CALL_PAGE = re.compile(r"/calls/([A-Za-z0-9-]+)$")


def test_a_control_needs_the_token_and_this_sites_page(running_app, voice_api):
    call_uuid = running_app.place_call()
    hang_up = f"{running_app.url}/calls/{call_uuid}/hang-up"

    without_token = requests.post(hang_up, timeout=5)
    from_another_site = running_app.browser.post(hang_up, headers={"Sec-Fetch-Site": "cross-site"}, timeout=5)
    state_without_token = requests.get(f"{running_app.url}/calls/{call_uuid}.json", timeout=5)

    assert without_token.status_code == 403 and "start-up" in without_token.json()["error"]
    assert from_another_site.status_code == 403 and "another site" in from_another_site.json()["error"]
    assert state_without_token.status_code == 403
    time.sleep(0.3)
    assert steps_sent(voice_api, call_uuid) == ["create_call"]


def test_a_control_that_does_not_fit_the_call_now_is_refused_with_why(running_app, voice_api):
    call_uuid = running_app.place_call()

    play = running_app.browser.post(f"{running_app.url}/calls/{call_uuid}/music/play", timeout=5)
    hang_up = running_app.browser.post(f"{running_app.url}/calls/{call_uuid}/hang-up", timeout=5)
    again = running_app.browser.post(f"{running_app.url}/calls/{call_uuid}/hang-up", timeout=5)

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
