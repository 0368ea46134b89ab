"""Settings: read once at start-up, with their defaults and older names (refusals: test_settings_refused.py)."""

from __future__ import annotations

import pytest

from stream_audio.settings import ALL_NAMES, SETTINGS, Settings, SettingsError
from tests.helpers import APPLICATION_ID


def test_the_required_settings_alone_give_the_documented_defaults(user_env, credentials):
    settings = Settings.from_env(user_env)

    assert settings.application_id == APPLICATION_ID
    assert settings.private_key == credentials.private_pem
    assert settings.vonage_number == "447700900000" and settings.to_number == "447700900001"
    assert settings.base_url == "https://abc123.ngrok.app"
    assert settings.stream_seconds == 20.0
    assert settings.port == 3000
    assert settings.api_host == "api.nexmo.com"
    assert settings.api_timeout == 10
    assert settings.length_timer == 30
    assert settings.ringing_timer == 60 and settings.longest_call == 90
    assert settings.max_active_calls == 10
    assert settings.call_token == "" and settings.signature_secret == ""


def test_a_leading_plus_and_a_trailing_slash_are_accepted(user_env):
    settings = Settings.from_env(
        {
            **user_env,
            "VONAGE_NUMBER": "+447700900000",
            "TO_NUMBER": "+14155550100",
            "BASE_URL": "https://abc.ngrok.app/",
        }
    )

    assert settings.vonage_number == "447700900000"
    assert settings.to_number == "14155550100"
    assert settings.base_url == "https://abc.ngrok.app"


def test_optional_settings_are_read(user_env):
    settings = Settings.from_env(
        {
            **user_env,
            "STREAM_SECONDS": "2.5",
            "PORT": "8080",
            "VONAGE_API_HOST": "127.0.0.1:8443",
            "VONAGE_API_TIMEOUT": "3",
            "VONAGE_SIGNATURE_SECRET": "sig-s3cr3t",
            "RINGING_TIMER": "30",
            "MAX_ACTIVE_CALLS": "3",
            "CALL_TOKEN": "my-own_t0ken.of~20ch",
        }
    )

    assert settings.stream_seconds == 2.5
    assert settings.length_timer == 13  # ceil(2.5) + the 10 s margin
    assert settings.port == 8080
    assert settings.api_host == "127.0.0.1:8443"
    assert settings.api_timeout == 3
    assert settings.signature_secret == "sig-s3cr3t"
    assert settings.ringing_timer == 30 and settings.longest_call == 43
    assert settings.max_active_calls == 3
    assert settings.call_token == "my-own_t0ken.of~20ch"


def test_secrets_stay_out_of_the_settings_repr(user_env):
    settings = Settings.from_env(
        {
            **user_env,
            "VONAGE_API_SECRET": "s3cr3t",
            "VONAGE_SIGNATURE_SECRET": "sig-s3cr3t",
            "CALL_TOKEN": "t0ken-0123456789abcdef",
        }
    )

    text = repr(settings)
    assert "PRIVATE KEY" not in text and "s3cr3t" not in text and "t0ken" not in text


def test_the_original_blog_posts_nexmo_names_still_work(user_env):
    env = {"TO_NUMBER": user_env["TO_NUMBER"], "BASE_URL": user_env["BASE_URL"]}
    for name in ("APPLICATION_ID", "APPLICATION_PRIVATE_KEY_PATH", "NUMBER"):
        env[f"NEXMO_{name}"] = user_env[f"VONAGE_{name}"]

    settings = Settings.from_env(env)

    assert settings.application_id == APPLICATION_ID
    assert settings.vonage_number == "447700900000"


def test_vonage_names_win_over_nexmo_names(user_env):
    settings = Settings.from_env({**user_env, "NEXMO_NUMBER": "15550100000"})

    assert settings.vonage_number == "447700900000"


def test_a_relative_key_path_is_relative_to_the_project_folder(user_env, credentials, project):
    (project / "keys").mkdir()
    (project / "keys" / "app.key").write_text(credentials.private_pem)

    settings = Settings.from_env({**user_env, "VONAGE_APPLICATION_PRIVATE_KEY_PATH": "keys/app.key"}, project)

    assert settings.private_key == credentials.private_pem


def test_the_key_path_defaults_to_private_key_in_the_project_folder(user_env, credentials, project):
    env = {k: v for k, v in user_env.items() if k != "VONAGE_APPLICATION_PRIVATE_KEY_PATH"}

    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env, project)
    [problem] = raised.value.problems
    assert problem.startswith(
        f"VONAGE_APPLICATION_PRIVATE_KEY_PATH: cannot read the private key at {project / 'private.key'}"
    )

    (project / "private.key").write_text(credentials.private_pem)
    assert Settings.from_env(env, project).private_key == credentials.private_pem


def test_the_settings_table_has_one_row_for_each_setting_and_every_name_is_known_to_the_tools():
    assert sorted(s.field for s in SETTINGS) == sorted(Settings.__dataclass_fields__)
    assert {"VONAGE_API_KEY", "VONAGE_API_SECRET", "NEXMO_NUMBER", "CALL_TOKEN"} <= set(ALL_NAMES)
