"""`python app.py setup` against account APIs that answer in every shape but the documented one:
wrong types, missing fields, nulls, text that is not JSON, HTML, bodies too large or nested too
deep, keys that cannot sign. Whatever the answer, setup stops with one line naming the step that
failed, and leaves the account and the project as it found them (or, where Vonage's answer hides
what it did, says where to look). Run in this process, so that an uncaught exception fails the test."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.helpers import VONAGE_NUMBER
from tests.integration.helpers import private_pem, public_pem, raw_answer, run_setup_in_process

Change = Callable[[Any], Any]
HUGE = b'{"count": 1, "padding": "' + b"x" * 300_000 + b'"}'  # over the account APIs' 256 KiB
DEEP = b"[" * 100_000 + b"]" * 100_000  # within 256 KiB; json.loads would overflow the stack
HTML = raw_answer("<html><body>Service temporarily unavailable</body></html>", 200, "text/html")


def with_number(**fields: Any) -> Change:
    """The listing with its one number's `fields` changed."""
    return lambda page: {**page, "numbers": [{**page["numbers"][0], **fields}]}


def with_keys(**keys: Any) -> Change:
    """The creation answer with its keys changed."""
    return lambda application: {**application, "keys": {**application["keys"], **keys}}


def without(name: str) -> Change:
    return lambda answer: {k: v for k, v in answer.items() if k != name}


# The answer to GET /account/numbers: setup asks nothing else and creates nothing.
LISTINGS: dict[str, tuple[Change, str]] = {
    "count null": (lambda page: {**page, "count": None}, "count: Input should be a valid integer"),
    "count missing": (without("count"), "count: Field required"),
    "count below zero": (lambda page: {**page, "count": -1}, "count: Input should be greater than or equal to 0"),
    "count a fraction": (lambda page: {**page, "count": 1.5}, "count: Input should be a valid integer"),
    "numbers an object": (lambda page: {**page, "numbers": {"a": 1}}, "numbers: Input should be a valid list"),
    "numbers holding a number": (lambda page: {**page, "numbers": [5]}, "numbers.0: Input should be a valid dict"),
    "msisdn a number": (with_number(msisdn=447700900000), "numbers.0.msisdn: Input should be a valid string"),
    "msisdn null": (with_number(msisdn=None), "numbers.0.msisdn: not a phone number in E.164 digits"),
    "msisdn with a line break": (
        with_number(msisdn=f"{VONAGE_NUMBER}\nSetup finished"),
        "numbers.0.msisdn: not a phone number in E.164 digits",
    ),
    "msisdn with a plus and spaces": (with_number(msisdn="+44 7700 900000"), "numbers.0.msisdn: not a phone number"),
    "country lower case": (with_number(country="gb"), "numbers.0.country: not a country code"),
    "features a string": (with_number(features="VOICE"), "numbers.0.features: Input should be a valid list"),
    "the answer a list": (lambda page: [page], "(not a JSON object)"),
    "the answer a string": (lambda page: "ok", "(not a JSON object)"),
    "the answer null": (lambda page: None, "(not a JSON object)"),
    "an empty 200": (lambda page: raw_answer(b""), "(not a JSON object)"),
    "HTML": (lambda page: HTML, "a 200 answer not read: not JSON"),
    "not UTF-8": (lambda page: raw_answer(b'{"count": "\xff"}'), "a 200 answer not read: not UTF-8"),
    "over the bound": (lambda page: raw_answer(HUGE), "a 200 answer not read: over 262,144 bytes"),
    "nested 100,000 deep": (lambda page: raw_answer(DEEP), "a 200 answer not read: JSON nested 100000 deep"),
    "an HTML 502": (lambda page: raw_answer("<h1>Bad gateway</h1>", 502, "text/html"), "answered 502 (BAD GATEWAY)"),
    "a 500 over the bound": (lambda page: raw_answer(HUGE, 500), "a 500 answer not read: over 262,144 bytes"),
    "a 500 nested too deep": (lambda page: raw_answer(DEEP, 500), "a 500 answer not read: JSON nested 100000 deep"),
    "a 500 whose detail is a list": (
        lambda page: raw_answer(json.dumps({"detail": ["x"] * 100}), 500),
        "answered 500 (['x', 'x', 'x',",
    ),
    "a 302 going nowhere": (lambda page: raw_answer(b"", 302), "answered 302"),
}


