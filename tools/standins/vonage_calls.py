"""Vonage around the Voice API: the call itself, seen from outside, for `make demo`."""

from __future__ import annotations

import io
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import jsonschema
import mutagen
import mutagen.mp3
import mutagen.wave
import requests

from tools.standins.webhook_events import event_request, vonage_event

NCCO_SCHEMA = jsonschema.Draft202012Validator(json.loads((Path(__file__).parent / "ncco-schema.json").read_text()))
# Vonage's limits for the app's webhooks: 1 s to connect, then 5 s (answer) or 10 s (event).
ANSWER_WEBHOOK_TIMEOUT = (1, 5)
EVENT_WEBHOOK_TIMEOUT = (1, 10)
SPOKEN_WORDS_PER_SECOND = 2.5


class Timeline:
    """A call's life as lines of `+seconds  who  what`, printed as they happen."""

    def __init__(self, out: Callable[[str], None] = print) -> None:
        self._out = out
        self._start: float | None = None  # the first line is +0.00s
        self._lock = threading.Lock()
        self.lines: list[str] = []
        self.problems: list[str] = []

    def add(self, who: str, what: str) -> None:
        with self._lock:
            if self._start is None:
                self._start = time.monotonic()
            line = f"+{time.monotonic() - self._start:.2f}s  {who:<9} {what}"
            self.lines.append(line)
            self._out(line)

    def problem(self, who: str, what: str) -> None:
        with self._lock:
            self.problems.append(what)
        self.add(who, f"PROBLEM: {what}")


class VoiceApi(Protocol):
    """The Voice API stand-in (tools.standins.voice_api) as LikeVonage plays each call around it."""

    application_id: str

    def report_calls_to(self, observer: LikeVonage) -> None: ...

    def callee_answers(self, call_uuid: str) -> None: ...

    def callee_hangs_up(self, call_uuid: str) -> None: ...


@dataclass(eq=False)
class PlayedCall:
    uuid: str
    request: dict
    ended: threading.Event = field(default_factory=threading.Event)


