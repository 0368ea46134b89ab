"""The Vonage SDK's Voice client, set up for this app, and its failures in plain words."""

from __future__ import annotations

import logging
import threading
import time
from importlib.metadata import version

import pydantic
import requests
from urllib3.exceptions import NewConnectionError, ReadTimeoutError
from vonage_http_client import (
    Auth,
    AuthenticationError,
    ForbiddenError,
    HttpClient,
    HttpClientOptions,
    HttpRequestError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)
from vonage_utils import VonageError
from vonage_voice import Voice

from stream_audio.bounded_json import bounded_answers
from stream_audio.settings import Settings

TOKEN_REUSE_SECONDS = 10 * 60
CONNECTIONS = 10
# The Voice API's answers are a few hundred bytes; one this large is not one of them.
MOST_ANSWER_BYTES = 1024 * 1024

# What a Voice API request can raise: the SDK's HTTP errors, requests' network errors
# (and an unreadable answer, see below), and pydantic's when a success answer lacks
# the fields the SDK's model needs.
VOICE_API_ERRORS = (VonageError, requests.RequestException, pydantic.ValidationError)


class ReusedTokenAuth(Auth):
    """The SDK's Auth, but one JWT serves every Voice API request for most of its life.

    The SDK signs a new RS256 JWT for each request, re-parsing the PEM key each time:
    about 33 ms of CPU. Vonage accepts a JWT until it expires (the SDK sets 15 minutes),
    so this signs one and renews it well before then.
    """

    def __init__(self, application_id: str, private_key: str) -> None:
        super().__init__(application_id=application_id, private_key=private_key)
        self._token_lock = threading.Lock()
        self._auth_string = b""
        self._renew_at = 0.0

    def create_jwt_auth_string(self) -> bytes:
        with self._token_lock:
            if time.monotonic() >= self._renew_at:
                self._auth_string = super().create_jwt_auth_string()
                self._renew_at = time.monotonic() + TOKEN_REUSE_SECONDS
            return self._auth_string


def make_voice_client(settings: Settings) -> Voice:
    """The SDK's Voice client for the application in `settings`, one attempt per request."""
    # The SDK logs request headers, JWT included, at DEBUG and repeats every failed
    # request at WARNING; this app's own one line per step says more, and no secrets.
    logging.getLogger("vonage").setLevel(logging.ERROR)
    auth = ReusedTokenAuth(settings.application_id, settings.private_key)
    options = HttpClientOptions(
        api_host=settings.api_host,
        timeout=settings.api_timeout,
        # One attempt per request, so a stalled Voice API costs at most `timeout`;
        # the SDK still retries a pooled connection the server had closed.
        max_retries=0,
        pool_maxsize=CONNECTIONS,
    )
    # The Voice API's client alone: the `vonage` package would load every Vonage API's client too.
    voice = Voice(HttpClient(auth, options, version("vonage")))
    # Every answer read within bounds, and a 2xx that is not JSON refused as requests' own
    # InvalidJSONError: the SDK would make it None and fail on that with a bare TypeError, and
    # this keeps it a Voice API failure. The SDK's HttpClient has no public handle on its session.
    voice.http_client._session.hooks["response"].append(bounded_answers(MOST_ANSWER_BYTES))
    return voice


def explain(error: Exception, timeout: int) -> tuple[int, str]:
    """The HTTP status to give whoever asked (502 or 504) and a plain-words reason."""
    if isinstance(error, AuthenticationError):
        return 502, (
            "The Voice API refused this app's credentials (401 Unauthorized). Check VONAGE_APPLICATION_ID "
            "and that VONAGE_APPLICATION_PRIVATE_KEY_PATH is that application's private key."
        )
    if isinstance(error, HttpRequestError):
        status = error.response.status_code
        if isinstance(error, ForbiddenError):
            hint = "Check the account may call this number (trial accounts can only call verified numbers)."
        elif isinstance(error, RateLimitedError):
            hint = "Too many requests: wait a moment and try again."
        elif status >= 500:
            hint = "The fault is on Vonage's side: try again shortly."
        else:
            hint = "Check TO_NUMBER, VONAGE_NUMBER and BASE_URL."
        return 502, f"The Voice API answered {status} ({_error_detail(error.response)}). {hint}"
    if _is_timeout(error):
        return 504, f"The Voice API did not answer within {timeout} s. Try again; check VONAGE_API_HOST if it persists."
    if isinstance(error, requests.ConnectionError):
        return 502, "Could not reach the Voice API. Check this machine's network connection and VONAGE_API_HOST."
    return 502, "The Voice API gave an answer this app could not understand."


def is_transient(error: Exception) -> bool:
    """True for a failure worth retrying: 429, 5xx, a timeout or an unreachable Voice API."""
    if isinstance(error, RateLimitedError | ServerError):
        return True
    if isinstance(error, HttpRequestError):  # the SDK has a class for 500 but not for 502-504
        return error.response.status_code >= 500
    return isinstance(error, requests.ConnectionError | requests.Timeout)


def nothing_was_created(error: Exception) -> bool:
    """True when a failed POST /v1/calls surely rang nobody, so it may be sent again: Vonage
    refused it (429) or failed it (5xx), or no connection was made. A timeout is not among
    them: that call may exist, and a second request would ring the callee twice."""
    if isinstance(error, HttpRequestError):
        return isinstance(error, RateLimitedError) or error.response.status_code >= 500
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def is_gone(error: Exception) -> bool:
    """True when Vonage says the call (or its stream) is already over."""
    return isinstance(error, NotFoundError)


def _error_detail(response: requests.Response) -> str:
    try:
        body = response.json()
        return str(body.get("detail") or body.get("title") or response.reason)
    except (requests.JSONDecodeError, AttributeError):
        return response.reason or "no reason given"


def _is_timeout(error: Exception) -> bool:
    # requests reports a read timeout on PUT and DELETE as a ConnectionError once
    # urllib3's (zero) retries are spent, so look at the cause as well as the type.
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.Timeout) or isinstance(reason, ReadTimeoutError)