@pytest.mark.parametrize("shape", list(LISTINGS))
def test_a_listing_setup_cannot_understand_stops_it_before_anything_is_created(
    project, account_apis_env, application_api, numbers_api, capsys, shape
):
    change, says = LISTINGS[shape]
    numbers_api.answer_with("list", change)
    env_before = (project / ".env").read_text()

    status, output = run_setup_in_process(project, account_apis_env, capsys)

    assert status == 1
    [line] = output.splitlines()
    assert line.startswith("Setup failed while listing the account's numbers: Vonage's Numbers API")
    assert says in line and line.endswith("Nothing was changed.")
    assert numbers_api.pages_listed == [1] and application_api.received == []
    assert (project / ".env").read_text() == env_before


# The answer to POST /v2/applications, after the stand-in created the application: without a
# usable id, setup cannot delete it again, and says where to look for it.
CREATIONS: dict[str, tuple[Change, str]] = {
    "id missing": (without("id"), "id: Field required"),
    "id a number": (lambda app: {**app, "id": 5}, "id: Input should be a valid string"),
    "id null": (lambda app: {**app, "id": None}, "id: Input should be a valid string"),
    "id not a UUID": (lambda app: {**app, "id": "my-application"}, "id: not an application id (a UUID)"),
    "id with a quote": (lambda app: {**app, "id": app["id"] + '"'}, "id: not an application id (a UUID)"),
    "name missing": (without("name"), "name: Field required"),
    "keys a list": (lambda app: {**app, "keys": []}, "keys: Input should be a valid dict"),
    "the answer a list": (lambda app: [app], "(not a JSON object)"),
    "an empty 201": (lambda app: raw_answer(b"", 201), "(not a JSON object)"),
    "HTML": (lambda app: HTML, "a 200 answer not read: not JSON"),
    "over the bound": (lambda app: raw_answer(HUGE, 201), "a 201 answer not read: over 262,144 bytes"),
    "nested too deep": (lambda app: raw_answer(DEEP, 201), "a 201 answer not read: JSON nested 100000 deep"),
}


@pytest.mark.parametrize("shape", list(CREATIONS))
def test_a_creation_answer_without_a_usable_id_saves_no_key_and_says_where_to_find_the_application(
    project, account_apis_env, application_api, numbers_api, capsys, shape
):
    change, says = CREATIONS[shape]
    application_api.answer_with("create", change)
    env_before = (project / ".env").read_text()

    status, output = run_setup_in_process(project, account_apis_env, capsys)

    assert status == 1
    [line] = output.splitlines()
    assert line.startswith("Setup failed while creating the Voice application: Vonage's Application API")
    assert says in line
    assert line.endswith(
        "Nothing was changed here, but Vonage may have created the application all the same: if "
        '"Stream audio into a phone call" is listed at https://dashboard.nexmo.com/applications, delete it, then '
        "run `make setup` again."
    )
    assert not (project / "private.key").exists() and (project / ".env").read_text() == env_before
    assert numbers_api.updates == []