class LikeVonage:
    """What Vonage does around the Voice API requests, for a whole call: the Voice API
    stand-in it is given reports each request to it.

    On a new call it fetches the answer NCCO and checks it against Vonage's schema,
    fetches and checks every audio file, rings, then posts started, ringing and
    answered to the event webhook (signed, when given a signature secret). It ends the
    call when the app hangs up, the callee hangs up, the NCCO runs out or length_timer
    passes, and then posts completed. Whatever it finds wrong goes in the timeline as a
    problem, as Vonage would fail.
    """

    def __init__(
        self,
        voice_api: VoiceApi,
        timeline: Timeline,
        signature_secret: str = "",
        ring_seconds: float = 1.0,
        callee_hangs_up_after: float | None = None,
    ) -> None:
        self.timeline = timeline
        self._signature_secret = signature_secret
        self._ring_seconds = ring_seconds
        self._callee_hangs_up_after = callee_hangs_up_after
        self._voice_api = voice_api
        self._calls: dict[str, PlayedCall] = {}
        self.endings: list[str] = []  # why each call ended
        self._finished = threading.Condition()
        self._unfinished = 0
        self._http = requests.Session()
        voice_api.report_calls_to(self)

    def wait_until_done(self, timeout: float) -> bool:
        """Wait until every call has ended and its completed event was posted."""
        with self._finished:
            return self._finished.wait_for(lambda: self._unfinished == 0, timeout)

    # --- told by the stand-in, as requests arrive -------------------------------

    def request_arrived(self, step: str, call_uuid: str | None, body: Any) -> None:
        body = body if isinstance(body, dict) else {}
        if step == "create_call":
            to = ", ".join(str(t.get("number")) for t in body.get("to", []) if isinstance(t, dict))
            what = f"POST /v1/calls  to {to} from {(body.get('from') or {}).get('number')}"
        elif step == "start_stream":
            urls = body.get("stream_url") or ["?"]
            level = f" level {body['level']:g}" if "level" in body else ""
            what = f"PUT stream {_file_name(urls[0])} loop {body.get('loop', 1)}{level}"
        elif step == "start_talk":
            what = f'PUT talk "{_first_words(str(body.get("text")), 6)}" in {body.get("language", "en-US")}'
        else:
            what = {"stop_stream": "DELETE stream", "hangup": "PUT hangup"}[step]
        self.timeline.add("app", f"-> Voice API  {what}")

    def call_created(self, call_uuid: str, body: dict) -> None:
        call = PlayedCall(call_uuid, body)
        with self._finished:
            self._calls[call_uuid] = call
            self._unfinished += 1
        threading.Thread(target=self._play, args=(call,), name=f"call-{call_uuid[:8]}", daemon=True).start()

    def stream_started(self, call_uuid: str, body: dict) -> None:
        url = body["stream_url"][0]
        threading.Thread(target=lambda: self._report(*self._check_audio(url)), daemon=True).start()

    def call_ends(self, call_uuid: str, why: str) -> None:
        call = self._calls.get(call_uuid)
        if call is not None:
            threading.Thread(target=self._end, args=(call, why), daemon=True).start()

    # --- the call ------------------------------------------------------------------

    def _play(self, call: PlayedCall) -> None:
        ncco_seconds = self._fetch_ncco(call)
        if ncco_seconds is None:
            self._end(call, "Vonage could not use the answer NCCO, so the call failed")
            return
        if call.ended.wait(self._ring_seconds):
            return
        statuses = ["started", "ringing", "answered"]
        self._voice_api.callee_answers(call.uuid)
        self.timeline.add("vonage", f"-> app  event {' / '.join(statuses)}")
        for status in statuses:
            self._post_event(call, status)
        length_timer = call.request.get("length_timer", 7200)
        ends = [(length_timer, f"length_timer ({length_timer} s) passed"), (ncco_seconds, "the NCCO ran out")]
        if self._callee_hangs_up_after is not None:
            ends.append((self._callee_hangs_up_after, f"the callee hung up after {self._callee_hangs_up_after:g} s"))
        after, why = min(ends)
        if not call.ended.wait(after):
            self._end(call, why)

    def _end(self, call: PlayedCall, why: str) -> None:
        with self._finished:
            if call.ended.is_set():
                return
            call.ended.set()
            self.endings.append(why)
        self._voice_api.callee_hangs_up(call.uuid)
        self.timeline.add("vonage", f"call over: {why}")
        self.timeline.add("vonage", "-> app  event completed")
        self._post_event(call, "completed")
        with self._finished:
            self._unfinished -= 1
            self._finished.notify_all()

    def _fetch_ncco(self, call: PlayedCall) -> float | None:
        """Fetch and check the answer NCCO and its audio; how long it plays, or None if unusable."""
        url = call.request["answer_url"][0]
        to = call.request["to"][0]["number"]
        params = {
            "uuid": call.uuid,
            "conversation_uuid": f"CON-{call.uuid}",
            "to": to,
            "from": (call.request.get("from") or {}).get("number", ""),
        }
        try:
            answer = self._http.get(url, params=params, timeout=ANSWER_WEBHOOK_TIMEOUT)
            answer.raise_for_status()
            ncco = answer.json()
        except (requests.RequestException, ValueError) as error:
            self.timeline.problem("vonage", f"fetching the answer NCCO {_path(url)} failed: {_plainly(error)}")
            return None
        invalid = _ncco_problem(ncco)
        if invalid is not None:
            where = "/".join(str(part) for part in invalid.absolute_path) or "the top"
            self.timeline.problem("vonage", f"the answer NCCO fails Vonage's schema at {where}: {invalid.message}")
            return None
        audio = {u: self._check_audio(u) for action in ncco for u in action.get("streamUrl", [])}
        summary, seconds = [], 0.0
        for action in ncco:
            if action["action"] == "talk":
                summary.append(f'talk "{_first_words(action["text"])} ..."')
                seconds += _speaking_seconds(action["text"])
            elif action["action"] == "stream":
                known = [audio[u][0] for u in action["streamUrl"] if audio[u][0] is not None]
                loops = action.get("loop", 1)
                summary.append(
                    f"stream {_file_name(action['streamUrl'][0])} "
                    f"({known[0] if known else 0:.0f} s x {loops or 'forever'})"
                )
                seconds += math.inf if loops == 0 else sum(known) * loops
        self.timeline.add("vonage", f"fetched {_path(url)}: {' ; '.join(summary)}")
        for checked in audio.values():
            self._report(*checked)
        return seconds

    def _check_audio(self, url: str) -> tuple[float | None, str]:
        """Fetch `url` and check it is a playable MP3 or 16-bit PCM WAV, served as such: its duration (None if
        not), and what to report."""
        try:
            answer = self._http.get(url, timeout=ANSWER_WEBHOOK_TIMEOUT)
            answer.raise_for_status()
        except requests.RequestException as error:
            return None, f"fetching {_path(url)} failed: {_plainly(error)}"
        content_type = answer.headers.get("Content-Type", "no Content-Type")
        try:
            if content_type == "audio/wav":
                kind, info = "WAV", mutagen.wave.WAVE(io.BytesIO(answer.content)).info
                if (info.audio_format, info.bits_per_sample) != (1, 16):
                    raise mutagen.MutagenError("not 16-bit PCM")
            else:
                kind, info = "MP3", mutagen.mp3.MP3(io.BytesIO(answer.content)).info
        except mutagen.MutagenError:
            return None, f"{_path(url)} is not a playable MP3 or 16-bit PCM WAV ({content_type})"
        channels = "mono" if info.channels == 1 else f"{info.channels} channels"
        return info.length, (
            f"fetched {_path(url)}: {kind} {info.sample_rate / 1000:g} kHz {channels}, {info.length:.1f} s"
        )

    def _report(self, duration: float | None, what: str) -> None:
        if duration is None:
            self.timeline.problem("vonage", what)
        else:
            self.timeline.add("vonage", what)

    def _post_event(self, call: PlayedCall, status: str) -> None:
        url = call.request["event_url"][0]
        event = vonage_event(
            call.uuid, status, (call.request.get("from") or {}).get("number", ""), call.request["to"][0]["number"]
        )
        body, headers = event_request(event, self._signature_secret, self._voice_api.application_id)
        try:
            answer = self._http.post(url, data=body, headers=headers, timeout=EVENT_WEBHOOK_TIMEOUT)
        except requests.RequestException as error:
            self.timeline.problem("vonage", f"the event webhook {_path(url)} failed for {status}: {_plainly(error)}")
            return
        if not 200 <= answer.status_code <= 205:
            self.timeline.problem("vonage", f"the event webhook {_path(url)} answered {answer.status_code} to {status}")


