"""The stand-ins answer as Vonage does, so that what the app does against them is what it does against
Vonage: a call's details in the Voice API's own shape (the SDK's model reads them, `_links` and all),
404 for a call Vonage never made, and the final status Vonage gives each way a call can end."""

from __future__ import annotations

import uuid as uuid_module

import pytest
from vonage_http_client import NotFoundError

from stream_audio.voice_api import make_voice_client
from tests.helpers import SIGNATURE_SECRET, TO_NUMBER, VONAGE_NUMBER, wait_until
from tests.integration.helpers import vonage_around

CALLER = "447700900123"


def test_a_calls_details_come_in_the_voice_apis_shape_with_its_billing_once_completed(running_app, voice_api):
    vonage = vonage_around(voice_api, running_app)
    call_uuid = vonage.ring_the_number(CALLER, VONAGE_NUMBER, running_app.url)
    voice = make_voice_client(running_app.settings)

    assert voice.get_call(call_uuid).status in ("started", "answered")
    assert vonage.wait_until_done(6)
    details = voice.get_call(call_uuid)

    assert details.link == f"/calls/{call_uuid}"
    assert (details.from_.number, details.to.number, details.direction) == (CALLER, VONAGE_NUMBER, "inbound")
    assert details.status == "completed"
    assert details.conversation_uuid == voice_api.conversation_of[call_uuid]
    assert int(details.duration) in (1, 2)  # STREAM_SECONDS, once answered
    assert float(details.price) == pytest.approx(int(details.duration) * float(details.rate) / 60)


def test_a_call_vonage_never_made_is_a_404(running_app, voice_api):
    voice = make_voice_client(running_app.settings)

    with pytest.raises(NotFoundError):
        voice.get_call(str(uuid_module.uuid4()))


@pytest.mark.parametrize("secret", ["", SIGNATURE_SECRET], ids=["unsigned", "signed"])
def test_a_call_hung_up_while_it_rings_ends_cancelled_and_the_app_believes_it(start_app, voice_api, secret):
    app = start_app(VONAGE_SIGNATURE_SECRET=secret)
    vonage = vonage_around(voice_api, app, ring_seconds=3)
    call_uuid = app.place_call()

    assert app.press(f"/calls/{call_uuid}/hang-up", headers={"Accept": "application/json"}).ok

    assert vonage.wait_until_done(5)
    assert "-> app  event cancelled" in "\n".join(vonage.timeline.lines)
    assert voice_api.calls.details(call_uuid)["status"] == "cancelled"
    assert "price" not in voice_api.calls.details(call_uuid)  # only a completed call is billed
    assert vonage.timeline.problems == []
    # The app takes the event once its PUT hangup is answered, which may come after Vonage posts it.
    wait_until(lambda: app.calls.history.of(call_uuid).final_status, 5, "the app recording the final status")
    assert app.calls.history.of(call_uuid).final_status == "cancelled"
    # Hung up by the app itself, the call's final status needs no check even unsigned.
    assert [r.step for r in voice_api.received] == ["create_call", "hangup"]


@pytest.mark.parametrize("secret", ["", SIGNATURE_SECRET], ids=["unsigned", "signed"])
def test_a_callee_who_hangs_up_ends_the_call_completed_and_the_app_sends_nothing_after(start_app, voice_api, secret):
    app = start_app(STREAM_SECONDS="5", VONAGE_SIGNATURE_SECRET=secret)
    vonage = vonage_around(voice_api, app, hangs_up_after=0.5)
    call_uuid = app.place_call()

    assert vonage.wait_until_done(5)
    wait_until(lambda: app.calls.snapshot(call_uuid) is None, 5, "the app letting the call go")

    assert vonage.endings == ["the callee hung up after 0.5 s"]
    assert voice_api.calls.details(call_uuid)["to"] == {"type": "phone", "number": TO_NUMBER}
    assert voice_api.calls.details(call_uuid)["status"] == "completed"
    # Unsigned, the app asks the Voice API before it believes completed; signed, it believes the event.
    checked = [] if secret else ["get_call"]
    assert [r.step for r in voice_api.received] == ["create_call", "start_stream", *checked]
    assert vonage.timeline.problems == []
