"""The call's page keeps true and easy to use, in Chromium: no line outlives the state it speaks of,
the timeline is in the order things happened, a pressed button keeps the focus (or hands it on),
Hang up stands apart, a call to the number says so, the start page lists each call, and a call rung
hundreds of times shows its first and latest steps. What is about layout (the focus ring, Hang up's
look and place) runs at a laptop's width and at a phone's; what the page says and does is the same
at any width, and runs at a phone's alone."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from stream_audio.call_life import CallState
from stream_audio.history import FIRST_STEPS_KEPT, LATEST_STEPS_KEPT
from tests.end_to_end.helpers import CHROMIUM, answer_line, button, caller_rings, headline, timeline, uuid_of
from tests.helpers import SIGNATURE_SECRET, TO_NUMBER, VONAGE_NUMBER, wait_until
from tests.integration.helpers import RunningApp, steps_sent
from tools.standins.voice_api import VoiceApiStandIn

if not CHROMIUM.exists() and os.environ.get("CI") != "true":
    pytest.skip(f"the browser tests need Chromium at {CHROMIUM}: apt-get install chromium", allow_module_level=True)

CALLER = "447700900999"
STARTED = r"started \d\d:\d\d:\d\d"


def music_playing(page: Page, running: RunningApp, voice_api: VoiceApiStandIn) -> str:
    """Open the start-up link and let the callee answer; the call's uuid, once its page says the music plays."""
    page.goto(running.link())
    call_uuid = uuid_of(page)
    voice_api.callee_answers(call_uuid)
    running.vonage_sends(call_uuid, "answered")
    expect(headline(page)).to_have_text("Music playing")
    return call_uuid


def has_a_ring(page: Page, name: str) -> None:
    expect(button(page, name)).to_be_focused()
    expect(button(page, name)).to_have_css("outline-style", "solid")


def test_the_answer_under_the_message_box_goes_once_the_call_has_moved_on(start_app, voice_api, page):
    running = start_app(STREAM_SECONDS="30")
    call_uuid = music_playing(page, running, voice_api)

    button(page, "Stop music").click()
    expect(headline(page)).to_have_text("Music stopped")
    expect(answer_line(page)).to_have_text("Stopping the music; the hang-up stays when it was due.")
    button(page, "Play music").click()
    expect(answer_line(page)).to_have_text("Playing the music again until the hang-up.")
    expect(headline(page)).to_have_text("Music playing")
    button(page, "Hang up").click()
    expect(answer_line(page)).to_have_text("Hanging up.")
    voice_api.wait_for("hangup", call_uuid=call_uuid)
    running.vonage_sends(call_uuid, "completed")

    expect(headline(page)).to_have_text("Ended: completed")
    expect(answer_line(page)).to_have_text("")


def test_the_timeline_is_in_the_order_things_happened_even_while_a_request_was_on_its_way(start_app, voice_api, page):
    running = start_app(STREAM_SECONDS="30", VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET)
    call_uuid = music_playing(page, running, voice_api)
    voice_api.misbehave("hangup", stall=1.0, times=1)

    button(page, "Hang up").click()
    voice_api.wait_for("hangup", call_uuid=call_uuid)
    running.vonage_sends(call_uuid, "completed")  # Vonage's final word, before the app's PUT hangup is answered

    in_order = [
        "placed: POST /v1/calls",
        "answered; starting the music",
        "PUT stream music.mp3 loop 0 done",
        "music playing; hang-up in 30 s",
        "Hang up pressed",
        "PUT hangup done",
        "ended: completed",
    ]
    expect(headline(page)).to_have_text("Ended: completed")
    expect(timeline(page)).to_have_text([re.compile(re.escape(what)) for what in in_order], timeout=8000)
    page.reload()
    expect(timeline(page)).to_have_text([re.compile(re.escape(what)) for what in in_order])


def test_a_button_pressed_from_the_keyboard_keeps_the_focus_or_hands_it_to_the_next_useful_one(
    start_app, voice_api, page_at_each_width
):
    page = page_at_each_width
    running = start_app(STREAM_SECONDS="30")
    music_playing(page, running, voice_api)

    button(page, "Stop music").focus()
    page.keyboard.press("Enter")
    expect(headline(page)).to_have_text("Music stopped")
    has_a_ring(page, "Play music")  # Stop music no longer applies: the button that undoes it does
    page.keyboard.press("Space")
    expect(headline(page)).to_have_text("Music playing")
    has_a_ring(page, "Stop music")
    page.get_by_label("Message").fill("Your order has shipped.")
    button(page, "Say").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("PUT talk done")).to_be_visible()
    has_a_ring(page, "Say")
    button(page, "Hang up").focus()
    page.keyboard.press("Enter")
    expect(headline(page)).to_have_text("Hung up: waiting for Vonage's final status")
    has_a_ring(page, "Call again")


