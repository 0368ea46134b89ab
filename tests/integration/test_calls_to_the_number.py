"""Someone rings VONAGE_NUMBER, with the real app in this process and the Voice API stand-in playing
Vonage around it (as `make demo ARGS=--inbound` does): the answer NCCO, the music, the hang-up on time,
the listing on /, MAX_ACTIVE_CALLS, INBOUND_CALLS=decline, and strangers who make up such calls."""

from __future__ import annotations

import math
import time
import uuid as uuid_module
from collections.abc import Callable

import jsonschema
import pytest
import requests

from stream_audio.ncco import ALL_LINES_BUSY, NO_CALLS_TAKEN, one_sentence_ncco
from tests.helpers import NCCO_SCHEMA, SIGNATURE_SECRET, VONAGE_NUMBER, wait_until, write_mp3
from tests.integration.helpers import vonage_around
from tools.standins.webhook_events import event_request, vonage_event

CALLER = "447700900123"
STREAM_SECONDS = 1.0
SIGNED = pytest.mark.parametrize(
    "secret", [pytest.param("", id="unsigned"), pytest.param(SIGNATURE_SECRET, id="signed")]
)


def requests_for(voice_api, call_uuid: str) -> list[str]:
    return [r.step for r in voice_api.received if r.call_uuid == call_uuid]


@SIGNED
def test_a_caller_hears_the_greeting_then_the_music_and_is_hung_up_stream_seconds_later(start_app, voice_api, secret):
    app = start_app(VONAGE_SIGNATURE_SECRET=secret)
    vonage = vonage_around(voice_api, app)

    call_uuid = vonage.ring_the_number(CALLER, VONAGE_NUMBER, app.url)

    assert vonage.wait_until_done(STREAM_SECONDS + 5)
    assert vonage.timeline.problems == [] and voice_api.failures == []
    assert vonage.endings == ["the app hung up"]
    # Unsigned, the app first asks the Voice API whether the call is real.
    checked = [] if secret else ["get_call"]
    assert requests_for(voice_api, call_uuid) == [*checked, "start_stream", "stop_stream", "hangup"]
    [start], [hangup] = voice_api.sent("start_stream", call_uuid), voice_api.sent("hangup", call_uuid)
    assert start.body["stream_url"] == [f"{app.url}/audio/music.mp3"]
    assert STREAM_SECONDS <= hangup.at - start.at < STREAM_SECONDS + 1
    assert voice_api.calls.details(call_uuid)["status"] == "completed"


@SIGNED
def test_a_caller_who_hangs_up_first_is_sent_nothing_more(start_app, voice_api, secret):
    app = start_app(STREAM_SECONDS="5", VONAGE_SIGNATURE_SECRET=secret)
    vonage = vonage_around(voice_api, app, hangs_up_after=0.5)

    call_uuid = vonage.ring_the_number(CALLER, VONAGE_NUMBER, app.url)

    assert vonage.wait_until_done(5)
    wait_until(lambda: app.calls.snapshot(call_uuid) is None, 5, "the app letting the call go")
    assert vonage.endings == ["the caller hung up after 0.5 s"]
    assert vonage.timeline.problems == [] and voice_api.failures == []
    # Unsigned, the app asks the Voice API whether the call is real, and then whether it is over.
    checked = [] if secret else ["get_call"]
    assert requests_for(voice_api, call_uuid) == [*checked, "start_stream", *checked]


def test_the_answer_ncco_for_a_caller_is_valid_and_bounded_so_that_it_ends_the_call_itself(start_app, voice_api):
    app = start_app()
    vonage = vonage_around(voice_api, app)

    call_uuid = vonage.ring_the_number(CALLER, VONAGE_NUMBER, app.url)
    assert vonage.wait_until_done(STREAM_SECONDS + 5)

    ncco = vonage.played(call_uuid).ncco
    jsonschema.validate(ncco, NCCO_SCHEMA)
    [talk, silence] = ncco
    assert talk["action"] == "talk" and silence["streamUrl"] == [f"{app.url}/audio/silence.mp3"]
    # silence.mp3 is 60 s: once is enough to outlast length_timer (STREAM_SECONDS + 10 s), and no more.
    assert silence["loop"] == math.ceil((math.ceil(STREAM_SECONDS) + 10) / 60) == 1


