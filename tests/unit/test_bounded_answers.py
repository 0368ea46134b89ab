"""The response hook every API client of the app reads its answers through: no answer, however large,
packed or nested, is held or parsed beyond its bounds, and a sound one reaches the SDK as it came.
Answers are built in memory, as urllib3 hands them to requests; the account APIs' every shape,
over real HTTPS, is tests/integration/test_setup_answer_shapes.py."""

from __future__ import annotations

import gzip
import io

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

from stream_audio.bounded_json import UnreadableAnswer, bounded_answers

MOST_BYTES = 1000


class CountedBody(io.BytesIO):
    """A body that remembers how much of it was read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def answer(body: bytes | CountedBody, status: int = 200, **headers: str) -> requests.Response:
    """`body` as requests builds a Response from urllib3's, unread."""
    readable = body if isinstance(body, CountedBody) else CountedBody(body)
    raw = HTTPResponse(body=readable, headers=headers, status=status, preload_content=False, decode_content=True)
    return HTTPAdapter().build_response(requests.Request("GET", "https://api.nexmo.com/").prepare(), raw)


def test_a_sound_answer_reaches_the_sdk_as_it_came():
    response = answer(b'{"count": 1}')

    bounded_answers(MOST_BYTES)(response)

    assert response.json() == {"count": 1}


def test_an_answer_over_the_bound_is_refused_having_read_little_more_than_the_bound():
    body = CountedBody(b"[" + b" " * 10_000_000 + b"]")

    with pytest.raises(UnreadableAnswer, match="a 200 answer not read: over 1,000 bytes"):
        bounded_answers(MOST_BYTES)(answer(body))

    assert body.bytes_read < 100_000


def test_a_packed_answer_is_bounded_by_its_size_unpacked():
    packed = gzip.compress(b"[" + b" " * 100_000_000 + b"]")  # 100 MB in about 100 KB
    body = CountedBody(packed)

    with pytest.raises(UnreadableAnswer, match="over 1,000 bytes"):
        bounded_answers(MOST_BYTES)(answer(body, **{"Content-Encoding": "gzip"}))

    assert body.bytes_read < len(packed)


def test_an_answer_nested_too_deep_is_refused_unparsed_whatever_its_status():
    for status in (200, 500):
        with pytest.raises(UnreadableAnswer, match=f"a {status} answer not read: JSON nested 300 deep, more than 20"):
            bounded_answers(MOST_BYTES)(answer(b"[" * 300 + b"]" * 300, status))


def test_a_success_that_is_not_json_is_refused_and_a_failure_that_is_not_is_left_to_the_sdk():
    with pytest.raises(UnreadableAnswer, match="a 200 answer not read: not JSON"):
        bounded_answers(MOST_BYTES)(answer(b"<html>Gateway</html>"))

    failed = answer(b"<html>Gateway</html>", 502)
    bounded_answers(MOST_BYTES)(failed)
    assert failed.status_code == 502 and failed.text == "<html>Gateway</html>"


def test_an_empty_answer_passes():
    response = answer(b"", 204)

    bounded_answers(MOST_BYTES)(response)

    assert response.content == b""
