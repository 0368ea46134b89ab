"""Where Vonage reaches this app: BASE_URL as given, or else the https tunnel the local ngrok agent
runs to PORT, asked for afresh each time, since a restarted ngrok has a new URL.

The answer NCCO route asks too, for a call not on record, and strangers can reach it: so a slow
agent must not hold the server's threads. Requests that need the URL while the agent is being
asked share that one question, and wait for it at most NGROK_DEADLINE_SECONDS from when it was
put; beyond MOST_WAITING of them, or while a question past its deadline is still unanswered, the
refusal comes at once. No answer is kept once given: the next call asks again, so a restarted
ngrok's new URL is used at once, and a burst arriving while the agent is asked asks it once.
"""

from __future__ import annotations

import threading
import time

from stream_audio.ngrok_tunnels import NGROK_DEADLINE_SECONDS, NgrokAgent, NoPublicUrl
from stream_audio.settings import Settings

__all__ = ["NoPublicUrl", "PublicUrl"]

# Half of the server's 8 threads (stream_audio/server.py): the rest stay free for Vonage's webhooks.
MOST_WAITING = 4


class _Question:
    """One GET /tunnels under way, in a thread of its own, so that whoever waits for it can stop
    waiting at the deadline even if the agent is still trickling out its answer."""

    def __init__(self, agent: NgrokAgent) -> None:
        self.deadline = time.monotonic() + NGROK_DEADLINE_SECONDS
        self.answered = threading.Event()
        self.url = ""
        self.refusal: NoPublicUrl | None = None
        threading.Thread(target=self._ask, args=(agent,), name="ngrok-question", daemon=True).start()

    def _ask(self, agent: NgrokAgent) -> None:
        try:
            self.url = agent.tunnel_url(self.deadline)
        except NoPublicUrl as why:
            self.refusal = why
        finally:
            self.answered.set()

    @property
    def overdue(self) -> bool:
        return not self.answered.is_set() and time.monotonic() >= self.deadline


class PublicUrl:
    def __init__(self, settings: Settings) -> None:
        self._base_url = settings.base_url
        self._agent = NgrokAgent(settings.ngrok_api_url, settings.port)
        self._lock = threading.Lock()
        self._question: _Question | None = None
        self._waiting = 0

    def current(self) -> str:
        """The public base URL right now, without a trailing slash, or NoPublicUrl saying what to do."""
        if self._base_url:
            return self._base_url
        question = self._join_question()
        try:
            answered = question.answered.wait(question.deadline - time.monotonic())
        finally:
            with self._lock:
                self._waiting -= 1
        if not answered:
            raise self._agent.too_slow()
        if question.refusal:
            raise NoPublicUrl(str(question.refusal))
        return question.url

    def _join_question(self) -> _Question:
        """The question under way, or a new one; NoPublicUrl at once if too many wait or the last is overdue."""
        with self._lock:
            if self._question is not None and self._question.overdue:
                raise self._agent.too_slow()
            if self._waiting >= MOST_WAITING:
                raise self._agent.refusal(
                    f"The ngrok agent at {self._agent.api_url} is slow to answer: {MOST_WAITING} requests wait for it."
                )
            if self._question is None or self._question.answered.is_set():
                self._question = _Question(self._agent)
            self._waiting += 1
            return self._question
