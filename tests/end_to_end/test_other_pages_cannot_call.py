"""Another page cannot place a call, in a real browser: Chromium, holding the cookie the start-up
link left, visits pages a second local server (another port: the same site, so the cookie goes
along) or another site serves. Their images, frames, scripts, prefetches, prerenders, links and
forms, fetches and beacons reach /call; none places a call, and /call is never drawn inside their frames."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Frame, Page, expect

from tests.end_to_end.helpers import CHROMIUM, AnotherLocalSite
from tests.helpers import TO_NUMBER, wait_for_log
from tests.integration.helpers import RunningApp

if not CHROMIUM.exists() and os.environ.get("CI") != "true":
    pytest.skip(f"the browser tests need Chromium at {CHROMIUM}: apt-get install chromium", allow_module_level=True)

CALL_PAGE = re.compile(r"/calls/([A-Za-z0-9-]+)$")
NOT_PLACED = "/call: no call placed, the person did not ask for it (Sec-Fetch-Site: "


def holding_the_cookie(page: Page, running: RunningApp) -> None:
    """The person opened the app with the start-up link's token once, as they do, and so holds its cookie."""
    page.goto(running.link("/"))
    expect(page.get_by_role("heading", name=f"Ring {TO_NUMBER}")).to_be_visible()


def drawn(frame: Frame) -> bool:
    """True if the browser drew the app's page in `frame`; one it refused to frame shows an error of its own."""
    return frame.url.startswith("http") and frame.locator("main").count() > 0


def test_what_another_local_page_embeds_or_prefetches_places_no_call_and_is_not_drawn(
    start_app, voice_api, page, another_local_site: AnotherLocalSite, caplog
):
    running = start_app()
    holding_the_cookie(page, running)
    call = running.url + "/call"
    another_local_site.pages["/embeds"] = f"""<!doctype html><title>Free ringtones</title>
<img src="{call}?via=img" alt=""><iframe src="{call}?via=iframe"></iframe><script src="{call}?via=script"></script>
<object data="{call}?via=object"></object><embed src="{call}?via=embed">
<link rel="prefetch" href="{call}?via=link-prefetch">
<script type="speculationrules">
{{"prefetch": [{{"source": "list", "urls": ["{call}?via=prefetch"]}}],
  "prerender": [{{"source": "list", "urls": ["{call}?via=prerender"]}}]}}
</script>
<script>
fetch("{call}?via=fetch", {{mode: "no-cors", credentials: "include"}});
navigator.sendBeacon("{call}?via=beacon", "x");
</script>"""

    page.goto(another_local_site.url("/embeds"))

    for how in [
        "same-site, Sec-Fetch-Mode: no-cors, Sec-Fetch-Dest: image)",
        "same-site, Sec-Fetch-Mode: navigate, Sec-Fetch-Dest: iframe)",
        "same-site, Sec-Fetch-Mode: no-cors, Sec-Fetch-Dest: script)",
        "same-site, Sec-Fetch-Mode: navigate, Sec-Fetch-Dest: object)",
        "same-site, Sec-Fetch-Mode: navigate, Sec-Fetch-Dest: embed)",
        "same-site, Sec-Fetch-Mode: no-cors, Sec-Fetch-Dest: empty)",  # the fetch
        "same-site, Sec-Fetch-Mode: no-cors, Sec-Fetch-Dest: empty, Sec-Purpose: prefetch)",
        "none, Sec-Fetch-Mode: navigate, Sec-Fetch-Dest: document, Sec-Purpose: prefetch)",
        "none, Sec-Fetch-Mode: navigate, Sec-Fetch-Dest: document, Sec-Purpose: prefetch;prerender)",
    ]:
        wait_for_log(caplog, NOT_PLACED + how)  # it reached /call with the cookie, and was told no
    wait_for_log(caplog, "/call: refused a request another site's page made")  # the beacon, a POST
    frames = page.main_frame.child_frames
    assert len(frames) == 3 and not any(drawn(frame) for frame in frames)  # the iframe, the object, the embed
    assert voice_api.received == []


def test_a_link_from_another_local_page_shows_the_call_button_and_only_pressing_it_calls(
    start_app, voice_api, page, another_local_site: AnotherLocalSite
):
    running = start_app()
    holding_the_cookie(page, running)
    another_local_site.pages["/link"] = f'<!doctype html><a href="{running.url}/call">Win a prize</a>'
    page.goto(another_local_site.url("/link"))

    page.get_by_role("link", name="Win a prize").click()

    expect(page.get_by_role("heading", name=f"Ring {TO_NUMBER}?")).to_be_visible()
    assert voice_api.received == []
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page).to_have_url(CALL_PAGE)
    assert len(voice_api.sent("create_call")) == 1


def test_a_form_another_local_page_submits_places_no_call(
    start_app, voice_api, page, another_local_site: AnotherLocalSite
):
    running = start_app()
    holding_the_cookie(page, running)
    another_local_site.pages["/form"] = f"""<!doctype html>
<form method="post" action="{running.url}/call"><button>Claim</button></form>
<script>document.forms[0].submit()</script>"""

    page.goto(another_local_site.url("/form"))

    expect(page.get_by_role("alert")).to_contain_text("a request another site's page made is refused")
    assert voice_api.received == []


def test_another_sites_frame_of_call_is_not_drawn(
    start_app, voice_api, page, another_local_site: AnotherLocalSite, caplog
):
    running = start_app()
    holding_the_cookie(page, running)
    another_local_site.pages["/frame"] = f'<!doctype html><iframe src="{running.url}/call"></iframe>'

    page.goto(another_local_site.url("/frame", host="localhost"))

    wait_for_log(caplog, "/call: refused a request from 127.0.0.1 without the right token")  # no cookie: another site
    [frame] = page.main_frame.child_frames
    assert not drawn(frame)
    assert voice_api.received == []