def another_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# The keys in the creation answer, whose id is sound: the application is deleted again.
KEYS: dict[str, tuple[Change, str]] = {
    "no keys": (without("keys"), "Vonage's answer carried no private key."),
    "no private key": (lambda app: {**app, "keys": {"public_key": app["keys"]["public_key"]}}, "carried no private"),
    "a private key null": (with_keys(private_key=None), "carried no private key"),
    "a private key that is a number": (with_keys(private_key=5), "carried no private key"),
    "junk text": (with_keys(private_key="not a key at all"), "is not an unencrypted PEM private key"),
    "the public key as the private one": (
        lambda app: with_keys(private_key=app["keys"]["public_key"])(app),
        "is not an unencrypted PEM private key",
    ),
    "a NUL inside the PEM": (
        lambda app: with_keys(private_key=app["keys"]["private_key"].replace("\n", "\n\x00", 3))(app),
        "is not an unencrypted PEM private key",
    ),
    "a lone surrogate": (with_keys(private_key="\ud800"), "is not an unencrypted PEM private key"),
    "an encrypted key": (
        with_keys(private_key=private_pem(another_rsa_key(), b"secret")),
        "is not an unencrypted PEM private key",
    ),
    "an Ed25519 key": (with_keys(private_key=private_pem(ed25519.Ed25519PrivateKey.generate())), "is not an RSA key"),
    "a public key that is junk": (with_keys(public_key="junk"), "public key in Vonage's answer is not a PEM RSA"),
    "a public key that is not RSA": (
        with_keys(public_key=public_pem(ec.generate_private_key(ec.SECP256R1()))),
        "public key in Vonage's answer is not a PEM RSA",
    ),
}


@pytest.mark.parametrize("shape", list(KEYS))
def test_keys_that_cannot_sign_for_the_application_are_never_saved_and_the_application_is_deleted_again(
    project, account_apis_env, application_api, numbers_api, capsys, shape
):
    change, says = KEYS[shape]
    application_api.answer_with("create", change)
    env_before = (project / ".env").read_text()

    status, output = run_setup_in_process(project, account_apis_env, capsys)

    assert status == 1
    [line] = output.splitlines()
    [deleted] = [r.removeprefix("DELETE /v2/applications/") for r in application_api.received if r.startswith("DELETE")]
    assert line.startswith(f"Setup failed while checking the private key of application {deleted}: ")
    assert says in line and line.endswith(f"Setup deleted application {deleted} again: nothing was changed.")
    assert application_api.applications == {} and not (project / "private.key").exists()
    assert (project / ".env").read_text() == env_before and numbers_api.updates == []


# The answer to POST /number/update, after the stand-in linked the number: the application is
# deleted again and its key removed.
LINKS: dict[str, tuple[Change, str]] = {
    "error-code missing": (lambda status: {}, "error-code: missing"),
    "error-code a number": (lambda status: {**status, "error-code": 200}, "error-code: Input should be a valid string"),
    "a label with a line break": (
        lambda status: {"error-code": "420", "error-code-label": "failed\nSetup finished: all done"},
        "refused it: 420 failed\\nSetup finished: all done.",
    ),
    "the answer a list": (lambda status: [status], "(not a JSON object)"),
    "the answer null": (lambda status: None, "(not a JSON object)"),
    "an empty 200": (lambda status: raw_answer(b""), "(not a JSON object)"),
    "over the bound": (lambda status: raw_answer(HUGE), "a 200 answer not read: over 262,144 bytes"),
    "nested too deep": (lambda status: raw_answer(DEEP), "a 200 answer not read: JSON nested 100000 deep"),
    "an HTML 503": (lambda status: raw_answer("<h1>Down</h1>", 503, "text/html"), "answered 503 (SERVICE UNAVAILABLE)"),
}


@pytest.mark.parametrize("shape", list(LINKS))
def test_a_link_answer_setup_cannot_understand_deletes_the_new_application_again_and_removes_its_key(
    project, account_apis_env, application_api, numbers_api, capsys, shape
):
    change, says = LINKS[shape]
    numbers_api.answer_with("update", change)
    env_before = (project / ".env").read_text()

    status, output = run_setup_in_process(project, account_apis_env, capsys)

    assert status == 1
    [line] = output.splitlines()
    [deleted] = [r.removeprefix("DELETE /v2/applications/") for r in application_api.received if r.startswith("DELETE")]
    assert line.startswith(f"Setup failed while linking {VONAGE_NUMBER} to application {deleted}: Vonage's Numbers")
    assert says in line
    assert line.endswith(f"Setup deleted application {deleted} again and removed its private key: nothing was changed.")
    assert application_api.applications == {} and not (project / "private.key").exists()
    assert (project / ".env").read_text() == env_before
