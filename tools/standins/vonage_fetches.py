"""What Vonage fetches from the app, checked as Vonage would: the answer NCCO against Vonage's NCCO
schema, and each audio file (a playable MP3 or 16-bit PCM WAV), with how long it all plays."""

from __future__ import annotations

import io
import json
import math
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import mutagen
import mutagen.mp3
import mutagen.wave
import requests

from tools.standins.timeline import Timeline

NCCO_SCHEMA = jsonschema.Draft202012Validator(json.loads((Path(__file__).parent / "ncco-schema.json").read_text()))
# Vonage's limits for the app's answer webhook and audio: 1 s to connect, then 5 s.
ANSWER_WEBHOOK_TIMEOUT = (1, 5)
SPOKEN_WORDS_PER_SECOND = 2.5


class Fetcher:
    """Fetches for Vonage over `http`, saying on `timeline` what it found and, as a problem, what Vonage would
    fail; once `app_stopping` is set, what it cannot reach any more is what stopping means, not a problem."""

    def __init__(self, http: requests.Session, timeline: Timeline, app_stopping: threading.Event) -> None:
        self._http = http
        self._timeline = timeline
        self._app_stopping = app_stopping

    def answer_ncco(self, url: str, params: dict[str, str]) -> tuple[list[dict], float] | None:
        """Fetch and check the answer NCCO and its audio: the NCCO, and how long it plays (inf: until
        someone hangs up); None if Vonage could not use it."""
        try:
            answer = self._http.get(url, params=params, timeout=ANSWER_WEBHOOK_TIMEOUT)
            answer.raise_for_status()
            ncco = answer.json()
        except (requests.RequestException, ValueError) as error:
            self.failed(f"fetching the answer NCCO {path_of(url)} failed: {plainly(error)}")
            return None
        invalid = _ncco_problem(ncco)
        if invalid is not None:
            where = "/".join(str(part) for part in invalid.absolute_path) or "the top"
            self._timeline.problem("vonage", f"the answer NCCO fails Vonage's schema at {where}: {invalid.message}")
            return None
        audio = {u: self.audio(u) for action in ncco for u in action.get("streamUrl", [])}
        summary, seconds = [], 0.0
        for action in ncco:
            if action["action"] == "talk":
                summary.append(f'talk "{first_words(action["text"])} ..."')
                seconds += _speaking_seconds(action["text"])
            elif action["action"] == "stream":
                known = [audio[u][0] for u in action["streamUrl"] if audio[u][0] is not None]
                loops = action.get("loop", 1)
                summary.append(
                    f"stream {file_name(action['streamUrl'][0])} "
                    f"({known[0] if known else 0:.0f} s x {loops or 'forever'})"
                )
                seconds += math.inf if loops == 0 else sum(known) * loops
        self._timeline.add("vonage", f"fetched {path_of(url)}: {' ; '.join(summary)}")
        for checked in audio.values():
            self.report(*checked)
        return ncco, seconds

    def audio(self, url: str) -> tuple[float | None, str]:
        """Fetch `url` and check it is a playable MP3 or 16-bit PCM WAV, served as such: its duration (None if
        not), and what to report."""
        try:
            answer = self._http.get(url, timeout=ANSWER_WEBHOOK_TIMEOUT)
            answer.raise_for_status()
        except requests.RequestException as error:
            return None, f"fetching {path_of(url)} failed: {plainly(error)}"
        content_type = answer.headers.get("Content-Type", "no Content-Type")
        try:
            if content_type == "audio/wav":
                kind, info = "WAV", mutagen.wave.WAVE(io.BytesIO(answer.content)).info
                if (info.audio_format, info.bits_per_sample) != (1, 16):
                    raise mutagen.MutagenError("not 16-bit PCM")
            else:
                kind, info = "MP3", mutagen.mp3.MP3(io.BytesIO(answer.content)).info
        except mutagen.MutagenError:
            return None, f"{path_of(url)} is not a playable MP3 or 16-bit PCM WAV ({content_type})"
        channels = "mono" if info.channels == 1 else f"{info.channels} channels"
        return info.length, (
            f"fetched {path_of(url)}: {kind} {info.sample_rate / 1000:g} kHz {channels}, {info.length:.1f} s"
        )

    def report(self, duration: float | None, what: str) -> None:
        if duration is None:
            self.failed(what)
        else:
            self._timeline.add("vonage", what)

    def failed(self, what: str) -> None:
        """Vonage could not use, or reach, what the app serves: a problem, unless app.py is being stopped."""
        if self._app_stopping.is_set():
            self._timeline.add("vonage", f"{what} (app.py is stopping)")
        else:
            self._timeline.problem("vonage", what)


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


def path_of(url: str) -> str:
    return urlsplit(url).path or "/"


def file_name(url: str) -> str:
    return path_of(url).rsplit("/", 1)[-1]


def first_words(ssml: str, count: int = 2) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", ssml).split()[:count])


def _speaking_seconds(ssml: str) -> float:
    words = len(re.sub(r"<[^>]+>", " ", ssml).split())
    pauses = sum(float(n) / (1000 if unit == "ms" else 1) for n, unit in re.findall(r"time='([0-9.]+)(ms|s)'", ssml))
    return words / SPOKEN_WORDS_PER_SECOND + pauses


def plainly(error: Exception) -> str:
    if isinstance(error, requests.HTTPError):
        return f"it answered {error.response.status_code}"
    if isinstance(error, requests.Timeout):
        return "it did not answer in time"
    if isinstance(error, requests.ConnectionError):
        return "could not connect"
    return "it did not answer JSON"