def test_hang_up_is_red_and_set_apart_from_the_music_buttons(start_app, voice_api, page_at_each_width):
    page = page_at_each_width
    running = start_app(STREAM_SECONDS="30")
    music_playing(page, running, voice_api)

    music = page.get_by_role("group", name="Music").get_by_role("button")
    the_call = page.get_by_role("group", name="The call").get_by_role("button")
    expect(music).to_have_text(["Stop music", "Play music"])
    expect(the_call).to_have_text(["Call again", "Hang up"])
    expect(button(page, "Hang up")).to_have_css("background-color", "rgb(180, 35, 24)")
    expect(button(page, "Hang up")).to_have_css("color", "rgb(255, 255, 255)")  # 6.6:1, over WCAG AA's 4.5:1
    expect(button(page, "Stop music")).to_have_css("background-color", "rgb(11, 92, 173)")
    play, hang_up = button(page, "Play music").bounding_box(), button(page, "Hang up").bounding_box()
    beside = hang_up["x"] > play["x"] + play["width"] + 20  # a laptop: one row, a wider gap between groups
    below = hang_up["y"] >= play["y"] + play["height"]  # a phone: the call's buttons on a row of their own
    assert beside or below, (play, hang_up)


def test_a_call_to_the_number_says_so_and_its_buttons_work_as_on_a_placed_call(start_app, voice_api, page):
    running = start_app(STREAM_SECONDS="30", VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET)
    call_uuid = caller_rings(running, voice_api, CALLER)

    page.goto(running.link(f"/calls/{call_uuid}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Call from {CALLER} to your number")
    expect(page.get_by_text(f"From {CALLER} to {VONAGE_NUMBER}, your Vonage number")).to_be_visible()
    expect(headline(page)).to_have_text("Music playing")
    button(page, "Stop music").click()
    expect(headline(page)).to_have_text("Music stopped")
    button(page, "Play music").click()
    expect(headline(page)).to_have_text("Music playing")
    button(page, "Hang up").click()
    expect(headline(page)).to_have_text("Hung up: waiting for Vonage's final status")
    assert steps_sent(voice_api, call_uuid) == ["start_stream", "stop_stream", "start_stream", "hangup"]

    call_to = button(page, f"Call {TO_NUMBER}")  # TO_NUMBER, not the caller: the app rings no one else
    expect(call_to).to_be_enabled()
    expect(call_to).to_have_accessible_description(re.compile("rings TO_NUMBER.*never rings a caller back"))
    call_to.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Call to {TO_NUMBER}")
    [placed] = voice_api.sent("create_call")
    assert placed.body["to"][0]["number"] == TO_NUMBER


def test_the_start_page_lists_each_calls_number_direction_state_and_start_time(start_app, voice_api, page):
    running = start_app(STREAM_SECONDS="30", VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET)
    placed = music_playing(page, running, voice_api)
    button(page, "Hang up").click()
    voice_api.wait_for("hangup", call_uuid=placed)
    running.vonage_sends(placed, "completed", duration="3")
    expect(headline(page)).to_have_text("Ended: completed (after 3 s)")
    rung = caller_rings(running, voice_api, CALLER)
    wait_until(lambda: running.calls.snapshot(rung).state is CallState.STREAMING, 5, "the caller's music playing")

    page.goto(f"{running.url}/")
    calls = page.get_by_role("list", name="Calls since the app started").get_by_role("listitem")
    expect(calls).to_have_text(
        [
            re.compile(rf"^{CALLER},\s+to your number\s+Music playing, {STARTED}$"),
            re.compile(rf"^{TO_NUMBER},\s+placed by the app\s+Ended: completed \(after 3 s\), {STARTED}$"),
        ]
    )
    page.get_by_role("link", name=CALLER).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Call from {CALLER} to your number")


def test_a_call_rung_hundreds_of_times_shows_its_first_and_latest_steps_and_how_many_it_folded(
    start_app, voice_api, page
):
    running = start_app(STREAM_SECONDS="30")
    page.goto(running.link())
    call_uuid = uuid_of(page)
    for _ in range(299):
        running.vonage_sends(call_uuid, "ringing")

    shows_its_first_and_latest_of(300, page)  # placed, and 299 times ringing: as the page follows it
    page.reload()
    shows_its_first_and_latest_of(300, page)  # and as it is loaded afresh


def shows_its_first_and_latest_of(steps: int, page: Page) -> None:
    kept = FIRST_STEPS_KEPT + LATEST_STEPS_KEPT
    expect(timeline(page)).to_have_count(kept + 1)
    expect(timeline(page).first).to_contain_text("placed: POST /v1/calls")
    expect(timeline(page).nth(FIRST_STEPS_KEPT)).to_have_text(f"… {steps - kept} steps not shown …")
    expect(timeline(page).last).to_contain_text("ringing")
