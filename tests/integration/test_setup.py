"""`python app.py setup`: from an account's API key and secret to a project that places calls,
against stand-ins for the Application, Numbers and Voice APIs that check basic auth as Vonage does.
A first run and a refusal of the settings run it as a user does; the rest run it in this process
(setup_in_process), where its exit status and what it prints to each stream are the process's."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from vonage import Auth, HttpClientOptions, Vonage
from vonage_application import ApplicationConfig
from vonage_numbers import NumbersError, UpdateNumberParams

from tests.helpers import ACCOUNT_DOTENV, API_KEY, API_SECRET, TO_NUMBER, VONAGE_NUMBER
from tests.integration.helpers import run_setup_in_process, run_setup_process, setup_in_process
from tools.app_process import PROJECT_DIR
from tools.standins.numbers_api import FORM, owned_number

NO_SUCH_APPLICATION = "00000000-0000-4000-8000-000000000000"


def dotenv_lines(project: Path) -> list[str]:
    return (project / ".env").read_text().splitlines()


def assert_no_secret_in(output: str) -> None:
    assert API_SECRET not in output and "PRIVATE KEY" not in output and "Traceback" not in output


def test_a_first_run_creates_the_application_saves_its_key_links_the_number_and_fills_in_env(
    project, account_apis_env, application_api, numbers_api
):
    finished = run_setup_process(project, account_apis_env)

    assert finished.returncode == 0, finished.stderr
    [(application_id, application)] = application_api.applications.items()
    key_file = project / "private.key"
    assert key_file.read_text() == application_api.private_keys[application_id]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    webhooks = application["capabilities"]["voice"]["webhooks"]
    assert webhooks["answer_url"] == {"address": "https://example.com/audio/answer.json", "http_method": "GET"}
    assert webhooks["event_url"] == {"address": "https://example.com/webhooks/events", "http_method": "POST"}
    assert numbers_api.numbers[0]["app_id"] == application_id
    assert [u.content_type for u in numbers_api.updates] == [FORM]
    assert numbers_api.updates[0].form == {"country": "GB", "msisdn": VONAGE_NUMBER, "app_id": application_id}
    assert dotenv_lines(project) == [
        *ACCOUNT_DOTENV,
        f"VONAGE_APPLICATION_ID={application_id}",
        "VONAGE_APPLICATION_PRIVATE_KEY_PATH=private.key",
        f"VONAGE_NUMBER={VONAGE_NUMBER}",
    ]
    assert f'Created Voice application "Stream audio into a phone call" ({application_id})' in finished.stdout
    assert "placeholders" in finished.stdout
    assert f"Linked {VONAGE_NUMBER} to the application." in finished.stdout
    assert "TO_NUMBER" in finished.stdout and "ngrok http 3000" in finished.stdout
    assert finished.stderr == ""
    assert_no_secret_in(finished.stdout)
    assert application_api.rejected == [] and numbers_api.rejected == []


def test_a_second_run_finds_what_the_first_made_and_changes_nothing(
    project, account_apis_env, application_api, numbers_api, capsys
):
    assert setup_in_process(project, account_apis_env, capsys).returncode == 0
    env_before, key_before = (project / ".env").read_text(), (project / "private.key").read_text()

    again = setup_in_process(project, account_apis_env, capsys)

    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Already set up: nothing was changed.")
    assert "no new application" in again.stdout and "was already linked" in again.stdout
    assert len(application_api.applications) == 1
    assert len(numbers_api.updates) == 1
    assert (project / ".env").read_text() == env_before
    assert (project / "private.key").read_text() == key_before
    assert_no_secret_in(again.stdout)


def test_a_wrong_secret_costs_one_readable_line_and_changes_nothing(
    project, account_apis_env, application_api, numbers_api, capsys
):
    env_before = (project / ".env").read_text()

    finished = setup_in_process(project, {**account_apis_env, "VONAGE_API_SECRET": "not-the-secret"}, capsys)

    assert finished.returncode == 1
    assert finished.stdout == ""
    [line] = finished.stderr.splitlines()
    assert "VONAGE_API_KEY" in line and "VONAGE_API_SECRET" in line and "https://dashboard.nexmo.com/settings" in line
    assert "not-the-secret" not in line
    assert (project / ".env").read_text() == env_before
    assert not (project / "private.key").exists()
    assert application_api.applications == {} and numbers_api.updates == []
    assert numbers_api.rejected == ["GET /account/numbers: wrong or missing basic auth"]


def test_without_the_key_and_secret_setup_names_both_and_stops(project, account_apis_env, application_api):
    (project / ".env").write_text("# nothing yet\n")

    finished = run_setup_process(project, account_apis_env)

    assert finished.returncode == 2
    assert finished.stderr.startswith("Cannot set up: 2 setting(s) need attention.")
    assert "VONAGE_API_KEY is not set" in finished.stderr and "VONAGE_API_SECRET is not set" in finished.stderr
    assert application_api.received == []


def test_an_account_without_a_voice_number_is_told_how_to_get_one(
    project, account_apis_env, application_api, numbers_api, capsys
):
    numbers_api.numbers[:] = [owned_number("447700900009", features=("SMS",))]

    finished = setup_in_process(project, account_apis_env, capsys)

    assert finished.returncode == 1
    assert "no number that can make voice calls" in finished.stderr
    assert "https://dashboard.nexmo.com/buy-numbers" in finished.stderr and "Nothing was changed." in finished.stderr
    assert application_api.applications == {} and not (project / "private.key").exists()
    assert dotenv_lines(project) == ACCOUNT_DOTENV


def test_an_account_with_several_numbers_lists_them_and_names_the_setting_to_fill_in(
    project, account_apis_env, application_api, numbers_api, capsys
):
    numbers_api.numbers[:] = [owned_number(VONAGE_NUMBER), owned_number("14155550100", "US")]

    finished = setup_in_process(project, account_apis_env, capsys)

    assert finished.returncode == 1
    assert f"2 numbers that can make voice calls: {VONAGE_NUMBER}, 14155550100" in finished.stderr
    assert "Set VONAGE_NUMBER in .env" in finished.stderr
    assert application_api.applications == {} and not (project / "private.key").exists()

    with (project / ".env").open("a") as env_file:
        env_file.write("VONAGE_NUMBER=+14155550100\n")
    chosen = setup_in_process(project, account_apis_env, capsys)

    assert chosen.returncode == 0, chosen.stderr
    assert numbers_api.updates[0].form["msisdn"] == "14155550100" and numbers_api.updates[0].form["country"] == "US"
    assert dotenv_lines(project).count("VONAGE_NUMBER=+14155550100") == 1  # the user's line, as written
    assert not any(line.startswith("VONAGE_NUMBER=1") for line in dotenv_lines(project))


def test_the_sdks_shared_client_sends_a_form_labelled_json_after_a_json_request(application_api, numbers_api):
    # Why setup gives each API its own client: this is what one shared client does.
    vonage = Vonage(
        Auth(api_key=API_KEY, api_secret=API_SECRET),
        HttpClientOptions(api_host=application_api.host, rest_host=numbers_api.host),
    )
    application = vonage.application.create_application(ApplicationConfig(name="shared client"))

    with pytest.raises(NumbersError, match="Missing parameters"):
        vonage.numbers.update_number(UpdateNumberParams(country="GB", msisdn=VONAGE_NUMBER, app_id=application.id))

    assert [u.content_type for u in numbers_api.updates] == ["application/json"]
    assert "app_id" not in numbers_api.numbers[0]


def test_a_number_that_cannot_be_linked_deletes_the_new_application_again_and_a_second_run_sets_up_afresh(
    project, account_apis_env, application_api, numbers_api, capsys
):
    env_before = (project / ".env").read_text()
    numbers_api.fail_updates("420", "method failed")

    status, output = run_setup_in_process(project, account_apis_env, capsys)

    assert status == 1
    [line] = output.splitlines()
    [first_id] = [r.split("/")[-1] for r in application_api.received if r.startswith("DELETE")]
    assert line.startswith(f"Setup failed while linking {VONAGE_NUMBER} to application {first_id}:")
    assert "refused it: 420 method failed" in line
    assert line.endswith(
        f"Setup deleted application {first_id} again and removed its private key: nothing was changed."
    )
    assert application_api.applications == {} and not (project / "private.key").exists()
    assert (project / ".env").read_text() == env_before

    numbers_api.behave()
    status, output = run_setup_in_process(project, account_apis_env, capsys)

    assert status == 0, output
    [second_id] = application_api.applications
    assert second_id != first_id and numbers_api.numbers[0]["app_id"] == second_id
    assert f"VONAGE_NUMBER={VONAGE_NUMBER}" in dotenv_lines(project)
    assert_no_secret_in(output)


def test_a_key_folder_that_is_a_file_is_refused_before_anything_is_created(
    project, account_apis_env, application_api, numbers_api, capsys
):
    env_before = (project / ".env").read_text()

    status, output = run_setup_in_process(
        project, {**account_apis_env, "VONAGE_APPLICATION_PRIVATE_KEY_PATH": "app.py/private.key"}, capsys
    )

    assert status == 1
    [line] = output.splitlines()
    assert line.startswith("Setup failed while checking the settings: Cannot save a private key in")
    assert "app.py: it is not a writable folder" in line and line.endswith("Nothing was changed.")
    assert application_api.received == [] and numbers_api.pages_listed == []
    assert (project / ".env").read_text() == env_before


def test_an_existing_key_file_is_never_overwritten(project, account_apis_env, application_api, capsys):
    (project / "private.key").write_text("someone else's key")

    status, output = run_setup_in_process(project, account_apis_env, capsys)

    assert status == 1
    assert "setup never overwrites a private key" in output
    assert (project / "private.key").read_text() == "someone else's key"
    assert application_api.applications == {}


def test_an_application_id_the_account_does_not_have_is_named_and_nothing_is_created(
    project, account_apis_env, application_api, capsys
):
    status, output = run_setup_in_process(
        project, {**account_apis_env, "VONAGE_APPLICATION_ID": NO_SUCH_APPLICATION}, capsys
    )

    assert status == 1
    assert f"VONAGE_APPLICATION_ID {NO_SUCH_APPLICATION} is not an application of this account" in output
    assert application_api.applications == {} and not (project / "private.key").exists()


def test_a_number_linked_to_another_application_is_moved_and_the_summary_says_so(
    project, account_apis_env, numbers_api, capsys
):
    numbers_api.numbers[:] = [owned_number(VONAGE_NUMBER, app_id="old-application")]

    status, output = run_setup_in_process(project, account_apis_env, capsys)

    assert status == 0, output
    assert "away from application old-application" in output
    assert numbers_api.numbers[0]["app_id"] != "old-application"


def test_a_env_copied_from_the_example_keeps_every_other_line_and_comment(project, account_apis_env, capsys):
    example = (PROJECT_DIR / ".env.example").read_text()
    filled_in = (
        example.replace("VONAGE_API_KEY=\n", f"VONAGE_API_KEY={API_KEY}\n")
        .replace("VONAGE_API_SECRET=\n", f"VONAGE_API_SECRET={API_SECRET}\n")
        .replace("TO_NUMBER=\n", f"TO_NUMBER={TO_NUMBER}\n")
    )
    (project / ".env").write_text(filled_in)

    status, output = run_setup_in_process(project, account_apis_env, capsys)

    assert status == 0, output
    before, after = filled_in.splitlines(), dotenv_lines(project)
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert [(old, new.split("=")[0]) for old, new in changed] == [
        ("VONAGE_APPLICATION_ID=", "VONAGE_APPLICATION_ID"),
        ("VONAGE_NUMBER=", "VONAGE_NUMBER"),
    ]
    assert "TO_NUMBER" not in output.split("Left to do:")[1]


def test_an_application_id_that_is_not_a_uuid_is_refused_before_vonage_is_asked(
    project, account_apis_env, application_api, numbers_api, capsys
):
    status, output = run_setup_in_process(
        project, {**account_apis_env, "VONAGE_APPLICATION_ID": "my-app\x1b[2J"}, capsys
    )

    assert status == 2
    assert "Cannot set up: 1 setting(s) need attention." in output
    assert "VONAGE_APPLICATION_ID 'my-app\\x1b[2J' is not a Voice application's id, a UUID" in output
    assert application_api.received == [] and numbers_api.pages_listed == []
