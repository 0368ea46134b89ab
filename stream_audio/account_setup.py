"""`python app.py setup`: the Vonage side of the set-up, from the account's API key and secret alone.

It picks the number, creates one Voice application, saves its private key beside app.py,
links the number to the application and fills in .env. Everything that can be checked is
checked before anything is created; run again, it finds what it made and changes nothing.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import requests
from dotenv import dotenv_values, set_key
from vonage import VonageError
from vonage_application import (
    Application,
    ApplicationConfig,
    Capabilities,
    Voice,
    VoiceUrl,
    VoiceWebhooks,
)
from vonage_http_client import Auth, AuthenticationError, HttpClient, HttpClientOptions, HttpRequestError, NotFoundError
from vonage_numbers import ListOwnedNumbersFilter, Numbers, NumbersError, OwnedNumber, UpdateNumberParams

from stream_audio.settings import ACCOUNT_SETTINGS, SETTINGS, SettingsError, read_settings

APPLICATION_NAME = "Stream audio into a phone call"
# Each call this app places names its own answer and event URLs, so without BASE_URL the
# application's own are only placeholders: nothing ever fetches them for an outbound call.
PLACEHOLDER_URL = "https://example.com"
KEYS_PAGE = "https://dashboard.nexmo.com/settings"
BUY_NUMBERS_PAGE = "https://dashboard.nexmo.com/buy-numbers"
APPLICATIONS_PAGE = "https://dashboard.nexmo.com/applications"
NUMBERS_PAGE_SIZE = 100
AGAIN = "then run `make setup` again"
PLAIN = re.compile(r"[\w./:+-]+")  # a value .env holds as it is, unquoted

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


class SetupFailed(Exception):
    """What went wrong, what exists now and what to do, in words for the user."""


@dataclass(frozen=True)
class Outcome:
    application_id: str
    number: str
    created: bool  # a new application, its key saved
    linked: bool  # the number was linked now, not before
    was_linked_to: str | None  # the application the number left, if any
    written: list[str]  # the .env names that changed


def run_setup(project_dir: Path, environ: Mapping[str, str]) -> int:
    """Set up the Vonage side for the app in `project_dir`; print what happened; the exit status."""
    # The SDK logs request headers, basic auth included, at DEBUG and each failed request at
    # WARNING; setup says what failed in its own words, without secrets.
    logging.getLogger("vonage").setLevel(logging.ERROR)
    env_path = project_dir / ".env"
    # As load_dotenv does for the app: a variable set in the environment wins over .env.
    env = {**_in_file(env_path), **environ}
    try:
        settings = read_settings([_ROWS[name] for name in READS], env, project_dir, OPTIONAL, cannot="set up")
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    key_path_text = KEY_PATH.text_in(env) or KEY_PATH.default
    setup = AccountSetup(settings, project_dir / key_path_text, key_path_text, env_path)
    try:
        outcome = setup.run()
    except SetupFailed as failure:
        print(failure, file=sys.stderr)
        return 1
    print(setup.summary(outcome, env))
    return 0


class AccountSetup:
    """One run of setup against one account: the number, the application, its key, .env."""

    def __init__(self, settings: dict[str, Any], key_path: Path, key_path_text: str, env_path: Path) -> None:
        self._settings = settings
        self._key_path = key_path
        self._key_path_text = key_path_text
        self._env_path = env_path
        auth = Auth(api_key=settings["api_key"], api_secret=settings["api_secret"])
        options = HttpClientOptions(
            api_host=settings["api_host"],
            rest_host=settings["rest_host"],
            timeout=settings["api_timeout"],
            max_retries=0,
        )
        # The SDK's HTTP client keeps the last request's Content-Type: shared, it would label the
        # Numbers API's form as JSON after the Application API's JSON, and Vonage would find no
        # parameters in it. A client per API sends each request as what it is.
        self._applications = Application(HttpClient(auth, options))
        self._numbers = Numbers(HttpClient(auth, options))

    def run(self) -> Outcome:
        number = self._choose_number(self._owned_numbers())
        application_id = self._settings["application_id"]
        if application_id:
            self._check_existing(application_id)
        else:
            application_id = self._create_application()
        created = not self._settings["application_id"]
        linked = self._link(number, application_id, created)
        written = self._write_env(application_id, number.msisdn)
        return Outcome(application_id, number.msisdn, created, linked, number.app_id if linked else None, written)

    # --- the number -------------------------------------------------------------

    def _owned_numbers(self) -> list[OwnedNumber]:
        """Every number the account owns; the first request, so it also checks the key and secret."""
        owned: list[OwnedNumber] = []
        index: int | None = 1
        while index is not None:
            with self._asking("Numbers API", "listing the account's numbers"):
                page, _, index = self._numbers.list_owned_numbers(
                    ListOwnedNumbersFilter(size=NUMBERS_PAGE_SIZE, index=index)
                )
            owned += page
        return owned

    def _choose_number(self, owned: list[OwnedNumber]) -> OwnedNumber:
        voice = [n for n in owned if "VOICE" in (n.features or [])]
        wanted = self._settings["vonage_number"]
        if wanted:
            number = next((n for n in owned if n.msisdn == wanted), None)
            if number is None:
                raise SetupFailed(
                    f"VONAGE_NUMBER {wanted} is not a number this account owns. {_choices(voice)} Nothing was changed."
                )
            if number not in voice:
                raise SetupFailed(
                    f"VONAGE_NUMBER {wanted} cannot make voice calls (its features: "
                    f"{', '.join(number.features or ['none'])}). {_choices(voice)} Nothing was changed."
                )
            return number
        if len(voice) == 1:
            return voice[0]
        raise SetupFailed(f"{_choices(voice)} Nothing was changed.")

    def _link(self, number: OwnedNumber, application_id: str, created: bool) -> bool:
        if number.app_id == application_id:
            return False
        try:
            with self._asking("Numbers API", f"linking {number.msisdn} to application {application_id}"):
                self._numbers.update_number(
                    UpdateNumberParams(country=number.country, msisdn=number.msisdn, app_id=application_id)
                )
        except SetupFailed as failure:
            if not created:
                raise SetupFailed(f"{failure} Nothing was changed; run `make setup` again to retry.") from None
            # The application and its key are sound: .env names them, so the next run reuses them.
            self._write_env(application_id, None)
            raise SetupFailed(
                f"{failure} Application {application_id} now exists and its private key is saved at "
                f"{self._key_path}; .env names both, but not yet VONAGE_NUMBER. Run `make setup` again to retry "
                "the link: it reuses this application."
            ) from None
        return True

    # --- the application --------------------------------------------------------

    def _check_existing(self, application_id: str) -> None:
        with self._asking("Application API", f"looking up application {application_id}"):
            try:
                self._applications.get_application(application_id)
            except NotFoundError:
                raise SetupFailed(
                    f"VONAGE_APPLICATION_ID {application_id} is not an application of this account (deleted, or "
                    f"another account's). To have setup create a new one, clear VONAGE_APPLICATION_ID in .env and "
                    f"move {self._key_path} away if it is that application's key, {AGAIN}. Nothing was changed."
                ) from None
        if not self._key_path.is_file():
            raise SetupFailed(
                f"VONAGE_APPLICATION_ID names application {application_id}, but its private key is not at "
                f"{self._key_path}. Put the key there or set VONAGE_APPLICATION_PRIVATE_KEY_PATH to where it is; "
                f"if the key is lost, clear VONAGE_APPLICATION_ID to have setup create a new application. "
                "Nothing was changed."
            )

    def _create_application(self) -> str:
        if self._key_path.exists():
            raise SetupFailed(
                f"{self._key_path} already exists, and setup never overwrites a private key. If it belongs to an "
                f"application you have, set VONAGE_APPLICATION_ID to that application's id; otherwise move the file "
                f"away; {AGAIN}. Nothing was changed."
            )
        if not os.access(self._key_path.parent, os.W_OK):
            raise SetupFailed(
                f"Cannot save a private key in {self._key_path.parent}: it is not writable. Make it "
                f"writable or set VONAGE_APPLICATION_PRIVATE_KEY_PATH elsewhere, {AGAIN}. "
                "Nothing was changed."
            )
        base_url = self._settings["base_url"] or PLACEHOLDER_URL
        config = ApplicationConfig(
            name=APPLICATION_NAME,
            capabilities=Capabilities(
                voice=Voice(
                    webhooks=VoiceWebhooks(
                        answer_url=VoiceUrl(address=f"{base_url}/audio/answer.json", http_method="GET"),
                        event_url=VoiceUrl(address=f"{base_url}/webhooks/events", http_method="POST"),
                    )
                )
            ),
        )
        with self._asking("Application API", "creating the Voice application"):
            application = self._applications.create_application(config)
        private_key = (application.keys.model_extra or {}).get("private_key") if application.keys else None
        try:
            if not private_key:
                raise OSError("Vonage's answer carried no private key")
            _save_private_key(self._key_path, private_key)
        except OSError as error:
            raise self._undo(
                application.id, f"its private key could not be saved to {self._key_path} ({error.strerror or error})"
            ) from None
        return application.id

    def _undo(self, application_id: str, why: str) -> SetupFailed:
        """Delete an application whose key is lost (Vonage shows a key only once); what to tell the user."""
        happened = f"Vonage created application {application_id}, but {why}."
        try:
            with self._asking("Application API", f"deleting application {application_id} again"):
                self._applications.delete_application(application_id)
        except SetupFailed as failure:
            return SetupFailed(
                f"{happened} {failure} That application is no use without its key: delete it at "
                f"{APPLICATIONS_PAGE}, fix the cause, {AGAIN}. .env was not changed."
            )
        return SetupFailed(
            f"{happened} Setup deleted that application again; fix the cause, {AGAIN}. Nothing was changed."
        )

    # --- .env and the summary ---------------------------------------------------

    def _write_env(self, application_id: str, number: str | None) -> list[str]:
        """Set the names whose value in .env differs, keeping every other line; the names set."""
        in_file = _in_file(self._env_path)
        wanted = {"VONAGE_APPLICATION_ID": application_id, KEY_PATH.name: self._key_path_text}
        if number:
            wanted["VONAGE_NUMBER"] = number
        written = []
        for name, value in wanted.items():
            if _ROWS[name].text_in(in_file).removeprefix("+") != value:
                set_key(self._env_path, name, value, quote_mode="never" if PLAIN.fullmatch(value) else "always")
                written.append(name)
        return written

    def summary(self, outcome: Outcome, env: Mapping[str, str]) -> str:
        base_url = self._settings["base_url"]
        if outcome.created:
            urls = (
                f"its webhooks point at {base_url}"
                if base_url
                else (
                    f"its webhook URLs are placeholders ({PLACEHOLDER_URL}): each call this app places gives Vonage "
                    "its own, from BASE_URL"
                )
            )
            lines = [
                f'Created Voice application "{APPLICATION_NAME}" ({outcome.application_id}); {urls}.',
                f"Saved its private key to {self._key_path}, readable by you alone.",
            ]
        else:
            lines = [
                f"Application {outcome.application_id} exists and its private key is at {self._key_path}: "
                "no new application."
            ]
        if not outcome.linked:
            lines.append(f"{outcome.number} was already linked to the application.")
        elif outcome.was_linked_to:
            lines.append(f"Linked {outcome.number} to the application, away from application {outcome.was_linked_to}.")
        else:
            lines.append(f"Linked {outcome.number} to the application.")
        lines.append(
            f"Wrote {', '.join(outcome.written)} into {self._env_path}."
            if outcome.written
            else f"{self._env_path} already had every value."
        )
        if not (outcome.created or outcome.linked or outcome.written):
            lines.insert(0, "Already set up: nothing was changed.")
        todo = []
        if not _ROWS["TO_NUMBER"].text_in(env):
            todo.append("set TO_NUMBER in .env to the number to ring")
        if not base_url:
            todo.append("run `ngrok http 3000` and set BASE_URL in .env to the https URL it prints")
        todo.append("run `make run` and open the link it prints")
        return "\n".join([*lines, "Left to do:", *(f"  - {step}" for step in todo)])

    @contextmanager
    def _asking(self, api: str, doing: str) -> Iterator[None]:
        """Turn the SDK's failures while `doing` into one sentence for the user."""
        host_setting = "VONAGE_REST_HOST" if api == "Numbers API" else "VONAGE_API_HOST"
        host = self._settings[_ROWS[host_setting].field]
        try:
            yield
        except AuthenticationError:
            raise SetupFailed(
                "Vonage refused VONAGE_API_KEY and VONAGE_API_SECRET (401 Unauthorized): copy both from the API "
                f"settings page of the Vonage dashboard, {KEYS_PAGE}, into .env. Nothing was changed."
            ) from None
        except HttpRequestError as error:
            raise SetupFailed(
                f"Vonage's {api} answered {error.response.status_code} ({_detail(error.response)}) while {doing}."
            ) from None
        except NumbersError as error:
            raise SetupFailed(f"Vonage's {api} refused {doing}: {error}.") from None
        except requests.Timeout:
            raise SetupFailed(
                f"Vonage's {api} at {host} did not answer within {self._settings['api_timeout']} s "
                f"while {doing}; try again."
            ) from None
        except requests.ConnectionError:
            raise SetupFailed(
                f"Could not reach Vonage's {api} at {host} while {doing}: check this machine's "
                f"network connection and {host_setting}."
            ) from None
        except (VonageError, requests.RequestException, pydantic.ValidationError):
            raise SetupFailed(f"Vonage's {api} gave an answer setup could not understand while {doing}.") from None


