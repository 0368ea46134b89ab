"""Events as Vonage posts them to an app's event webhook: the body, and its signature."""

from __future__ import annotations

import hashlib
import json
import time
import uuid as uuid_module
from datetime import UTC, datetime
from typing import Any

import jwt


def vonage_event(call_uuid: str, status: str, from_number: str, to_number: str, **fields: Any) -> dict[str, Any]:
    """A call event shaped as Vonage sends it; `fields` add to it or (as None) drop a field."""
    event = {
        "uuid": call_uuid,
        "conversation_uuid": f"CON-{call_uuid}",
        "status": status,
        "direction": "outbound",
        "from": from_number,
        "to": to_number,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    event.update(fields)
    return {name: value for name, value in event.items() if value is not None}


def event_request(event: dict[str, Any], secret: str = "", application_id: str = "") -> tuple[bytes, dict[str, str]]:
    """The body and headers Vonage posts for `event`, signed when given the account's signature secret."""
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers |= signed_headers(body, secret, application_id)
    return body, headers


def signed_headers(body: bytes, secret: str, application_id: str, **claims: Any) -> dict[str, str]:
    """The Authorization header Vonage puts on a webhook; `claims` override or (as None) drop claims."""
    payload = {
        "iat": int(time.time()),
        "jti": str(uuid_module.uuid4()),
        "iss": "Vonage",
        "api_key": "abcd1234",
        "application_id": application_id,
        "payload_hash": hashlib.sha256(body).hexdigest(),
    }
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    return {"Authorization": "Bearer " + jwt.encode(payload, secret, algorithm="HS256")}
