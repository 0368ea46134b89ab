"""The account's Application API v2 and Numbers API, as setup asks them: each request sent by the
SDK's HTTP client, each answer read within bounds and checked against the SDK's models and the
shapes Vonage documents, each failure one sentence in plain words.

The SDK's Application and Numbers classes build their models from an answer unchecked: a list
for an object, a count sent as text or a missing error-code ends in a TypeError or a KeyError,
and a count that never ends pages for ever. So each request goes through the SDK's HttpClient,
and each answer through the SDK's models, validated whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pydantic
import requests
from urllib3.exceptions import NewConnectionError
from vonage_application import ApplicationConfig, ApplicationData
from vonage_http_client import Auth, AuthenticationError, HttpClient, HttpClientOptions, HttpRequestError, NotFoundError
from vonage_numbers import ListOwnedNumbersFilter, NumbersStatus, OwnedNumber, UpdateNumberParams

from stream_audio.bounded_json import bounded_answers
from stream_audio.log_text import shown
from stream_audio.setting_values import PHONE_NUMBER
from stream_audio.setup_words import KEYS_PAGE

# A page of 100 numbers is about 20 KiB, an application with its key pair about 4 KiB.
MOST_ANSWER_BYTES = 256 * 1024
NUMBERS_PAGE_SIZE = 100  # the most the Numbers API lists at once
# However many numbers the answers claim, setup reads no more pages than this (1,000 numbers).
MOST_NUMBER_PAGES = 10
APPLICATION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
COUNTRY = re.compile(r"[A-Z]{2}")
APPLICATION_API, NUMBERS_API = "Application API", "Numbers API"


class AccountApiFailed(Exception):
    """How a request to an account API failed, as a sentence for the user."""

    def __init__(self, why: str, maybe_done: bool = False) -> None:
        super().__init__(why)
        self.maybe_done = maybe_done  # the request reached Vonage, which may have carried it out


@dataclass(frozen=True)
class OwnedNumbers:
    numbers: list[OwnedNumber]  # each with an E.164 msisdn and a country code
    all_listed: bool  # False: the account lists more than setup reads


@dataclass(frozen=True)
class NewApplication:
    id: str  # a UUID
    private_pem: object  # the keys as the answer carried them, for application_key to check
    public_pem: object


class _NumbersPage(pydantic.BaseModel):
    """GET /account/numbers's answer; Vonage leaves `numbers` out when there are none."""

    count: int = pydantic.Field(ge=0, strict=True)
    numbers: list[OwnedNumber] = []


