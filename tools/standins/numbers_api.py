"""A local stand-in for Vonage's Numbers API (the REST host): real HTTPS on loopback.

It checks HTTP basic auth with the account's API key and secret, as Vonage does, lists
the numbers the account owns page by page, and links a number to an application, in the
shapes the Numbers API reference documents. An update must come as a form, as Vonage
reads it; the stand-in records how each one was labelled.

Tests make it answer badly on demand: `fail_updates` refuses links as Vonage does (an error-code
in a 200), and `answer_with` changes the answer to a listing or a link it carried out (any shape:
wrong types, a count that never ends, a number that is not one, HTML, a body too large).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, request

from tools.standins.https_server import ServedInBackground, has_basic_auth

FORM = "application/x-www-form-urlencoded"


def owned_number(
    msisdn: str, country: str = "GB", features: tuple[str, ...] = ("VOICE", "SMS"), app_id: str | None = None
) -> dict:
    """A number as GET /account/numbers lists it."""
    number = {"country": country, "msisdn": msisdn, "type": "mobile-lvn", "features": list(features)}
    if app_id:
        number |= {"voiceCallbackType": "app", "voiceCallbackValue": app_id, "app_id": app_id}
    return number


@dataclass(frozen=True)
class Update:
    """One authenticated POST /number/update, as the stand-in saw it."""

    content_type: str
    form: dict[str, str]


class NumbersApiStandIn:
    """The Numbers API of one account that owns `numbers`, on loopback."""

    def __init__(self, api_key: str, api_secret: str, ssl_context: ssl.SSLContext, numbers: list[dict]) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._lock = threading.Lock()
        self.numbers = numbers
        self.updates: list[Update] = []
        self.pages_listed: list[int] = []  # the page index of each authenticated GET /account/numbers
        self.rejected: list[str] = []  # why each refused request was refused
        self._failure: tuple[str, str] | None = None
        self._changes: dict[str, Callable[[dict], Any]] = {}
        self._served = ServedInBackground(self._make_app(), ssl_context, "numbers-api-standin")
        self.host = self._served.host

    def fail_updates(self, code: str, label: str) -> None:
        """From now on, answer every update with this error-code and error-code-label."""
        self._failure = (code, label)

    def answer_with(self, request_name: str, change: Callable[[dict], Any]) -> None:
        """From now on, carry out `request_name` ("list" or "update") as documented but answer with `change`
        of the documented answer: a flask Response is sent as it is, anything else as JSON."""
        self._changes[request_name] = change

    def behave(self) -> None:
        self._failure = None
        self._changes.clear()

    def close(self) -> None:
        self._served.close()

    def _make_app(self) -> Flask:
        app = Flask("numbers_api_standin")

        @app.before_request
        def check_basic_auth():
            if not has_basic_auth(self._api_key, self._api_secret):
                self.rejected.append(f"{request.method} {request.path}: wrong or missing basic auth")
                return _status("401", "authentication failed"), 401
            return None

        @app.get("/account/numbers")
        def list_numbers():
            size = request.args.get("size", 10, type=int)
            index = request.args.get("index", 1, type=int)
            with self._lock:
                self.pages_listed.append(index)
                page = [dict(n) for n in self.numbers[(index - 1) * size : index * size]]
                count = len(self.numbers)
            # Vonage leaves `numbers` out when there are none.
            return self._answer("list", {"count": count, "numbers": page} if page else {"count": count})

        @app.post("/number/update")
        def update_number():
            update = Update(request.mimetype, request.form.to_dict())
            with self._lock:
                self.updates.append(update)
            if update.content_type != FORM:
                # Vonage reads the parameters from a form; labelled otherwise, none are found.
                self.rejected.append(f"update: a form body labelled {update.content_type or 'nothing'}")
                return _status("420", "Missing parameters: country, msisdn")
            if self._failure:
                return _status(*self._failure)
            return self._answer("update", _status(*self._link(update.form)))

        return app

    def _answer(self, request_name: str, documented: dict) -> Response:
        change = self._changes.get(request_name)
        body = documented if change is None else change(documented)
        return body if isinstance(body, Response) else jsonify(body)

    def _link(self, form: dict[str, str]) -> tuple[str, str]:
        with self._lock:
            for i, number in enumerate(self.numbers):
                if number["msisdn"] == form.get("msisdn") and number["country"] == form.get("country"):
                    self.numbers[i] = owned_number(
                        number["msisdn"], number["country"], tuple(number["features"]), form.get("app_id")
                    )
                    return "200", "success"
        return "420", "method failed"


def _status(code: str, label: str) -> dict:
    return {"error-code": code, "error-code-label": label}
