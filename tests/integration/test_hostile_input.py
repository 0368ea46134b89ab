"""Anyone who finds the ngrok URL can post to the webhook and probe /audio: whatever
arrives gets a clear 4xx (or a 204 where ignoring it is right), never a 5xx, never a
Voice API request, and the app keeps serving."""

from __future__ import annotations

import http.client
import logging
import os
from urllib.parse import urlsplit

import pytest
import requests

from app import PROJECT_DIR
from stream_audio.events import MAX_EVENT_BYTES
from tests.helpers import app_log, app_records

JSON = "application/json"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        pytest.param(b"not json", JSON, 400, id="not JSON"),
        pytest.param(b"", JSON, 400, id="empty body"),
        pytest.param(b"\xff\xfe\x00garbage", JSON, 400, id="bytes that are not UTF-8"),
        pytest.param(b"[1, 2]", JSON, 400, id="a JSON array"),
        pytest.param(b'"answered"', JSON, 400, id="a JSON string"),
        pytest.param(b'{"uuid": 42, "status": "answered"}', JSON, 400, id="a number for uuid"),
        pytest.param(b'{"uuid": null, "status": "answered"}', JSON, 400, id="null for uuid"),
        pytest.param(b'{"uuid": "abc-123", "status": ["answered"]}', JSON, 400, id="a list for status"),
        pytest.param(b'{"uuid": "\\ud800", "status": "answered"}', JSON, 400, id="a lone surrogate in uuid"),
        pytest.param(b'{"uuid": "abc", "status": "\\udfff"}', JSON, 400, id="a lone surrogate in status"),
        pytest.param(
            b'{"uuid": "abc\\n2026-01-01 INFO call x: answered", "status": "answered"}',
            JSON,
            400,
            id="a newline forging a log line",
        ),
        pytest.param(b'{"uuid": "abc\\u001b[2J\\u0000", "status": "answered"}', JSON, 400, id="control characters"),
        pytest.param(b'{"uuid": "' + b"a" * 200 + b'", "status": "answered"}', JSON, 400, id="an overlong uuid"),
        pytest.param(b"uuid=abc&status=answered", "application/x-www-form-urlencoded", 415, id="form-encoded"),
        pytest.param(b'{"uuid": "abc", "status": "answered"}', "text/plain", 415, id="JSON sent as text/plain"),
        pytest.param(b'{"uuid": "abc", "status": "answered"}', None, 415, id="no Content-Type"),
    ],
)
def test_an_event_the_webhook_cannot_read_gets_a_clear_4xx_and_sends_nothing(
    running_app, voice_api, caplog, body, content_type, status
):
    headers = {"Content-Type": content_type} if content_type else {}

    response = running_app.post_to_webhook(body, headers)

    assert response.status_code == status
    assert response.json()["error"]
    assert voice_api.received == []
    refusals = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "event webhook: refused" in r.getMessage()
    ]
    assert len(refusals) == 1
    assert all(ch.isprintable() for ch in refusals[0]), "hostile text reached the log unescaped"
    assert running_app.get("/audio/answer.json").status_code == 200  # still serving


def test_an_event_with_an_unknown_status_is_acknowledged_and_ignored(running_app, voice_api, caplog):
    call_uuid = running_app.place_call()

    response = running_app.vonage_sends(call_uuid, "dancing")

    assert response.status_code == 204
    assert [r.step for r in voice_api.received] == ["create_call"]
    assert f"call {call_uuid}: ignored an event with an unknown status dancing" in app_log(caplog)


def test_a_body_over_the_size_cap_gets_a_413_and_the_app_keeps_serving(running_app, voice_api, caplog):
    body = b'{"uuid": "abc", "status": "answered", "pad": "' + b"x" * MAX_EVENT_BYTES + b'"}'

    response = running_app.post_to_webhook(body, {"Content-Type": JSON})

    assert response.status_code == 413
    assert "bytes" in response.json()["error"]
    assert "refused a body over" in app_log(caplog)
    assert voice_api.received == []
    running_app.place_call()


