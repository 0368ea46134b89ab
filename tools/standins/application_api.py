"""A local stand-in for Vonage's Application API v2: real HTTPS on loopback.

It checks HTTP basic auth with the account's API key and secret on every request, as
Vonage does, checks each new application against the request schema, and answers in the
shapes the API reference documents: a new application carries a key pair made at run
time, whose private half only the creation answer ever shows.

Tests make it answer badly on demand: `answer_with` changes the answer to a request it carried out
(any shape: wrong types, a key of another kind, HTML, a body too large or nested too deep), and
`fail` refuses a request, carrying out nothing.
"""

from __future__ import annotations

import ssl
import threading
import uuid as uuid_module
from collections.abc import Callable
from typing import Any

import jsonschema
from flask import Flask, Response, jsonify, request

from tools.credentials import key_pair
from tools.standins.https_server import ServedInBackground, has_basic_auth

# Transcribed from the Application API v2 reference: the parts of a create request this app sends.
WEBHOOK = {
    "type": "object",
    "required": ["address"],
    "properties": {"address": {"type": "string", "pattern": "^https?://"}, "http_method": {"enum": ["GET", "POST"]}},
}
CREATE_APPLICATION = jsonschema.Draft202012Validator(
    {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "capabilities": {
                "type": "object",
                "properties": {
                    "voice": {
                        "type": "object",
                        "properties": {
                            "webhooks": {
                                "type": "object",
                                "properties": {"answer_url": WEBHOOK, "event_url": WEBHOOK},
                            },
                        },
                    },
                },
            },
        },
    }
)


class ApplicationApiStandIn:
    """The Application API of one account, on loopback."""

    def __init__(self, api_key: str, api_secret: str, ssl_context: ssl.SSLContext) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._lock = threading.Lock()
        self.applications: dict[str, dict] = {}  # id -> the application as GET answers it
        self.private_keys: dict[str, str] = {}  # id -> the PEM the creation answer carried
        self.received: list[str] = []  # "METHOD /path" of each authenticated request
        self.rejected: list[str] = []  # why each refused request was refused
        self._changes: dict[str, Callable[[Any], Any]] = {}
        self._failures: dict[str, int] = {}
        self._served = ServedInBackground(self._make_app(), ssl_context, "application-api-standin")
        self.host = self._served.host

    def answer_with(self, request_name: str, change: Callable[[Any], Any]) -> None:
        """From now on, carry out `request_name` ("create", "get" or "delete") as documented but answer
        with `change` of the documented answer (None for a delete's empty one): a flask Response is sent
        as it is, anything else as JSON."""
        self._changes[request_name] = change

    def fail(self, request_name: str, status: int) -> None:
        """From now on, refuse `request_name` with `status` in the documented error shape, carrying out nothing."""
        self._failures[request_name] = status

    def behave(self) -> None:
        self._changes.clear()
        self._failures.clear()

    def close(self) -> None:
        self._served.close()

    def _make_app(self) -> Flask:
        app = Flask("application_api_standin")

        app.before_request(self._check_basic_auth)
        app.before_request(self._fail_on_demand)

        @app.post("/v2/applications")
        def create_application():
            body = request.get_json(silent=True)
            if not request.is_json or body is None:
                self.rejected.append(f"create: a body sent as {request.mimetype or 'no Content-Type'}")
                return self._error(400, "Bad Request", "The request body must be JSON.")
            try:
                CREATE_APPLICATION.validate(body)
            except jsonschema.ValidationError as invalid:
                self.rejected.append(f"create: {invalid.message}")
                return self._error(400, "Bad Request", invalid.message)
            return self._answer("create", self._create(body), 201)

        @app.get("/v2/applications/<application_id>")
        def get_application(application_id: str):
            with self._lock:
                application = self.applications.get(application_id)
            if application is None:
                return self._error(404, "Not found", f"Application {application_id} does not exist.")
            return self._answer("get", application, 200)

        @app.delete("/v2/applications/<application_id>")
        def delete_application(application_id: str):
            with self._lock:
                deleted = self.applications.pop(application_id, None)
            if deleted is None:
                return self._error(404, "Not found", f"Application {application_id} does not exist.")
            return self._answer("delete", None, 204)

        return app

    def _check_basic_auth(self) -> tuple | None:
        if not has_basic_auth(self._api_key, self._api_secret):
            self.rejected.append(f"{request.method} {request.path}: wrong or missing basic auth")
            return self._error(401, "Invalid credentials supplied", "You did not provide correct credentials.")
        with self._lock:
            self.received.append(f"{request.method} {request.path}")
        return None

    def _fail_on_demand(self) -> tuple | None:
        name = {"POST": "create", "GET": "get", "DELETE": "delete"}.get(request.method, "")
        if name in self._failures:
            return self._error(self._failures[name], "Failed on demand", f"The test made {name} fail.")
        return None

    def _create(self, body: dict) -> dict:
        application_id = str(uuid_module.uuid4())
        private_pem, public_pem = key_pair()
        voice = body.get("capabilities", {}).get("voice", {})
        application = {
            "id": application_id,
            "name": body["name"],
            "keys": {"public_key": public_pem},
            "privacy": {"improve_ai": False},
            "capabilities": {"voice": {"webhooks": voice.get("webhooks", {}), "signed_callbacks": True}}
            if "voice" in body.get("capabilities", {})
            else {},
            "_links": {"self": {"href": f"/v2/applications/{application_id}"}},
        }
        with self._lock:
            self.applications[application_id] = application
            self.private_keys[application_id] = private_pem
        return {**application, "keys": {"public_key": public_pem, "private_key": private_pem}}

    def _answer(self, request_name: str, documented: Any, status: int) -> Response | tuple:
        change = self._changes.get(request_name)
        body = documented if change is None else change(documented)
        if isinstance(body, Response):
            return body
        return ("", status) if body is None else (jsonify(body), status)

    @staticmethod
    def _error(status: int, title: str, detail: str) -> tuple:
        slug = {401: "unauthorized", 404: "not-found"}.get(status, "bad-request" if status < 500 else "internal-error")
        return jsonify(
            type=f"https://developer.nexmo.com/api-errors#{slug}",
            title=title,
            detail=detail,
            instance=str(uuid_module.uuid4()),
        ), status
