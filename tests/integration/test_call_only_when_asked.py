"""/call rings a phone, so it places a call only when the person asks for one: a page they open
themselves, or the Call button on this app's own pages. What another page loads (same-site pages
on another local port get the cookie too), and what the browser loads ahead, get the Call button
instead. Each request here carries the fetch metadata Chromium sends (seen in Chromium 150; the
same requests made by Chromium itself: end_to_end/test_other_pages_cannot_call.py)."""

from __future__ import annotations

import pytest
import requests

from stream_audio.access import COOKIE
from tests.helpers import app_log
from tests.integration.helpers import HTML, OPENED_BY_THE_PERSON

CALL_BUTTON = '<form method="post" action="/call">'


def loaded(site: str, mode: str, dest: str, purpose: str = "", **more: str) -> dict[str, str]:
    """The fetch metadata of a request a page (or the browser itself, ahead: `purpose`) makes; `site` says
    whose page asked."""
    fetch = {"Accept": HTML, "Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest, **more}
    return fetch | ({"Sec-Purpose": purpose} if purpose else {})


PRESSED_CALL_ON_THIS_APPS_PAGE = {**loaded("same-origin", "navigate", "document"), "Sec-Fetch-User": "?1"}


def test_typing_call_in_the_address_bar_places_the_call(running_app, voice_api):
    answer = running_app.browser.get(running_app.url + "/call", headers=OPENED_BY_THE_PERSON, allow_redirects=False)

    assert answer.status_code == 303 and "/calls/" in answer.headers["Location"]
    assert len(voice_api.sent("create_call")) == 1


def test_the_start_up_link_places_the_call_and_leaves_a_cookie_that_is_not_the_token(running_app, voice_api):
    answer = requests.get(running_app.link(), headers=OPENED_BY_THE_PERSON, allow_redirects=False, timeout=10)

    assert answer.status_code == 303
    assert len(voice_api.sent("create_call")) == 1
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}={running_app.cookie_value};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert running_app.token not in cookie


def test_the_cookies_key_replayed_as_the_token_is_refused(running_app, voice_api):
    key = running_app.cookie_value
    replays = [
        requests.get(running_app.url + "/call", params={"token": key}, timeout=10),
        requests.get(running_app.url + "/call", headers={"Authorization": f"Bearer {key}"}, timeout=10),
        requests.get(running_app.url + "/call", cookies={COOKIE: running_app.token}, timeout=10),
    ]

    assert [answer.status_code for answer in replays] == [403, 403, 403]
    assert voice_api.received == []


@pytest.mark.parametrize(
    "fetch",
    [
        pytest.param(loaded("same-site", "no-cors", "image"), id="an img on another local port"),
        pytest.param(loaded("same-site", "navigate", "iframe"), id="an iframe on another local port"),
        pytest.param(loaded("same-site", "no-cors", "script"), id="a script src on another local port"),
        pytest.param(
            {**loaded("same-site", "navigate", "document"), "Sec-Fetch-User": "?1"},
            id="a link followed from another local port",
        ),
        pytest.param(loaded("cross-site", "navigate", "document"), id="a link followed from another site"),
        pytest.param(loaded("same-origin", "cors", "empty"), id="a fetch from this app's own page"),
        pytest.param(loaded("same-site", "no-cors", "empty", "prefetch"), id="a link rel=prefetch"),
        pytest.param(loaded("none", "navigate", "document", "prefetch"), id="a speculative prefetch"),
        pytest.param(loaded("none", "navigate", "document", "prefetch;prerender"), id="a prerender"),
        pytest.param(loaded("none", "navigate", "document", Purpose="prefetch"), id="an older browser's prefetch"),
    ],
)
def test_what_another_page_or_the_browser_loads_gets_the_call_button_and_places_no_call(
    running_app, voice_api, caplog, fetch
):
    answer = running_app.browser.get(running_app.url + "/call", headers=fetch, allow_redirects=False, timeout=10)

    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert CALL_BUTTON in answer.text and ">Call</button>" in answer.text
    assert voice_api.received == []
    assert "/call: no call placed, the person did not ask for it (Sec-Fetch-Site: " in app_log(caplog)


def test_the_call_button_places_the_call(running_app, voice_api):
    answer = running_app.browser.post(
        running_app.url + "/call", headers=PRESSED_CALL_ON_THIS_APPS_PAGE, allow_redirects=False, timeout=10
    )

    assert answer.status_code == 303 and "/calls/" in answer.headers["Location"]
    assert len(voice_api.sent("create_call")) == 1


def test_a_prefetched_start_up_link_places_no_call_and_its_call_button_then_does(running_app, voice_api):
    prefetched = requests.get(
        running_app.link(), headers={**OPENED_BY_THE_PERSON, "Sec-Purpose": "prefetch"}, timeout=10
    )
    assert prefetched.status_code == 200 and CALL_BUTTON in prefetched.text
    assert voice_api.received == []

    pressed = requests.post(
        running_app.url + "/call",
        cookies=prefetched.cookies,
        headers=PRESSED_CALL_ON_THIS_APPS_PAGE,
        allow_redirects=False,
        timeout=10,
    )

    assert pressed.status_code == 303
    assert len(voice_api.sent("create_call")) == 1


def test_a_form_another_local_port_posts_places_no_call(running_app, voice_api):
    answer = running_app.browser.post(
        running_app.url + "/call", headers={**PRESSED_CALL_ON_THIS_APPS_PAGE, "Sec-Fetch-Site": "same-site"}, timeout=10
    )

    assert answer.status_code == 403
    assert voice_api.received == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_another_local_server_sent_the_cookie_cannot_place_a_call_with_it(running_app, voice_api, caplog, method):
    answer = running_app.browser.request(method, running_app.url + "/call", timeout=10)

    assert answer.status_code == 403
    assert answer.json()["error"].startswith("No call placed: the cookie alone places no call")
    assert voice_api.received == []
    assert "/call: refused a request from 127.0.0.1 with the cookie alone, and no fetch metadata" in app_log(caplog)


def test_a_script_presenting_the_token_places_a_call_without_any_cookie(running_app, voice_api):
    call = running_app.url + "/call"
    bearer = requests.get(call, headers={"Authorization": f"Bearer {running_app.token}"}, timeout=10)
    query = requests.post(running_app.link(), timeout=10)
    wrong = requests.get(call, headers={"Authorization": f"Basic {running_app.token}"}, timeout=10)

    assert bearer.status_code == 200 and bearer.json()["uuid"]
    assert query.status_code == 200 and query.json()["uuid"]
    assert wrong.status_code == 403
    assert len(voice_api.sent("create_call")) == 2
