"""The call's page, in a real browser: headless Chromium driven by Playwright against the real
app, with the Voice API stand-in behind it. Tests play Vonage's part by posting its events.

Playwright's `expect` waits (up to 5 s here) for what the page should come to show, and its
role locators find each button by the accessible name a screen reader announces."""

from __future__ import annotations

import os
import re
import time

import pytest
from playwright.sync_api import expect

from stream_audio.access import COOKIE
from stream_audio.call_view import RESTARTED
from tests.end_to_end.helpers import CALL_PAGE, CHROMIUM, button, headline, uuid_of
from tests.helpers import TO_NUMBER, VONAGE_NUMBER
from tests.integration.helpers import steps_sent

# One line, not one per test; under CI the `chromium` fixture fails each instead.
if not CHROMIUM.exists() and os.environ.get("CI") != "true":
    pytest.skip(f"the browser tests need Chromium at {CHROMIUM}: apt-get install chromium", allow_module_level=True)
# All on one worker (pytest.ini's --dist loadgroup), which starts Chromium once for them all; under
# pytest 9.2, pytest-xdist 3.8 drops the group (pytest-dev/pytest-xdist#1386) and they spread.
pytestmark = pytest.mark.xdist_group("chromium")


def test_the_start_up_link_opens_the_calls_page_which_follows_it_to_its_end(start_app, voice_api, page):
    running = start_app(STREAM_SECONDS="3")
    page.goto(running.link())

    expect(page).to_have_url(CALL_PAGE)
    call_uuid = uuid_of(page)
    expect(page.get_by_text(f"From {VONAGE_NUMBER} to {TO_NUMBER}")).to_be_visible()
    expect(headline(page)).to_have_text("Placed: waiting for the phone to ring")
    expect(button(page, "Hang up")).to_be_enabled()
    expect(button(page, "Stop music")).to_be_disabled()
    expect(button(page, "Call again")).to_be_disabled()

    running.vonage_sends(call_uuid, "ringing")
    expect(headline(page)).to_have_text("Ringing")

    voice_api.callee_answers(call_uuid)
    running.vonage_sends(call_uuid, "answered")
    expect(headline(page)).to_have_text("Music playing")
    expect(page.get_by_text(re.compile(r"Hangs up in [123] s"))).to_be_visible()
    expect(button(page, "Stop music")).to_be_enabled()
    expect(page.get_by_text("PUT stream music.mp3 loop 0 done")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Voice API \d+ ms")).first).to_be_visible()

    [hangup] = voice_api.wait_for("hangup", call_uuid=call_uuid, timeout=6)
    [start] = voice_api.sent("start_stream", call_uuid)
    assert 3 <= hangup.at - start.at < 4  # it ended on its own, STREAM_SECONDS after the music started
    running.vonage_sends(call_uuid, "completed", duration="4", price="0.00160000")
    expect(headline(page)).to_have_text("Ended: completed (after 4 s, price 0.00160000)")
    expect(button(page, "Call again")).to_be_enabled()
    expect(button(page, "Hang up")).to_be_disabled()
    assert steps_sent(voice_api, call_uuid) == ["create_call", "start_stream", "stop_stream", "hangup"]


def test_stop_music_play_music_and_hang_up_each_send_their_one_request(start_app, voice_api, page):
    running = start_app(STREAM_SECONDS="30")
    page.goto(running.link("/"))
    button(page, f"Call {TO_NUMBER}").click()
    expect(page).to_have_url(CALL_PAGE)
    call_uuid = uuid_of(page)
    voice_api.callee_answers(call_uuid)
    running.vonage_sends(call_uuid, "answered")
    expect(headline(page)).to_have_text("Music playing")
    expect(button(page, "Play music")).to_be_disabled()

    button(page, "Stop music").click()
    expect(headline(page)).to_have_text("Music stopped")
    expect(button(page, "Play music")).to_be_enabled()
    expect(page.get_by_text(re.compile(r"Hangs up in (2[0-9]|30) s"))).to_be_visible()  # the hang-up stays due
    assert steps_sent(voice_api, call_uuid) == ["create_call", "start_stream", "stop_stream"]

    button(page, "Play music").click()
    expect(headline(page)).to_have_text("Music playing")
    assert steps_sent(voice_api, call_uuid) == ["create_call", "start_stream", "stop_stream", "start_stream"]

    button(page, "Hang up").click()
    expect(headline(page)).to_have_text(re.compile("Hanging up|Hung up"))
    voice_api.wait_for("hangup", call_uuid=call_uuid)
    running.vonage_sends(call_uuid, "completed")
    expect(headline(page)).to_have_text(re.compile("Ended: completed"))
    time.sleep(0.3)
    assert steps_sent(voice_api, call_uuid) == ["create_call", "start_stream", "stop_stream", "start_stream", "hangup"]
    assert voice_api.rejected == []


def test_a_call_the_voice_api_refuses_shows_why_in_plain_words(running_app, voice_api, page):
    voice_api.misbehave("create_call", status=401)

    answer = page.goto(running_app.link())

    assert answer.status == 502
    expect(page.get_by_role("alert")).to_contain_text("The Voice API refused this app's credentials (401 Unauthorized)")
    script = running_app.get("/call", headers={"Accept": "application/json"})
    assert script.status_code == 502 and script.json()["error"].startswith("The Voice API refused this app's")


def test_the_wrong_token_gets_a_page_saying_which_link_to_open(running_app, voice_api, page):
    answer = page.goto(f"{running_app.url}/call?token=not-the-token")

    assert answer.status == 403
    expect(page.get_by_role("alert")).to_contain_text("Open the link this server printed at start-up")
    assert voice_api.received == []


def test_reloading_the_calls_page_places_no_second_call(running_app, voice_api, page):
    page.goto(running_app.link())
    expect(page).to_have_url(CALL_PAGE)
    call_uuid = uuid_of(page)

    page.reload()
    expect(headline(page)).to_have_text("Placed: waiting for the phone to ring")
    page.go_back()  # the 303 took the start-up link's place in the history: back is where the tab was before
    page.go_forward()

    expect(headline(page)).to_be_visible()
    assert uuid_of(page) == call_uuid
    assert len(voice_api.sent("create_call")) == 1


def test_the_page_of_a_call_from_before_a_restart_says_so(start_process, voice_api, page):
    before = start_process(STREAM_SECONDS="30")
    page.goto(before.link())
    expect(headline(page)).to_have_text("Placed: waiting for the phone to ring")

    before.stop()
    after = start_process(STREAM_SECONDS="30", PORT=str(before.port), BASE_URL=before.url)

    expect(headline(page)).to_have_text(RESTARTED)
    expect(button(page, "Hang up")).to_be_disabled()
    expect(button(page, "Call again")).to_be_enabled()
    assert after.process.poll() is None


def test_twenty_open_pages_leave_the_servers_thread_count_unchanged(start_process, voice_api, chromium):
    app = start_process(STREAM_SECONDS="30")
    call_uuid = app.place_call()
    threads_before = app.threads()
    context = chromium.new_context()
    context.add_cookies([{"name": COOKIE, "value": app.cookie_value, "url": app.url}])
    pages = [context.new_page() for _ in range(20)]
    for tab in pages:
        tab.goto(f"{app.url}/calls/{call_uuid}")

    app.vonage_sends(call_uuid, "ringing")
    for tab in pages:
        expect(headline(tab)).to_have_text("Ringing")  # every page is live
    time.sleep(2)  # 20 pages x 4 more polls

    assert app.threads() == threads_before
    context.close()


def test_the_page_says_what_plays_and_speaks_a_message_into_the_live_call(start_app, voice_api, page):
    running = start_app(STREAM_SECONDS="30")
    page.goto(running.link())
    call_uuid = uuid_of(page)
    expect(page.get_by_text("Plays music.mp3, for 30 s")).to_be_visible()
    expect(button(page, "Say")).to_be_disabled()  # nobody is on the line yet

    voice_api.callee_answers(call_uuid)
    running.vonage_sends(call_uuid, "answered")
    expect(headline(page)).to_have_text("Music playing")
    page.get_by_label("Message").fill("Your order has shipped.")
    button(page, "Say").click()

    [talk] = voice_api.wait_for("start_talk", call_uuid=call_uuid)
    assert talk.body == {"text": "Your order has shipped.", "language": "en-US"}
    expect(page.get_by_text("Say pressed: \u201cYour order has shipped.\u201d")).to_be_visible()
    expect(page.get_by_text("PUT talk done")).to_be_visible()
    expect(page.get_by_label("Message")).to_have_value("")


@pytest.mark.parametrize(
    "message, refusal",
    [
        ("", "There is nothing to say: the text is empty."),
        ("a" * 1501, "The text is 1,501 characters long"),
    ],
    ids=["empty", "over 1,500 characters"],
)
def test_an_empty_or_over_long_message_is_refused_in_plain_words_and_nothing_is_said(
    start_app, voice_api, page, message, refusal
):
    running = start_app(STREAM_SECONDS="30")
    page.goto(running.link())
    call_uuid = uuid_of(page)
    voice_api.callee_answers(call_uuid)
    running.vonage_sends(call_uuid, "answered")
    expect(button(page, "Say")).to_be_enabled()

    page.get_by_label("Message").fill(message)
    button(page, "Say").click()

    expect(page.get_by_text(refusal)).to_be_visible()
    expect(page.get_by_label("Message")).to_have_value(message)  # kept, to be shortened
    time.sleep(0.3)
    assert voice_api.sent("start_talk") == []
