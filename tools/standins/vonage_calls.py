"""Vonage around the Voice API: each call itself, seen from outside, for `make demo` and the tests.

A call the app places (POST /v1/calls): it rings, then Vonage fetches the answer NCCO and posts
answered. A call to the application's number (ring_the_number): Vonage fetches the answer NCCO
with `to` that number and `from` the caller, and posts started, ringing and answered with
`direction: inbound`. Either way the NCCO then plays until someone hangs up or it runs out, and
Vonage posts the final status the Voice API stand-in gives the call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from tools.standins.known_calls import KnownCall, KnownCalls
from tools.standins.timeline import Timeline
from tools.standins.vonage_fetches import Fetcher, file_name, first_words, path_of, plainly
from tools.standins.webhook_events import event_request, vonage_event

# Vonage's limits for the app's event webhook: 1 s to connect, then 10 s.
EVENT_WEBHOOK_TIMEOUT = (1, 10)
# What Vonage adds to a final status it posts, taken from the call's details.
BILLING = ("duration", "price", "rate", "network")


class VoiceApi(Protocol):
    """The Voice API stand-in (tools.standins.voice_api) as LikeVonage plays each call around it."""

    application_id: str
    calls: KnownCalls

    def report_calls_to(self, observer: LikeVonage) -> None: ...


@dataclass(eq=False)
class PlayedCall:
    uuid: str
    conversation_uuid: str
    direction: str  # outbound: the app placed it; inbound: someone rang the application's number
    from_number: str
    to_number: str
    answer_url: str
    event_url: str
    length_timer: float | None = None  # Vonage ends an outbound call this long after it is answered
    ncco: list[dict] | None = None  # the answer NCCO, once fetched
    ended: threading.Event = field(default_factory=threading.Event)
    told: bool = False  # the app acknowledged the final status: it knows the call is over
    finished: bool = False  # its final status was posted, or playing it failed


class LikeVonage:
    """What Vonage does around the Voice API requests, for whole calls: the Voice API stand-in it is
    given reports each request to it, and the stand-in's own failures.

    It checks the answer NCCO against Vonage's schema and every audio file, posts each event (signed,
    when given a signature secret), and ends a call when the app hangs up, the person on the phone
    hangs up (`hangs_up_after` seconds after answering), the NCCO runs out or length_timer passes.
    Whatever it finds wrong goes in the timeline as a problem: what Vonage would fail, a request to a
    call the app was told is over, and any failure of its own or of the stand-in.
    """

    def __init__(
        self,
        voice_api: VoiceApi,
        timeline: Timeline,
        signature_secret: str = "",
        ring_seconds: float = 1.0,
        hangs_up_after: float | None = None,
    ) -> None:
        self.timeline = timeline
        self._signature_secret = signature_secret
        self._ring_seconds = ring_seconds
        self._hangs_up_after = hangs_up_after
        self._voice_api = voice_api
        self._calls: dict[str, PlayedCall] = {}
        self.endings: list[str] = []  # why each call ended
        self._finished = threading.Condition()
        self._http = requests.Session()
        self._app_stopping = threading.Event()
        self._fetcher = Fetcher(self._http, timeline, self._app_stopping)
        voice_api.report_calls_to(self)

    def wait_until_done(self, timeout: float) -> bool:
        """Wait until every call has ended and its final status was posted."""
        with self._finished:
            return self._finished.wait_for(lambda: all(c.finished for c in self._calls.values()), timeout)

    def app_stops(self) -> None:
        """The app is being stopped: what it no longer serves or takes is what stopping means, not a problem."""
        self._app_stopping.set()

    def ring_the_number(self, caller: str, number: str, base_url: str) -> str:
        """`caller` rings `number`, linked to the application whose webhooks are on `base_url`; the call's uuid."""
        known = self._voice_api.calls.add(KnownCall("inbound", caller, number))
        call = PlayedCall(
            known.uuid,
            known.conversation_uuid,
            "inbound",
            caller,
            number,
            f"{base_url}/audio/answer.json",
            f"{base_url}/webhooks/events",
        )
        self.timeline.add("vonage", f"{caller} rings {number}")
        self._begin(call, self._play_inbound)
        return call.uuid

    # --- told by the stand-in, as requests arrive -------------------------------

    def request_arrived(self, step: str, call_uuid: str | None, body: Any) -> None:
        what = _request_in_words(step, body if isinstance(body, dict) else {})
        if call_uuid is None:
            self.timeline.add("app", f"-> Voice API  {what}")
            return
        status = self._voice_api.calls.status_of(call_uuid)
        if step == "get_call":
            self.timeline.add("app", f"-> Voice API  {what}  <- {status or '404, no such call'}")
            return
        gone = "" if self._voice_api.calls.live(call_uuid) else "  <- 404, the call is over" if status else "  <- 404"
        self.timeline.add("app", f"-> Voice API  {what}{gone}")
        call = self._calls.get(call_uuid)
        if call is None:
            self.timeline.problem("vonage", f"the app sent {what} for call {call_uuid}, which Vonage never made")
        elif call.told:
            told = "after it was told the call was over"
            self.timeline.problem("vonage", f"the app sent {what} to call {call_uuid} {told}")

    @property
    def call_uuids(self) -> list[str]:
        with self._finished:
            return list(self._calls)

    def played(self, call_uuid: str) -> PlayedCall:
        with self._finished:
            return self._calls[call_uuid]

    def call_created(self, call_uuid: str, body: dict) -> None:
        call = PlayedCall(
            call_uuid,
            self._voice_api.calls.conversation_uuid(call_uuid),
            "outbound",
            (body.get("from") or {}).get("number", ""),
            body["to"][0]["number"],
            body["answer_url"][0],
            body["event_url"][0],
            body.get("length_timer", 7200),
        )
        self._begin(call, self._play_outbound)

    def stream_started(self, call_uuid: str, body: dict) -> None:
        url = body["stream_url"][0]
        self._in_thread(f"fetching {path_of(url)}", lambda: self._fetcher.report(*self._fetcher.audio(url)))

    def call_ends(self, call_uuid: str, why: str) -> None:
        call = self._calls.get(call_uuid)
        if call is not None:
            self._in_thread(f"ending call {call_uuid}", self._end, call, why, failing=call)

    def standin_failed(self, what: str) -> None:
        self.timeline.problem("demo", what)

    # --- each call ------------------------------------------------------------------

    def _begin(self, call: PlayedCall, play: Callable[[PlayedCall], None]) -> None:
        with self._finished:
            self._calls[call.uuid] = call
        self._in_thread(f"playing call {call.uuid}", play, call, failing=call)

    def _play_outbound(self, call: PlayedCall) -> None:
        if call.ended.wait(self._ring_seconds / 2):
            return
        self._voice_api.calls.rings(call.uuid)
        self._post_events(call, "started", "ringing")
        if call.ended.wait(self._ring_seconds / 2):
            return
        self._answer(call)

    def _play_inbound(self, call: PlayedCall) -> None:
        self._answer(call, "started", "ringing")

    def _answer(self, call: PlayedCall, *before: str) -> None:
        """The call is answered: Vonage fetches the NCCO, posts answered, and plays the NCCO until the call ends."""
        params = {"uuid": call.uuid, "conversation_uuid": call.conversation_uuid, "to": call.to_number}
        fetched = self._fetcher.answer_ncco(call.answer_url, params | {"from": call.from_number})
        if fetched is None:
            self._end(call, "Vonage could not use the answer NCCO, so the call failed", "failed")
            return
        call.ncco, ncco_seconds = fetched
        self._voice_api.calls.answered(call.uuid)
        self._post_events(call, *before, "answered")
        ends = [(ncco_seconds, "the NCCO ran out")]
        if call.length_timer is not None:
            ends.append((call.length_timer, f"length_timer ({call.length_timer:g} s) passed"))
        if self._hangs_up_after is not None:
            who = "caller" if call.direction == "inbound" else "callee"
            ends.append((self._hangs_up_after, f"the {who} hung up after {self._hangs_up_after:g} s"))
        after, why = min(ends)
        if not call.ended.wait(after):
            self._end(call, why)

    def _end(self, call: PlayedCall, why: str, status: str | None = None) -> None:
        with self._finished:
            if call.ended.is_set():
                return
            call.ended.set()
            self.endings.append(why)
            status = self._voice_api.calls.end(call.uuid, status)
        self.timeline.add("vonage", f"call over: {why}")
        told = self._post_events(call, status)
        with self._finished:
            call.told, call.finished = told, True
            self._finished.notify_all()

    def _post_events(self, call: PlayedCall, *statuses: str) -> bool:
        """Post each status event in turn, as Vonage does: whether the app took them all."""
        self.timeline.add("vonage", f"-> app  event {' / '.join(statuses)}")
        return all([self._post_event(call, status) for status in statuses])

    def _post_event(self, call: PlayedCall, status: str) -> bool:
        details = self._voice_api.calls.details(call.uuid) or {}
        billing = {name: details[name] for name in BILLING if name in details and status == details.get("status")}
        fields = {"conversation_uuid": call.conversation_uuid, "direction": call.direction, **billing}
        event = vonage_event(call.uuid, status, call.from_number, call.to_number, **fields)
        body, headers = event_request(event, self._signature_secret, self._voice_api.application_id)
        url = call.event_url
        try:
            answer = self._http.post(url, data=body, headers=headers, timeout=EVENT_WEBHOOK_TIMEOUT)
        except requests.RequestException as error:
            self._fetcher.failed(f"the event webhook {path_of(url)} failed for {status}: {plainly(error)}")
            return False
        if not 200 <= answer.status_code <= 205:
            self._fetcher.failed(f"the event webhook {path_of(url)} answered {answer.status_code} to {status}")
            return False
        return True

    def _in_thread(self, doing: str, work: Callable, *args: Any, failing: PlayedCall | None = None) -> None:
        """Do `work` in a thread of its own; if it fails, that is a problem (and the call it plays is given up)."""

        def run() -> None:
            try:
                work(*args)
            except Exception as error:
                self.timeline.problem("demo", f"the Vonage stand-in failed {doing}: {type(error).__name__}: {error}")
                if failing is not None:
                    with self._finished:
                        failing.ended.set()
                        failing.finished = True
                        self._finished.notify_all()

        threading.Thread(target=run, name=doing, daemon=True).start()


def _request_in_words(step: str, body: dict) -> str:
    if step == "create_call":
        to = ", ".join(str(t.get("number")) for t in body.get("to", []) if isinstance(t, dict))
        return f"POST /v1/calls  to {to} from {(body.get('from') or {}).get('number')}"
    if step == "start_stream":
        urls = body.get("stream_url") or ["?"]
        level = f" level {body['level']:g}" if "level" in body else ""
        return f"PUT stream {file_name(urls[0])} loop {body.get('loop', 1)}{level}"
    if step == "start_talk":
        return f'PUT talk "{first_words(str(body.get("text")), 6)}" in {body.get("language", "en-US")}'
    return {"stop_stream": "DELETE stream", "hangup": "PUT hangup", "get_call": "GET call"}.get(step, step)