@pytest.mark.long
def test_a_caller_the_app_cannot_hang_up_is_ended_by_the_answer_ncco_running_out(start_app, voice_api, project, caplog):
    write_mp3(project / "public" / "silence.mp3", 3.0)  # 4 loops of it outlast length_timer's 11 s
    app = start_app(project_dir=project, GREETING="", VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET)
    voice_api.misbehave("hangup", status=403)
    vonage = vonage_around(voice_api, app)

    call_uuid = vonage.ring_the_number(CALLER, VONAGE_NUMBER, app.url)

    assert vonage.wait_until_done(20)
    assert vonage.endings == ["the NCCO ran out"]
    assert vonage.played(call_uuid).ncco[-1]["loop"] == 4
    assert "gave up hanging up" in caplog.text
    assert voice_api.calls.details(call_uuid)["status"] == "completed"


def test_a_call_to_the_number_is_listed_on_home_from_the_caller_with_its_own_page(start_app, voice_api):
    app = start_app(STREAM_SECONDS="5", VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET)
    vonage = vonage_around(voice_api, app)

    call_uuid = vonage.ring_the_number(CALLER, VONAGE_NUMBER, app.url)
    voice_api.wait_for("start_stream", call_uuid=call_uuid)

    home = app.get("/", headers={"Accept": "text/html"}).text
    assert f'<a href="/calls/{call_uuid}">{CALLER}</a>,' in home and "to your number" in home
    view = app.get(f"/calls/{call_uuid}.json").json()
    assert (view["from"], view["to"], view["direction"]) == (CALLER, VONAGE_NUMBER, "inbound")
    assert view["controls"]["hang_up"]


def test_when_max_active_calls_are_in_progress_a_caller_hears_one_sentence_and_the_ncco_ends_the_call(
    start_app, voice_api
):
    app = start_app(MAX_ACTIVE_CALLS="1", STREAM_SECONDS="5", VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET)
    vonage = vonage_around(voice_api, app)
    in_progress = app.place_call()
    voice_api.wait_for("start_stream", call_uuid=in_progress)

    turned_away = vonage.ring_the_number(CALLER, VONAGE_NUMBER, app.url)

    wait_until(lambda: vonage.played(turned_away).finished, 10, "the NCCO ending the call")
    assert vonage.played(turned_away).ncco == one_sentence_ncco(ALL_LINES_BUSY, "en-US")
    assert vonage.endings == ["the NCCO ran out"]
    assert requests_for(voice_api, turned_away) == []
    assert app.calls.history.of(turned_away) is None
    assert vonage.timeline.problems == []


def test_with_inbound_calls_decline_a_caller_hears_one_sentence_and_the_ncco_ends_the_call(start_app, voice_api):
    app = start_app(INBOUND_CALLS="decline")
    vonage = vonage_around(voice_api, app)

    call_uuid = vonage.ring_the_number(CALLER, VONAGE_NUMBER, app.url)

    assert vonage.wait_until_done(10)
    assert vonage.played(call_uuid).ncco == one_sentence_ncco(NO_CALLS_TAKEN, "en-US")
    assert vonage.endings == ["the NCCO ran out"]
    assert voice_api.received == []
    assert app.calls.history.of(call_uuid) is None


@SIGNED
def test_a_stranger_who_makes_up_a_call_to_the_number_costs_at_most_two_requests_and_never_again(
    start_app, voice_api, secret
):
    app = start_app(VONAGE_SIGNATURE_SECRET=secret)
    made_up = str(uuid_module.uuid4())  # a uuid Vonage never made

    def stranger_rings(before_hanging_up: Callable[[], object] = lambda: None) -> list[dict]:
        query = {"uuid": made_up, "conversation_uuid": f"CON-{made_up}", "to": VONAGE_NUMBER, "from": CALLER}
        ncco = requests.get(f"{app.url}/audio/answer.json", params=query, timeout=5).json()
        for status in ("answered", "completed"):
            if status == "completed":
                before_hanging_up()
            body, headers = event_request(vonage_event(made_up, status, CALLER, VONAGE_NUMBER, direction="inbound"))
            app.post_to_webhook(body, headers)
        return ncco

    # Unsigned, the app asks the Voice API whether the call is real, and lets it go. The stranger's
    # `completed` waits for that question: sent first, it would leave nothing to ask about.
    stranger_rings(lambda: secret or voice_api.wait_for("get_call", call_uuid=made_up))
    if not secret:
        wait_until(lambda: app.calls.snapshot(made_up) is None, 5, "the app letting the made-up call go")
    time.sleep(1)  # anything it would send after
    cost = len(voice_api.received)
    assert cost <= 2 and requests_for(voice_api, made_up) == ([] if secret else ["get_call"])

    again = stranger_rings()
    time.sleep(1)
    assert len(voice_api.received) == cost  # the same uuid again costs nothing
    assert all(action["loop"] > 0 for action in again if action["action"] == "stream")  # it ends by itself
    assert app.calls.history.of(made_up) is None
