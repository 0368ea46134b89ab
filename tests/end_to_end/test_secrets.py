"""No private key, API secret, signature secret, call token or JWT ever reaches a log
line or an HTTP answer: a whole run of `python app.py`, failures included, is searched.
The token's one appearance is the start-up link, printed on standard output."""

from __future__ import annotations

import json
import re
import signal

import requests

from tests.helpers import API_KEY, API_SECRET, APPLICATION_ID, SIGNATURE_SECRET
from tools.standins.webhook_events import signed_headers

CALL_TOKEN = "c4ll-t0ken-9f8e7d"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
JSON = {"Content-Type": "application/json"}


def test_a_whole_run_with_failures_leaks_no_secret(start_process, voice_api, credentials):
    running = start_process(
        VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET,
        CALL_TOKEN=CALL_TOKEN,
        VONAGE_API_KEY=API_KEY,
        VONAGE_API_SECRET=API_SECRET,
        VONAGE_API_TIMEOUT="1",
    )
    answers: list[requests.Response] = []

    def kept(answer: requests.Response) -> requests.Response:
        answers.append(answer)
        return answer

    def get(path: str) -> requests.Response:
        return kept(requests.get(running.url + path, timeout=10))

    # /call without, with a wrong and with the right token.
    assert get("/call").status_code == 403
    assert get("/call?token=guess").status_code == 403
    call_uuid = get(f"/call?token={CALL_TOKEN}").json()["uuid"]
    # Events: forged, replayed, then Vonage's own.
    answered = json.dumps({"uuid": call_uuid, "status": "answered"}).encode()
    forged = JSON | signed_headers(answered, "wrong-secret-0123456789abcdefghijklmnop", APPLICATION_ID)
    assert kept(running.post_to_webhook(answered, forged)).status_code == 401
    ringing = json.dumps({"uuid": call_uuid, "status": "ringing"}).encode()
    replayed = JSON | signed_headers(ringing, SIGNATURE_SECRET, APPLICATION_ID)
    assert kept(running.post_to_webhook(ringing, replayed)).status_code == 204
    assert kept(running.post_to_webhook(ringing, replayed)).status_code == 401
    # The Voice API fails the stream start and the first hang-up; the call still ends.
    voice_api.misbehave("start_stream", status=500)
    voice_api.misbehave("hangup", status=503, times=1)
    assert kept(running.vonage_sends(call_uuid, "answered")).status_code == 204
    voice_api.wait_for("hangup", count=2, call_uuid=call_uuid, timeout=5)
    assert kept(running.vonage_sends(call_uuid, "completed")).status_code == 204
    # The Voice API refuses the app's credentials, then stalls.
    voice_api.misbehave("create_call", status=401)
    assert get(f"/call?token={CALL_TOKEN}").status_code == 502
    voice_api.misbehave("create_call", stall=3)
    assert get(f"/call?token={CALL_TOKEN}").status_code == 504
    assert running.stop(signal.SIGTERM) == 0

    key_lines = [line for line in credentials.private_pem.splitlines() if line and "-----" not in line]
    secrets = [SIGNATURE_SECRET, CALL_TOKEN, API_SECRET, *key_lines]
    # The token is printed once, in the start-up link on standard output, for the person at the terminal.
    assert running.printed() == f"http://localhost:{running.port}/call?token={CALL_TOKEN}\n"
    # The token goes back only as the cookie, and only to whoever sent it in the start-up link.
    assert all(CALL_TOKEN in a.request.url for a in answers if "Set-Cookie" in a.headers)
    everything = running.log() + "".join(
        f"{a.status_code} {[(k, v) for k, v in a.headers.items() if k != 'Set-Cookie']} {a.text}" for a in answers
    )
    assert "PRIVATE KEY" not in everything and "Bearer" not in everything
    assert not JWT.search(everything)
    assert [secret for secret in secrets if secret in everything] == []
    # The run did log what happened, so the search above had something to search.
    log = running.log()
    for seen in (
        "refused a request",
        "not verified as Vonage's",
        "replayed",
        "PUT stream music.mp3 loop 0 failed",
        "PUT hangup failed",
        "PUT hangup (attempt 2) done",
        "401 Unauthorized",
        "did not answer",
        "GET /call HTTP/1.1",
    ):
        assert seen in log, seen