def _ncco_problem(ncco: Any) -> jsonschema.ValidationError | None:
    """The schema's most telling complaint about `ncco`, or None if it is valid."""
    invalid = jsonschema.exceptions.best_match(NCCO_SCHEMA.iter_errors(ncco))
    if invalid is None or not invalid.context:
        return invalid
    # Each action is one branch of a oneOf; the telling errors are those of the branch
    # whose `action` matched, not "not valid under any of the given schemas".
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for error in invalid.context:
        branches.setdefault(error.schema_path[0], []).append(error)
    matched = [errors for errors in branches.values() if all(list(e.relative_path)[:1] != ["action"] for e in errors)]
    return jsonschema.exceptions.best_match(matched[0]) if len(matched) == 1 else invalid


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _file_name(url: str) -> str:
    return _path(url).rsplit("/", 1)[-1]


def _first_words(ssml: str, count: int = 2) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", ssml).split()[:count])


def _speaking_seconds(ssml: str) -> float:
    words = len(re.sub(r"<[^>]+>", " ", ssml).split())
    pauses = sum(float(n) / (1000 if unit == "ms" else 1) for n, unit in re.findall(r"time='([0-9.]+)(ms|s)'", ssml))
    return words / SPOKEN_WORDS_PER_SECOND + pauses


def _plainly(error: Exception) -> str:
    if isinstance(error, requests.HTTPError):
        return f"it answered {error.response.status_code}"
    if isinstance(error, requests.Timeout):
        return "it did not answer in time"
    if isinstance(error, requests.ConnectionError):
        return "could not connect"
    return "it did not answer JSON"