class AccountApis:
    """The Application and Numbers APIs of one account, reached with its API key and secret."""

    def __init__(self, api_key: str, api_secret: str, api_host: str, rest_host: str, timeout: int) -> None:
        self._hosts = {APPLICATION_API: (api_host, "VONAGE_API_HOST"), NUMBERS_API: (rest_host, "VONAGE_REST_HOST")}
        self._timeout = timeout
        auth = Auth(api_key=api_key, api_secret=api_secret)
        # One connection each: the SDK sends a request again, once per pooled connection, when the
        # connection closes before the answer, and an application must be created once at most.
        options = HttpClientOptions(
            api_host=api_host, rest_host=rest_host, timeout=timeout, max_retries=0, pool_maxsize=1
        )
        # The SDK's HTTP client keeps the last request's Content-Type: shared, it would label the
        # Numbers API's form as JSON after the Application API's JSON, and Vonage would find no
        # parameters in it. A client per API sends each request as what it is.
        self._applications = _bounded(HttpClient(auth, options))
        self._numbers = _bounded(HttpClient(auth, options))

    def owned_numbers(self) -> OwnedNumbers:
        """The numbers the account owns, page by page until a page adds none or the count is reached,
        and never more than MOST_NUMBER_PAGES pages; the first request, so it also checks the key and secret."""
        owned: dict[str, OwnedNumber] = {}
        for index in range(1, MOST_NUMBER_PAGES + 1):
            page = self._numbers_page(index)
            new = {n.msisdn: n for n in page.numbers if n.msisdn not in owned}
            owned |= new
            if not new or len(owned) >= page.count:
                return OwnedNumbers(list(owned.values()), all_listed=True)
        return OwnedNumbers(list(owned.values()), all_listed=False)

    def link(self, number: OwnedNumber, application_id: str) -> None:
        """Link `number` to the application, so calls to it reach this app."""
        params = UpdateNumberParams(country=number.country, msisdn=number.msisdn, app_id=application_id)
        with self._asking(NUMBERS_API):
            answer = self._numbers.post(
                self._numbers.rest_host,
                "/number/update",
                params.model_dump(by_alias=True, exclude_none=True),
                "basic",
                "form",
            )
            status = NumbersStatus.model_validate(answer)
        if status.error_code is None:
            raise _unclear(NUMBERS_API, "error-code: missing")
        if status.error_code != "200":
            raise AccountApiFailed(
                f"Vonage's Numbers API refused it: {shown(f'{status.error_code} {status.error_code_label}')}."
            )

    def has_application(self, application_id: str) -> bool:
        with self._asking(APPLICATION_API):
            try:
                self._applications.get(self._applications.api_host, f"/v2/applications/{application_id}", None, "basic")
            except NotFoundError:
                return False
        return True

    def create_application(self, config: ApplicationConfig) -> NewApplication:
        with self._asking(APPLICATION_API):
            answer = self._applications.post(
                self._applications.api_host, "/v2/applications", config.model_dump(exclude_none=True), "basic"
            )
            application = ApplicationData.model_validate(answer)
        if not APPLICATION_ID.fullmatch(application.id):
            raise _unclear(APPLICATION_API, "id: not an application id (a UUID)")
        keys = application.keys
        private_pem = (keys.model_extra or {}).get("private_key") if keys else None
        return NewApplication(application.id, private_pem, keys.public_key if keys else None)

    def delete_application(self, application_id: str) -> None:
        with self._asking(APPLICATION_API):
            self._applications.delete(self._applications.api_host, f"/v2/applications/{application_id}", None, "basic")

    def _numbers_page(self, index: int) -> _NumbersPage:
        wanted = ListOwnedNumbersFilter(size=NUMBERS_PAGE_SIZE, index=index)
        with self._asking(NUMBERS_API):
            answer = self._numbers.get(
                self._numbers.rest_host, "/account/numbers", wanted.model_dump(exclude_none=True), "basic"
            )
            page = _NumbersPage.model_validate(answer)
        for i, number in enumerate(page.numbers):
            if not PHONE_NUMBER.fullmatch(number.msisdn or ""):
                raise _unclear(NUMBERS_API, f"numbers.{i}.msisdn: not a phone number in E.164 digits")
            if not COUNTRY.fullmatch(number.country or ""):
                raise _unclear(NUMBERS_API, f"numbers.{i}.country: not a country code")
        return page

    @contextmanager
    def _asking(self, api: str) -> Iterator[None]:
        """Turn the SDK's failures into one sentence for the user."""
        host, host_setting = self._hosts[api]
        try:
            yield
        except AuthenticationError:
            raise AccountApiFailed(
                "Vonage refused VONAGE_API_KEY and VONAGE_API_SECRET (401 Unauthorized): copy both from the API "
                f"settings page of the Vonage dashboard, {KEYS_PAGE}, into .env."
            ) from None
        except HttpRequestError as error:
            raise AccountApiFailed(
                f"Vonage's {api} answered {error.response.status_code} ({_detail(error.response)})."
            ) from None
        except requests.Timeout:
            raise AccountApiFailed(
                f"Vonage's {api} at {host} did not answer within {self._timeout} s; try again.", maybe_done=True
            ) from None
        except requests.ConnectionError as error:
            raise AccountApiFailed(
                f"Could not reach Vonage's {api} at {host}: check this machine's network connection and "
                f"{host_setting}.",
                maybe_done=not _never_connected(error),
            ) from None
        except pydantic.ValidationError as error:
            raise _unclear(api, _first_problem(error)) from None
        except requests.RequestException as error:
            # An answer refused unread, or one that broke off: a failure Vonage answered with did nothing.
            raise _unclear(api, str(error), maybe_done=error.response is None or error.response.ok) from None


def _bounded(client: HttpClient) -> HttpClient:
    # The SDK's HttpClient has no public handle on its requests Session.
    client._session.hooks["response"].append(bounded_answers(MOST_ANSWER_BYTES))
    return client


def _unclear(api: str, what: str, maybe_done: bool = True) -> AccountApiFailed:
    return AccountApiFailed(
        f"Vonage's {api} gave an answer setup could not understand ({shown(what)}).", maybe_done=maybe_done
    )


def _first_problem(error: pydantic.ValidationError) -> str:
    first = error.errors()[0]
    if not first["loc"]:
        return "not a JSON object"
    return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"


def _never_connected(error: requests.ConnectionError) -> bool:
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError)


def _detail(response: requests.Response) -> str:
    """The reason an error answer gives, escaped."""
    try:
        body: Any = response.json()
        return shown(str(body.get("detail") or body.get("title") or body.get("error-code-label") or response.reason))
    except (requests.JSONDecodeError, AttributeError):
        return shown(response.reason or "no reason given")
