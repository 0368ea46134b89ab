"""`python app.py` at start-up: it says where Vonage reaches it, or why it cannot start, in one
readable message with exit code 2 and no traceback."""

from __future__ import annotations

import re
import socket
import time

import requests

from tests.end_to_end.helpers import start_up
from tests.helpers import TO_NUMBER
from tools.app_process import free_port
from tools.standins.ngrok_agent import tunnel

NGROK_URL = "https://first-1234.ngrok-free.app"


def test_bad_settings_stop_start_up_with_one_readable_message_and_no_traceback(tmp_path):
    finished = start_up(
        VONAGE_APPLICATION_ID="x",
        VONAGE_APPLICATION_PRIVATE_KEY_PATH=str(tmp_path / "missing.key"),
        VONAGE_NUMBER="12",
        TO_NUMBER="447700900001",
        BASE_URL="ftp://example.com",
        STREAM_SECONDS="0",
        VONAGE_API_SECRET="api-s3cr3t",
        CALL_TOKEN="Zq9",
    )

    assert finished.returncode == 2
    assert finished.stdout == ""
    message = finished.stderr
    assert message.startswith("Cannot start: 6 setting(s) need attention.")
    for name in (
        "VONAGE_APPLICATION_ID 'x' is not a Voice application's id",
        "VONAGE_APPLICATION_PRIVATE_KEY_PATH",
        "VONAGE_NUMBER '12'",
        "BASE_URL 'ftp://example.com'",
        "STREAM_SECONDS '0'",
        "CALL_TOKEN has 3 character(s): use 16 or more",
    ):
        assert name in message
    assert ".env.example" in message
    assert "Traceback" not in message and "api-s3cr3t" not in message and "Zq9" not in message


def test_every_audio_problem_is_named_in_one_message_without_a_traceback(user_env, project):
    (project / "public" / "notes.mp3").write_text("Dear customer, ...")

    finished = start_up(
        project,
        **user_env,
        AUDIO="notes.mp3",
        AUDIO_LEVEL="3",
        AUDIO_LOOP="0",
        STREAM_SECONDS="auto",
        GREETING_LANGUAGE="xx",
    )

    assert finished.returncode == 2
    message = finished.stderr
    assert message.startswith("Cannot start: 4 setting(s) need attention.")
    for start in (
        "  - AUDIO 'notes.mp3' is neither an MP3 nor a WAV",
        "  - AUDIO_LEVEL '3' must be a number",
        "  - STREAM_SECONDS=auto needs a usable AUDIO",
        "  - GREETING_LANGUAGE 'xx' is not a language",
    ):
        assert start in message
    assert "Traceback" not in message