def test_a_chunked_body_over_the_size_cap_gets_a_413(running_app, voice_api):
    chunks = (b"x" * 8192 for _ in range(MAX_EVENT_BYTES // 8192 + 2))

    response = requests.post(
        running_app.url + "/webhooks/events", data=chunks, headers={"Content-Type": JSON}, timeout=10
    )

    assert response.status_code == 413
    assert voice_api.received == []


def test_a_flood_of_garbage_leaves_the_app_serving_and_the_voice_api_untouched(running_app, voice_api):
    statuses = set()
    for body in (b"{", b"null", b'{"uuid": 7}', b'{"uuid": null, "status": null}', b"\x00" * 100, b'{"uuid": "x"' * 50):
        statuses.add(running_app.post_to_webhook(body, {"Content-Type": JSON}).status_code)

    assert statuses == {400}
    assert voice_api.received == []
    running_app.place_call()


def raw_get(running_app, path: str) -> tuple[int, bytes]:
    # http.client sends the path exactly as written; requests would tidy the dots away first.
    connection = http.client.HTTPConnection(urlsplit(running_app.url).netloc, timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


@pytest.mark.parametrize("path", ["/audio/{name}", "/audio/%2e{rest}", "/audio/sub/../{name}"])
def test_a_dotfile_in_public_is_never_served(start_app, project, path):
    # In a clone's public/: the project's own is shared with every test running alongside.
    dotfile = project / "public" / ".not-for-vonage"
    dotfile.write_text("SECRET=dotfile contents\n")
    running = start_app(project)

    status, body = raw_get(running, path.format(name=dotfile.name, rest=dotfile.name[1:]))

    assert status == 404
    assert b"SECRET" not in body


@pytest.mark.parametrize(
    "path",
    [
        "/audio/../app.py",
        "/audio/%2e%2e/app.py",
        "/audio/..%2fapp.py",
        "/audio/%2e%2e%2fapp.py",
        "/audio/..%5capp.py",
        "/audio//etc/passwd",
        "/audio/%2fetc%2fpasswd",
        "/audio/.env",
        "/audio/.git/config",
        "/audio/%00",
        "/audio/nope.mp3",
    ],
)
def test_nothing_outside_public_is_reachable(running_app, path):
    status, body = raw_get(running_app, path)

    assert status == 404
    assert b"import" not in body and b"root:" not in body and str(PROJECT_DIR / "public").encode() not in body


@pytest.fixture
def public_with_links(start_app, project):
    """The app serving a copy of public/ where links were left: out of it to a key, to the project,
    to /etc and to a device; to a dotfile, to itself and to a file beside them; and a directory and a pipe."""
    public = project / "public"
    (project / "private.key").write_text("-----BEGIN PRIVATE KEY-----\nSECRET\n")
    (public / "notes.mp3").symlink_to("../private.key")
    (public / "up").symlink_to("..")
    (public / "etc").symlink_to("/etc")
    (public / "zero.mp3").symlink_to("/dev/zero")
    (public / ".env").write_text("SECRET=dotfile contents\n")
    (public / "env.mp3").symlink_to(".env")
    (public / "again.mp3").symlink_to("message.mp3")
    (public / "loop.mp3").symlink_to("loop.mp3")
    (public / "albums").mkdir()
    os.mkfifo(public / "live.mp3")
    return start_app(project_dir=project)


@pytest.mark.parametrize(
    "path",
    [
        "/audio/notes.mp3",
        "/audio/up/app.py",
        "/audio/up/private.key",
        "/audio/etc/passwd",
        "/audio/zero.mp3",
        "/audio/env.mp3",
        "/audio/albums",
        "/audio/live.mp3",
        "/audio/loop.mp3",
    ],
)
def test_a_link_out_of_public_a_directory_or_a_pipe_is_refused_with_one_log_line(public_with_links, caplog, path):
    status, body = raw_get(public_with_links, path)

    assert status == 404
    assert b"SECRET" not in body and b"import" not in body and b"root:" not in body
    refusals = [r for r in app_records(caplog, logging.WARNING) if "not served" in r]
    assert len(refusals) == 1 and refusals[0].startswith(path + ": not served: it ")


def test_a_link_to_another_file_in_public_is_served(public_with_links, project):
    status, body = raw_get(public_with_links, "/audio/again.mp3")

    assert status == 200 and body == (project / "public" / "message.mp3").read_bytes()