def _save_private_key(path: Path, pem: str) -> None:
    """Write `pem` to a new file only its owner can read; never over an existing one."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as key_file:
            os.fchmod(key_file.fileno(), 0o600)  # whatever the umask
            key_file.write(pem)
    except OSError:
        path.unlink(missing_ok=True)  # a partly written key must not pass for a usable one
        raise


def _choices(voice: list[OwnedNumber]) -> str:
    if not voice:
        return (
            f"This account has no number that can make voice calls: buy one with the Voice feature at "
            f"{BUY_NUMBERS_PAGE}, {AGAIN}."
        )
    if len(voice) == 1:
        return f"Its one number that can make voice calls is {voice[0].msisdn}: set VONAGE_NUMBER to it, {AGAIN}."
    return (
        f"This account has {len(voice)} numbers that can make voice calls: "
        f"{', '.join(n.msisdn for n in voice)}. Set VONAGE_NUMBER in .env to the one to call from, {AGAIN}."
    )


def _in_file(env_path: Path) -> dict[str, str]:
    return {name: value for name, value in dotenv_values(env_path).items() if value is not None}


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
        return str(body.get("detail") or body.get("title") or body.get("error-code-label") or response.reason)
    except (requests.JSONDecodeError, AttributeError):
        return response.reason or "no reason given"
