"""Without BASE_URL, the public URL comes from the local ngrok agent, asked afresh for each
call, so a restarted ngrok needs no restart of the app; each call keeps the URL it was placed with."""

from __future__ import annotations

import pytest

from tests.helpers import TO_NUMBER, app_log
from tools.standins.ngrok_agent import tunnel

FIRST = "https://first-1234.ngrok-free.app"
SECOND = "https://second-5678.ngrok-free.app"


@pytest.fixture
def app_via_ngrok(start_app, ngrok):
    """The app with BASE_URL unset, and ngrok forwarding FIRST to its port."""
    running = start_app(BASE_URL="", NGROK_API_URL=ngrok.api_url)
    ngrok.restart([tunnel(FIRST, f"http://localhost:{running.settings.port}")])
    return running


def answer_ncco_for(running, call_uuid: str) -> list[dict]:
    return running.get("/audio/answer.json", params={"uuid": call_uuid, "to": TO_NUMBER}).json()


@pytest.mark.parametrize(
    "addr", ["http://localhost:{port}", "localhost:{port}", "{port}", "http://127.0.0.1:{port}", "http://[::1]:{port}"]
)
def test_of_several_tunnels_the_https_one_to_this_apps_port_is_used_for_every_url(start_app, ngrok, voice_api, addr):
    running = start_app(BASE_URL="", NGROK_API_URL=ngrok.api_url)
    port = running.settings.port
    ngrok.restart(
        [
            tunnel("https://other-app.ngrok-free.app", f"http://localhost:{port + 1}", "other"),
            tunnel("http://plain.ngrok-free.app", f"http://localhost:{port}", "plain"),
            tunnel(FIRST, addr.format(port=port), "this-app"),
            tunnel("https://other-too.ngrok-free.app", f"localhost:{port}0", "port-with-more-digits"),
        ]
    )

    call_uuid = running.place_call()
    running.vonage_sends(call_uuid, "answered")

    [create] = voice_api.sent("create_call")
    assert create.body["answer_url"] == [f"{FIRST}/audio/answer.json"]
    assert create.body["event_url"] == [f"{FIRST}/webhooks/events"]
    assert answer_ncco_for(running, call_uuid)[1]["streamUrl"] == [f"{FIRST}/audio/silence.mp3"]
    [start] = voice_api.wait_for("start_stream", call_uuid=call_uuid)
    assert start.body["stream_url"] == [f"{FIRST}/audio/music.mp3"]


def test_ngrok_restarted_with_a_new_url_needs_no_restart_and_each_call_keeps_its_own(app_via_ngrok, ngrok, voice_api):
    running = app_via_ngrok
    before = running.place_call()

    ngrok.restart([tunnel(SECOND, f"localhost:{running.settings.port}")])
    after = running.place_call()
    running.vonage_sends(before, "answered")
    running.vonage_sends(after, "answered")

    [first_create, second_create] = voice_api.sent("create_call")
    assert first_create.body["answer_url"] == [f"{FIRST}/audio/answer.json"]
    assert second_create.body["answer_url"] == [f"{SECOND}/audio/answer.json"]
    assert answer_ncco_for(running, before)[1]["streamUrl"] == [f"{FIRST}/audio/silence.mp3"]
    assert answer_ncco_for(running, after)[1]["streamUrl"] == [f"{SECOND}/audio/silence.mp3"]
    [first_start] = voice_api.wait_for("start_stream", call_uuid=before)
    [second_start] = voice_api.wait_for("start_stream", call_uuid=after)
    assert first_start.body["stream_url"] == [f"{FIRST}/audio/music.mp3"]
    assert second_start.body["stream_url"] == [f"{SECOND}/audio/music.mp3"]
    assert ngrok.asked == 2  # once per call placed, never for the answer NCCO of a known call


def test_an_answer_ncco_for_a_call_not_yet_on_record_uses_the_current_url(app_via_ngrok):
    # Vonage may fetch the answer NCCO before POST /v1/calls has answered the app.
    assert answer_ncco_for(app_via_ngrok, "not-yet-recorded")[1]["streamUrl"] == [f"{FIRST}/audio/silence.mp3"]


def test_ngrok_stopped_mid_run_gets_call_a_503_saying_what_to_run_and_places_nothing(
    app_via_ngrok, ngrok, voice_api, caplog
):
    ngrok.restart([])

    response = app_via_ngrok.get("/call")

    assert response.status_code == 503
    port = app_via_ngrok.settings.port
    assert response.json()["error"] == (
        f"ngrok is running but has no https tunnel to port {port}. Run `ngrok http "
        f"{port}` in another terminal, or set BASE_URL to this server's public URL."
    )
    assert voice_api.received == []
    assert "not placed: ngrok is running but has no https tunnel" in app_log(caplog)

    ngrok.close()
    gone = app_via_ngrok.get("/call")
    assert gone.status_code == 503 and gone.json()["error"].startswith(f"No ngrok agent answered at {ngrok.api_url}")


def test_a_set_base_url_is_used_as_given_and_ngrok_is_never_asked(start_app, ngrok, voice_api):
    running = start_app(BASE_URL="https://fixed.example.com/", NGROK_API_URL=ngrok.api_url)
    ngrok.restart([tunnel(FIRST, f"localhost:{running.settings.port}")])

    running.place_call()

    assert voice_api.sent("create_call")[0].body["answer_url"] == ["https://fixed.example.com/audio/answer.json"]
    assert ngrok.asked == 0


@pytest.mark.parametrize(
    "tunnels",
    [
        lambda port: [{"name": "no public_url"}],
        lambda port: [{"public_url": FIRST, "proto": "https"}],
        lambda port: ["x"],
        lambda port: [{"public_url": 5, "proto": "https", "config": {"addr": str(port)}}],
        lambda port: [{"public_url": FIRST, "proto": "https", "config": {"addr": port}}],
    ],
    ids=["no public_url", "no config", "not an object", "a number for public_url", "a number for addr"],
)
def test_a_tunnel_not_shaped_as_ngrok_documents_is_not_used(app_via_ngrok, ngrok, voice_api, tunnels):
    ngrok.restart(tunnels(app_via_ngrok.settings.port))

    response = app_via_ngrok.get("/call")

    assert response.status_code == 503
    assert response.json()["error"].startswith("ngrok is running but has no https tunnel to port")
    assert voice_api.received == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"tunnels": {"command_line": {}}}', "no list of tunnels"),
        (b'[{"public_url": "https://first-1234.ngrok-free.app"}]', "no list of tunnels"),
        (b"<html>ngrok</html>", "not JSON"),
        (b'{"tunnels": [], "name": "\xff"}', "not UTF-8"),
    ],
    ids=["tunnels not a list", "a list, not an object", "a page", "not UTF-8"],
)
def test_an_answer_not_shaped_as_ngroks_gets_call_a_readable_503_saying_why(app_via_ngrok, ngrok, voice_api, body, why):
    ngrok.misbehave(raw_body=body)

    response = app_via_ngrok.get("/call")

    assert response.status_code == 503
    assert response.json()["error"].startswith(
        f"The ngrok agent at {ngrok.api_url} gave an answer this app could not read ({why})."
    )
    assert voice_api.received == []
