"""`python app.py setup`: the Vonage side of the set-up, from the account's API key and secret alone.

It picks the number, creates one Voice application, saves its private key beside app.py, fills
in .env and links the number to the application. Everything that can be checked is checked
before anything is created; a step that fails after that takes back what the run changed, so
setup is done whole or not at all. Run again, it finds what it made and changes nothing.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vonage_application import ApplicationConfig, Capabilities, Voice, VoiceUrl, VoiceWebhooks
from vonage_numbers import OwnedNumber

from stream_audio.account_apis import AccountApiFailed, AccountApis, OwnedNumbers
from stream_audio.application_key import UnusableKey, checked_private_key, save_private_key
from stream_audio.dotenv_file import DotenvFile
from stream_audio.log_text import shown
from stream_audio.settings import ACCOUNT_SETTINGS, SETTINGS, SettingsError, read_settings
from stream_audio.setup_words import (
    AGAIN,
    APPLICATION_NAME,
    APPLICATIONS_PAGE,
    PLACEHOLDER_URL,
    Outcome,
    choices,
    features,
    summary,
)

_ROWS = {s.name: s for s in (*SETTINGS, *ACCOUNT_SETTINGS)}
READS = (
    "VONAGE_API_KEY",
    "VONAGE_API_SECRET",
    "VONAGE_API_HOST",
    "VONAGE_REST_HOST",
    "VONAGE_API_TIMEOUT",
    "VONAGE_NUMBER",
    "VONAGE_APPLICATION_ID",
    "BASE_URL",
)
OPTIONAL = ("VONAGE_NUMBER", "VONAGE_APPLICATION_ID", "BASE_URL")
KEY_PATH = _ROWS["VONAGE_APPLICATION_PRIVATE_KEY_PATH"]
CHECKING_SETTINGS = "checking the settings"


class SetupFailed(Exception):
    """One line for the user: the step that failed, why, and what setup did about it."""

    def __init__(self, step: str, why: str, then: str = "Nothing was changed.") -> None:
        super().__init__(step, why, then)
        self.step, self.why, self.then = step, why, then

    def __str__(self) -> str:
        return f"Setup failed while {self.step}: {self.why} {self.then}"


def run_setup(project_dir: Path, environ: Mapping[str, str]) -> int:
    """Set up the Vonage side for the app in `project_dir`; print what happened; the exit status."""
    # The SDK logs request headers, basic auth included, at DEBUG and each failed request at
    # WARNING; setup says what failed in its own words, without secrets.
    logging.getLogger("vonage").setLevel(logging.ERROR)
    env_file = DotenvFile(project_dir / ".env")
    try:
        # As load_dotenv does for the app: a variable set in the environment wins over .env.
        env = {**env_file.values(), **environ}
    except (OSError, UnicodeDecodeError) as error:
        print(SetupFailed(f"reading {env_file.path}", f"{_reason(error)}."), file=sys.stderr)
        return 1
    try:
        settings = read_settings([_ROWS[name] for name in READS], env, project_dir, OPTIONAL, cannot="set up")
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    key_path_text = KEY_PATH.text_in(env) or KEY_PATH.default
    apis = AccountApis(
        settings["api_key"],
        settings["api_secret"],
        settings["api_host"],
        settings["rest_host"],
        settings["api_timeout"],
    )
    setup = AccountSetup(settings, apis, project_dir / key_path_text, key_path_text, env_file)
    try:
        outcome = setup.run()
    except SetupFailed as failure:
        print(failure, file=sys.stderr)
        return 1
    print(summary(outcome, setup.key_path, env_file.path, settings["base_url"], bool(_ROWS["TO_NUMBER"].text_in(env))))
    return 0


class AccountSetup:
    """One run of setup against one account: each step in turn, and what the run changed taken back
    if a step fails."""

    def __init__(
        self, settings: dict[str, Any], apis: AccountApis, key_path: Path, key_path_text: str, env_file: DotenvFile
    ) -> None:
        self._settings = settings
        self._apis = apis
        self.key_path = key_path
        self._key_path_text = key_path_text
        self._env_file = env_file
        self._created: str | None = None  # the application this run created
        self._maybe_created = False  # a creation whose answer did not say what Vonage did
        self._key_saved = False

    def run(self) -> Outcome:
        with self._doing(CHECKING_SETTINGS):
            self._check_settings()
        with self._doing("listing the account's numbers"):
            owned = self._apis.owned_numbers()
        number = self._choose_number(owned)
        application_id = self._settings["application_id"]
        try:
            if application_id:
                self._check_existing(application_id)
            else:
                application_id = self._create_application()
            with self._doing(f"writing {self._env_file.path}"):
                written = self._env_file.set(
                    {
                        _ROWS["VONAGE_APPLICATION_ID"]: application_id,
                        KEY_PATH: self._key_path_text,
                        _ROWS["VONAGE_NUMBER"]: number.msisdn,
                    }
                )
            linked = number.app_id != application_id
            if linked:
                with self._doing(f"linking {number.msisdn} to application {application_id}"):
                    self._apis.link(number, application_id)
        except SetupFailed as failure:
            failure.then = self._take_back()
            raise
        return Outcome(
            application_id, number.msisdn, self._created is not None, linked, number.app_id if linked else None, written
        )

    def _check_settings(self) -> None:
        """What can be known wrong without Vonage, found before anything is asked or created."""
        step = CHECKING_SETTINGS
        application_id = self._settings["application_id"]  # a UUID, or none: read_settings checked it
        if not self._key_path_text.isprintable():
            raise SetupFailed(
                step, f"VONAGE_APPLICATION_PRIVATE_KEY_PATH {shown(self._key_path_text)} holds a control character."
            )
        if why := self._env_file.cannot_write():
            raise SetupFailed(step, f"{why}, {AGAIN}.")
        if not application_id:
            self._check_key_can_be_saved(step)

    def _check_key_can_be_saved(self, step: str) -> None:
        if self.key_path.exists() or self.key_path.is_symlink():
            raise SetupFailed(
                step,
                f"{self.key_path} already exists, and setup never overwrites a private key. If it belongs to an "
                f"application you have, set VONAGE_APPLICATION_ID to that application's id; otherwise move the "
                f"file away; {AGAIN}.",
            )
        if not self.key_path.parent.is_dir() or not os.access(self.key_path.parent, os.W_OK):
            raise SetupFailed(
                step,
                f"Cannot save a private key in {self.key_path.parent}: it is not a writable folder. Make it one or set "
                f"VONAGE_APPLICATION_PRIVATE_KEY_PATH elsewhere, {AGAIN}.",
            )

    def _choose_number(self, owned: OwnedNumbers) -> OwnedNumber:
        step = "choosing the number to call from"
        voice = [n for n in owned.numbers if "VOICE" in (n.features or [])]
        wanted = self._settings["vonage_number"]
        if not wanted:
            if len(voice) == 1 and owned.all_listed:
                return voice[0]
            raise SetupFailed(step, choices(voice, owned.all_listed))
        number = next((n for n in owned.numbers if n.msisdn == wanted), None)
        if number is None:
            among = "" if owned.all_listed else " among those it lists first"
            raise SetupFailed(
                step,
                f"VONAGE_NUMBER {wanted} is not a number this account owns{among}. {choices(voice, owned.all_listed)}",
            )
        if number not in voice:
            raise SetupFailed(
                step,
                f"VONAGE_NUMBER {wanted} cannot make voice calls (its features: {features(number)}). "
                f"{choices(voice, owned.all_listed)}",
            )
        return number

    def _check_existing(self, application_id: str) -> None:
        with self._doing(f"looking up application {application_id}"):
            exists = self._apis.has_application(application_id)
        if not exists:
            raise SetupFailed(
                f"looking up application {application_id}",
                f"VONAGE_APPLICATION_ID {application_id} is not an application of this account (deleted, or "
                f"another account's). To have setup create a new one, clear VONAGE_APPLICATION_ID in .env and "
                f"move {self.key_path} away if it is that application's key, {AGAIN}.",
            )
        if not self.key_path.is_file():
            raise SetupFailed(
                "finding its private key",
                f"VONAGE_APPLICATION_ID names application {application_id}, but its private key is not at "
                f"{self.key_path}. Put the key there or set VONAGE_APPLICATION_PRIVATE_KEY_PATH to where it is; "
                f"if the key is lost, clear VONAGE_APPLICATION_ID to have setup create a new application.",
            )

    def _create_application(self) -> str:
        with self._doing("creating the Voice application"):
            try:
                application = self._apis.create_application(self._application_config())
            except AccountApiFailed as failure:
                self._maybe_created = failure.maybe_done
                raise
        self._created = application.id
        with self._doing(f"checking the private key of application {application.id}"):
            pem = checked_private_key(application.private_pem, application.public_pem)
        with self._doing(f"saving its private key to {self.key_path}"):
            save_private_key(self.key_path, pem)
        self._key_saved = True
        return application.id

    def _application_config(self) -> ApplicationConfig:
        base_url = self._settings["base_url"] or PLACEHOLDER_URL
        webhooks = VoiceWebhooks(
            answer_url=VoiceUrl(address=f"{base_url}/audio/answer.json", http_method="GET"),
            event_url=VoiceUrl(address=f"{base_url}/webhooks/events", http_method="POST"),
        )
        return ApplicationConfig(name=APPLICATION_NAME, capabilities=Capabilities(voice=Voice(webhooks=webhooks)))

    def _take_back(self) -> str:
        """Undo what this run changed, last first; what the user is told of it."""
        not_undone = []
        try:
            self._env_file.put_back()
        except OSError as error:
            not_undone.append(f"{self._env_file.path} could not be put back as it was ({_reason(error)}).")
        if self._key_saved:
            try:
                self.key_path.unlink()
            except OSError as error:
                not_undone.append(f"{self.key_path} could not be removed ({_reason(error)}): remove it by hand.")
        if self._maybe_created:
            return (
                f'Nothing was changed here, but Vonage may have created the application all the same: if "'
                f'{APPLICATION_NAME}" is listed at {APPLICATIONS_PAGE}, delete it, {AGAIN}.'
            )
        if self._created is None:
            return " ".join(not_undone) or "Nothing was changed."
        try:
            with self._doing(f"deleting application {self._created} again"):
                self._apis.delete_application(self._created)
        except SetupFailed as failure:
            deleted = (
                f"Application {self._created} is still on the account: setup could not delete it again "
                f"({failure.why.rstrip('.')}). Delete it at {APPLICATIONS_PAGE}, {AGAIN}."
            )
        else:
            key = " and removed its private key" if self._key_saved and not not_undone else ""
            deleted = f"Setup deleted application {self._created} again{key}" + (
                "." if not_undone else ": nothing was changed."
            )
        return " ".join([deleted, *not_undone])

    @contextmanager
    def _doing(self, step: str) -> Iterator[None]:
        """Turn a failure of `step` into SetupFailed naming it."""
        try:
            yield
        except AccountApiFailed as failure:
            raise SetupFailed(step, str(failure)) from None
        except UnusableKey as why:
            raise SetupFailed(step, str(why)) from None
        except OSError as error:
            raise SetupFailed(step, f"{_reason(error)}.") from None


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)
