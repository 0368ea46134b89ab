"""Settings that cannot work are refused at start-up, each named with why, all in one message."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from stream_audio.settings import Settings, SettingsError
from tests.helpers import APPLICATION_ID
from tests.unit.helpers import problems_with


@pytest.mark.parametrize("name", ["VONAGE_APPLICATION_ID", "VONAGE_NUMBER", "TO_NUMBER"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_required_setting_is_named(user_env, name, value):
    env = {k: v for k, v in user_env.items() if k != name}
    if value is not None:
        env[name] = value

    assert problems_with(env) == [f"{name} is not set"]


def key_file(tmp_path: Path, content: str | bytes) -> str:
    path = tmp_path / "private.key"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def pem(key, private_format) -> str:
    return key.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption()).decode()


@pytest.mark.parametrize(
    ("make_key_file", "expected"),
    [
        (lambda tmp: str(tmp / "missing.key"), "cannot read the private key at"),
        (lambda tmp: str(tmp), "cannot read the private key at"),
        (lambda tmp: key_file(tmp, b"\xff\xfe\x00binary"), "cannot read the private key at"),
        (lambda tmp: key_file(tmp, "not a key"), "is not a usable private key"),
        (
            lambda tmp: key_file(tmp, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            "is not a usable private key",
        ),
        (
            lambda tmp: key_file(tmp, pem(ec.generate_private_key(ec.SECP256R1()), serialization.PrivateFormat.PKCS8)),
            "is not a usable private key",
        ),
        (
            lambda tmp: key_file(
                tmp,
                rsa.generate_private_key(public_exponent=65537, key_size=2048)
                .public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            ),
            "is not a usable private key",
        ),
    ],
    ids=["missing file", "a folder", "binary file", "text", "broken PEM", "EC key", "public key"],
)
def test_an_unusable_private_key_file_is_named(user_env, tmp_path, make_key_file, expected):
    [problem] = problems_with({**user_env, "VONAGE_APPLICATION_PRIVATE_KEY_PATH": make_key_file(tmp_path)})

    assert problem.startswith("VONAGE_APPLICATION_PRIVATE_KEY_PATH: ") and expected in problem


@pytest.mark.parametrize(
    "value",
    [
        "x",
        "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee",
        "aaaaaaaabbbb4ccc8dddeeeeeeeeeeee",
        "{aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee}",
        "gaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
    ],
)
def test_an_application_id_that_is_not_a_uuid_is_named(user_env, value):
    [problem] = problems_with({**user_env, "VONAGE_APPLICATION_ID": value})

    assert problem.startswith(f"VONAGE_APPLICATION_ID {value!r} is not a Voice application's id, a UUID such as ")
    assert problem.endswith("copy it from the dashboard, or run `python app.py setup`")


def test_an_application_id_in_capitals_is_a_uuid_too(user_env):
    assert Settings.from_env({**user_env, "VONAGE_APPLICATION_ID": APPLICATION_ID.upper()}).application_id


@pytest.mark.parametrize("value", ["Zq9", "Zq9-fifteen-chr"])
def test_a_call_token_under_16_characters_is_named_without_repeating_it(user_env, value):
    [problem] = problems_with({**user_env, "CALL_TOKEN": value})

    assert problem == (
        f"CALL_TOKEN has {len(value)} character(s): use 16 or more, which no stranger guesses "
        "(or leave it blank for a new token at each start)"
    )
    assert value not in problem


@pytest.mark.parametrize(
    "value", ["long-enough-token&x=1", "long-enough-token#top", "long enough token", "lång-enough-token"]
)
def test_a_call_token_with_a_character_a_link_cannot_hold_as_it_is_is_named(user_env, value):
    [problem] = problems_with({**user_env, "CALL_TOKEN": value})

    assert problem.startswith("CALL_TOKEN has a character that does not belong in a link")
    assert value not in problem


def test_a_call_token_of_16_characters_is_used(user_env):
    assert Settings.from_env({**user_env, "CALL_TOKEN": "Abcdefgh-1234._~"}).call_token == "Abcdefgh-1234._~"


@pytest.mark.parametrize("name", ["VONAGE_NUMBER", "TO_NUMBER"])
@pytest.mark.parametrize("value", ["12345", "1234567890123456", "0447700900000", "+44 7700 900000", "44770090000x"])
def test_a_phone_number_that_is_not_7_to_15_digits_is_named(user_env, name, value):
    [problem] = problems_with({**user_env, name: value})

    assert problem.startswith(f"{name} {value!r} is not a phone number")


@pytest.mark.parametrize(
    "value",
    ["ftp://abc.ngrok.app", "abc.ngrok.app", "https://", "https://abc.ngrok.app/?x=1", "https://abc.ngrok.app/#top"],
)
def test_a_base_url_that_is_not_http_or_https_is_named(user_env, value):
    [problem] = problems_with({**user_env, "BASE_URL": value})

    assert problem.startswith(f"BASE_URL {value!r} must be the public http(s) URL")


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf", "7191"])
def test_a_stream_seconds_that_is_not_a_positive_number_is_named(user_env, value):
    [problem] = problems_with({**user_env, "STREAM_SECONDS": value})

    assert problem == f"STREAM_SECONDS {value!r} must be a number above 0 and at most 7190"


def test_a_fraction_of_a_second_is_a_valid_stream_seconds(user_env):
    assert Settings.from_env({**user_env, "STREAM_SECONDS": "0.05"}).stream_seconds == 0.05


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "0"),
        ("PORT", "65536"),
        ("PORT", "80.5"),
        ("PORT", "http"),
        ("VONAGE_API_TIMEOUT", "0"),
        ("VONAGE_API_TIMEOUT", "1.5"),
        ("RINGING_TIMER", "0"),
        ("RINGING_TIMER", "121"),
        ("MAX_ACTIVE_CALLS", "0"),
        ("MAX_ACTIVE_CALLS", "ten"),
    ],
)
def test_a_whole_number_setting_out_of_range_is_named(user_env, name, value):
    [problem] = problems_with({**user_env, name: value})

    assert problem.startswith(f"{name} {value!r} must be a whole number above 0")


@pytest.mark.parametrize("value", ["https://api.nexmo.com", "api.nexmo.com/v1", "api nexmo com"])
def test_an_api_host_with_a_scheme_or_path_is_named(user_env, value):
    [problem] = problems_with({**user_env, "VONAGE_API_HOST": value})

    assert problem.startswith(f"VONAGE_API_HOST {value!r} must be host[:port]")


def test_every_problem_is_reported_at_once_in_one_readable_message(tmp_path):
    env = {
        "VONAGE_APPLICATION_PRIVATE_KEY_PATH": str(tmp_path / "nope.key"),
        "VONAGE_NUMBER": "12",
        "TO_NUMBER": "abc",
        "BASE_URL": "ftp://x",
        "STREAM_SECONDS": "-5",
        "VONAGE_API_SECRET": "s3cr3t",
        "CALL_TOKEN": "t0k3n",
    }

    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)

    message = str(raised.value)
    assert message.startswith("Cannot start: 7 setting(s) need attention.")
    for name in (
        "VONAGE_APPLICATION_ID",
        "CALL_TOKEN",
        "VONAGE_APPLICATION_PRIVATE_KEY_PATH",
        "VONAGE_NUMBER",
        "TO_NUMBER",
        "BASE_URL",
        "STREAM_SECONDS",
    ):
        assert f"  - {name}" in message
    assert ".env.example" in message
    assert "s3cr3t" not in message and "t0k3n" not in message
