"""`python app.py setup` against account APIs that answer badly: it is done whole or not at all, says
in one line which step failed, and prints nothing from outside that it has not checked or escaped.
The first case runs it as a user runs it, twice; the others run it in this process (setup_in_process),
where what it prints to each stream is what the process prints. Every other shape of answer is in
test_setup_answer_shapes.py."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.helpers import API_KEY, API_SECRET, VONAGE_NUMBER
from tests.integration.helpers import private_pem, raw_answer, run_setup_process, setup_in_process
from tools.standins.application_api import ApplicationApiStandIn
from tools.standins.numbers_api import owned_number


def one_line(finished: subprocess.CompletedProcess) -> str:
    """The one line a failed setup printed: it printed nothing else, and no traceback."""
    assert finished.returncode == 1, finished.stdout + finished.stderr
    assert finished.stdout == ""
    [line] = finished.stderr.splitlines()
    return line


def deleted_application(application_api: ApplicationApiStandIn) -> str:
    [deleted] = [r.removeprefix("DELETE /v2/applications/") for r in application_api.received if r.startswith("DELETE")]
    return deleted


def with_private_key(pem: str):
    return lambda application: {**application, "keys": {**application["keys"], "private_key": pem}}


def test_a_number_link_answered_with_nonsense_deletes_the_new_application_again_and_says_which_step_failed(
    project: Path, account_apis_env, application_api, numbers_api
):
    numbers_api.answer_with("update", lambda status: raw_answer("<html>Gateway error</html>", 200, "text/html"))
    env_before = (project / ".env").read_text()

    line = one_line(run_setup_process(project, account_apis_env))

    application_id = deleted_application(application_api)
    assert line == (
        f"Setup failed while linking {VONAGE_NUMBER} to application {application_id}: Vonage's Numbers API gave an "
        "answer setup could not understand (a 200 answer not read: not JSON). "
        f"Setup deleted application {application_id} again and removed its private key: nothing was changed."
    )
    assert application_api.applications == {} and not (project / "private.key").exists()
    assert (project / ".env").read_text() == env_before

    numbers_api.behave()
    again = run_setup_process(project, account_apis_env)

    assert again.returncode == 0, again.stderr  # no private.key left behind to refuse it
    [linked_to] = application_api.applications
    assert numbers_api.numbers[0]["app_id"] == linked_to


def test_a_env_that_is_a_folder_is_refused_before_anything_is_created(
    project: Path, account_apis_env, application_api, numbers_api, capsys
):
    (project / ".env").unlink()
    (project / ".env").mkdir()

    finished = setup_in_process(
        project, {**account_apis_env, "VONAGE_API_KEY": API_KEY, "VONAGE_API_SECRET": API_SECRET}, capsys
    )

    assert one_line(finished) == (
        f"Setup failed while checking the settings: {project / '.env'} is not a file: move it away, for setup "
        "writes the settings it makes there, then run `make setup` again. Nothing was changed."
    )
    assert application_api.received == [] and numbers_api.pages_listed == []
    assert not (project / "private.key").exists()


def test_a_count_of_a_million_million_numbers_stops_after_ten_pages(
    project: Path, account_apis_env, application_api, numbers_api, capsys
):
    made_up = itertools.count(1)
    numbers_api.answer_with(
        "list",
        lambda page: {"count": 10**12, "numbers": [owned_number(f"4477{next(made_up):08d}") for _ in range(100)]},
    )

    started = time.monotonic()
    line = one_line(setup_in_process(project, account_apis_env, capsys))

    assert time.monotonic() - started < 30
    assert numbers_api.pages_listed == list(range(1, 11))
    assert "This account has 1000 numbers that can make voice calls among the first it lists: 447700000001, " in line
    assert "447700000010 and 990 more. Set VONAGE_NUMBER in .env to the one to call from" in line
    assert application_api.received == []


def test_pages_that_list_the_same_number_again_stop_at_the_first_that_adds_nothing_and_setup_goes_on(
    project: Path, account_apis_env, application_api, numbers_api, capsys
):
    numbers_api.answer_with("list", lambda page: {"count": 10**12, "numbers": [owned_number(VONAGE_NUMBER)]})

    finished = setup_in_process(project, account_apis_env, capsys)

    assert finished.returncode == 0, finished.stderr
    assert numbers_api.pages_listed == [1, 2]
    [application_id] = application_api.applications
    assert numbers_api.numbers[0]["app_id"] == application_id


def test_a_count_sent_as_text_ends_in_one_line_not_a_traceback(project: Path, account_apis_env, numbers_api, capsys):
    numbers_api.answer_with("list", lambda page: {**page, "count": "1"})

    assert one_line(setup_in_process(project, account_apis_env, capsys)) == (
        "Setup failed while listing the account's numbers: Vonage's Numbers API gave an answer setup could not "
        "understand (count: Input should be a valid integer). Nothing was changed."
    )


def test_a_private_key_that_is_not_rsa_is_never_saved(
    project: Path, account_apis_env, application_api, numbers_api, capsys
):
    application_api.answer_with("create", with_private_key(private_pem(ec.generate_private_key(ec.SECP256R1()))))

    line = one_line(setup_in_process(project, account_apis_env, capsys))

    application_id = deleted_application(application_api)
    assert line == (
        f"Setup failed while checking the private key of application {application_id}: The private key in Vonage's "
        "answer is not an RSA key, and the Voice API takes RS256 alone. "
        f"Setup deleted application {application_id} again: nothing was changed."
    )
    assert not (project / "private.key").exists() and application_api.applications == {}
    assert numbers_api.updates == []


def test_a_key_that_does_not_match_the_applications_public_key_is_never_saved(
    project: Path, account_apis_env, application_api, capsys
):
    another_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    application_api.answer_with("create", with_private_key(private_pem(another_key)))

    line = one_line(setup_in_process(project, account_apis_env, capsys))

    assert "The private key in Vonage's answer does not belong to the application's public key in it." in line
    assert f"Setup deleted application {deleted_application(application_api)} again" in line
    assert not (project / "private.key").exists() and application_api.applications == {}


def test_an_application_id_with_a_line_break_is_refused_not_printed(
    project: Path, account_apis_env, application_api, numbers_api, capsys
):
    application_api.answer_with("create", lambda application: {**application, "id": application["id"] + "\nAll done"})
    env_before = (project / ".env").read_text()

    finished = setup_in_process(project, account_apis_env, capsys)

    line = one_line(finished)
    assert "All done" not in finished.stderr
    assert line.startswith(
        "Setup failed while creating the Voice application: Vonage's Application API gave an answer setup could not "
        "understand (id: not an application id (a UUID)). Nothing was changed here, but Vonage may have created"
    )
    assert not (project / "private.key").exists() and (project / ".env").read_text() == env_before
    assert numbers_api.updates == []


def test_a_reason_holding_a_line_break_is_printed_escaped(project: Path, account_apis_env, numbers_api, capsys):
    forged = json.dumps({"title": "Down", "detail": "down\nSetup finished: all done"})
    numbers_api.answer_with("list", lambda page: raw_answer(forged, 500))

    line = one_line(setup_in_process(project, account_apis_env, capsys))

    assert "Vonage's Numbers API answered 500 (down\\nSetup finished: all done)." in line


def test_when_the_delete_fails_too_the_application_id_is_printed_with_how_to_clean_up(
    project: Path, account_apis_env, application_api, numbers_api, capsys
):
    application_api.answer_with("create", with_private_key("not a key"))
    application_api.fail("delete", 500)
    env_before = (project / ".env").read_text()

    line = one_line(setup_in_process(project, account_apis_env, capsys))

    [application_id] = application_api.applications
    assert line.endswith(
        f"Application {application_id} is still on the account: setup could not delete it again (Vonage's "
        "Application API answered 500 (The test made delete fail.)). Delete it at "
        "https://dashboard.nexmo.com/applications, then run `make setup` again."
    )
    assert not (project / "private.key").exists() and (project / ".env").read_text() == env_before
    assert numbers_api.updates == []