def test_a_port_already_taken_stops_start_up_with_one_line_and_exit_code_2(user_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        finished = start_up(**{**user_env, "BASE_URL": f"http://127.0.0.1:{port}", "PORT": str(port)})

    assert finished.returncode == 2
    assert finished.stderr == f"Cannot listen on port {port}: Address already in use. Set PORT to a free one.\n"
    assert "Traceback" not in finished.stdout


def test_the_start_up_link_is_printed_alone_on_standard_output_and_no_log_line_holds_its_token(start_process):
    running = start_process(CALL_TOKEN="")  # the default: a token made at start-up

    link = running.start_up_link()

    assert re.fullmatch(rf"http://localhost:{running.port}/call\?token=[A-Za-z0-9_-]{{24}}", link)
    assert running.printed() == f"{link}\n"
    token = link.split("token=")[1]
    assert requests.get(link.replace("localhost", "127.0.0.1"), timeout=10).status_code == 200
    running.wait_for_log("GET /call")
    assert (
        f"Vonage reaches this server at http://127.0.0.1:{running.port}; open the link printed below to ring "
        f"{TO_NUMBER}" in running.log()
    )
    assert token not in running.log()


def test_a_call_token_the_user_set_is_printed_as_it_is_in_the_link(start_process):
    running = start_process(CALL_TOKEN="my-own.token_of~26-chars")

    assert running.start_up_link() == f"http://localhost:{running.port}/call?token=my-own.token_of~26-chars"
    assert "my-own.token_of~26-chars" not in running.log() and "<CALL_TOKEN>" not in running.log()


def test_the_ngrok_url_is_printed_at_start_up_and_calls_are_placed_with_it(start_process, ngrok, voice_api):
    port = free_port()
    ngrok.restart([tunnel("http://plain.ngrok-free.app", f"localhost:{port}"), tunnel(NGROK_URL, f"localhost:{port}")])

    running = start_process(BASE_URL="", PORT=str(port), NGROK_API_URL=ngrok.api_url)
    running.place_call()

    running.wait_for_log(f"Vonage reaches this server at {NGROK_URL} (found from ngrok, asked again for each call)")
    assert voice_api.sent("create_call")[0].body["event_url"] == [f"{NGROK_URL}/webhooks/events"]


def test_with_no_ngrok_agent_start_up_fails_saying_to_run_ngrok_or_set_base_url(user_env):
    port, nothing_listening = free_port(), free_port()

    finished = start_up(
        **{**user_env, "BASE_URL": ""}, PORT=str(port), NGROK_API_URL=f"http://127.0.0.1:{nothing_listening}/api"
    )

    assert finished.returncode == 2
    assert finished.stderr == (
        f"Cannot start: No ngrok agent answered at http://127.0.0.1:{nothing_listening}/api (NGROK_API_URL). "
        f"Run `ngrok http {port}` in another terminal, or set BASE_URL to this server's public URL.\n"
    )


def test_with_ngrok_tunnelling_only_elsewhere_or_to_urls_that_are_not_https_host_port_start_up_fails_in_one_line(
    user_env, ngrok
):
    port = free_port()
    ngrok.restart(
        [
            tunnel("https://other-app.ngrok-free.app", f"localhost:{port + 1}"),
            tunnel("http://plain.ngrok-free.app", f"localhost:{port}"),
            # Each would be refused alone: had the app taken either, it would have started.
            tunnel(f"{NGROK_URL}\n2024-01-01 INFO forged line", f"localhost:{port}"),
            tunnel("https://evil.example/steal?x=", f"localhost:{port}"),
        ]
    )

    finished = start_up(**{**user_env, "BASE_URL": ""}, PORT=str(port), NGROK_API_URL=ngrok.api_url)

    assert finished.returncode == 2
    assert finished.stderr == (
        f"Cannot start: ngrok is running but has no https tunnel to port {port}. "
        f"Run `ngrok http {port}` in another terminal, or set BASE_URL to this server's public URL.\n"
    )
    assert finished.stdout == ""


def test_something_else_answering_at_ngrok_api_url_is_a_readable_refusal_too(user_env, voice_api):
    port = free_port()

    finished = start_up(
        **{**user_env, "BASE_URL": ""}, PORT=str(port), NGROK_API_URL=f"https://{voice_api.host}/v1"
    )  # answers 404 to /v1/tunnels

    assert finished.returncode == 2
    assert finished.stderr.startswith(
        f"Cannot start: The ngrok agent at https://{voice_api.host}/v1 gave an answer "
        f"this app could not read (HTTP 404). Run `ngrok http {port}`"
    )


def test_an_agent_trickling_its_answer_stops_start_up_at_the_one_deadline(user_env, ngrok):
    port = free_port()
    ngrok.restart([tunnel(NGROK_URL, f"localhost:{port}")])
    ngrok.misbehave(byte_every=1.5)  # the whole answer would take about 40 s

    started = time.monotonic()
    finished = start_up(**{**user_env, "BASE_URL": ""}, PORT=str(port), NGROK_API_URL=ngrok.api_url)

    assert finished.returncode == 2
    assert finished.stderr == (
        f"Cannot start: The ngrok agent at {ngrok.api_url} did not answer within 2 s. "
        f"Run `ngrok http {port}` in another terminal, or set BASE_URL to this server's public URL.\n"
    )
    assert time.monotonic() - started < 15  # python's start, the 2 s, and room for a loaded machine


def test_json_nested_too_deep_stops_start_up_in_one_line_without_a_traceback(user_env, ngrok):
    port = free_port()
    ngrok.misbehave(raw_body=b'{"tunnels": ' + b"[" * 10_000 + b"]" * 10_000 + b"}")

    finished = start_up(**{**user_env, "BASE_URL": ""}, PORT=str(port), NGROK_API_URL=ngrok.api_url)

    assert finished.returncode == 2
    assert finished.stderr.startswith(
        f"Cannot start: The ngrok agent at {ngrok.api_url} gave an answer this app could not read "
        "(JSON nested 10001 deep, more than 20). Run `ngrok http"
    )
    assert finished.stderr.count("\n") == 1
