"""The loads the bench drives and what it measures of each: start-up, a request's CPU, bursts of
calls and events, slow clients, and bursts under the account's real limits."""

from __future__ import annotations

import selectors
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.processes import BenchedApp, StandInProcess
from stream_audio.settings import Settings
from stream_audio.voice_api import make_voice_client
from tools.app_process import PROJECT_DIR

DRIVER_THREADS = 16
LIMITED_BURSTS = (30, 100)  # calls answered within a second, against a Voice API enforcing 3/s and 15/s
LIMITED_STREAM_SECONDS = 20


def place_calls(app: BenchedApp, count: int) -> list[str]:
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda _: app.place_call(), range(count)))


def paced(app: BenchedApp, calls: Iterable[str], status: str, per_second: float) -> dict[str, tuple[float, float]]:
    """Send `status` for each call, evenly spaced; per call: (monotonic time sent, seconds to answer)."""
    calls = list(calls)
    start = time.monotonic() + 0.1
    results: dict[str, tuple[float, float]] = {}

    def send(numbered: tuple[int, str]) -> None:
        index, call_uuid = numbered
        time.sleep(max(0.0, start + index / per_second - time.monotonic()))
        sent = time.monotonic()
        results[call_uuid] = (sent, app.send_event(call_uuid, status))

    with ThreadPoolExecutor(DRIVER_THREADS) as pool:
        list(pool.map(send, enumerate(calls)))
    return results


def wait_for(standin: StandInProcess, step: str, calls: list[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        arrived = standin.arrivals(step)
        if all(call_uuid in arrived for call_uuid in calls) or time.monotonic() > deadline:
            return arrived
        time.sleep(0.2)


def end_calls(app: BenchedApp, calls: list[str]) -> None:
    with ThreadPoolExecutor(DRIVER_THREADS) as pool:
        list(pool.map(lambda call_uuid: app.send_event(call_uuid, "completed"), calls))


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def missing(calls: list[str], arrived: dict[str, float]) -> str:
    absent = sum(c not in arrived for c in calls)
    return f" ({absent} never arrived)" if absent else ""


def request_cpu_ms(settings: Settings, count: int = 300) -> float:
    """CPU per Voice API request in the app's own client: everything but the network wait."""
    voice = make_voice_client(settings)
    from vonage_voice import AudioStreamOptions, CreateCallRequest, Phone, ToPhone

    call_uuid = voice.create_call(
        CreateCallRequest(
            to=[ToPhone(number="447700900001")], from_=Phone(number="447700900000"), answer_url=["http://127.0.0.1/a"]
        )
    ).uuid
    options = AudioStreamOptions(stream_url=["http://127.0.0.1/audio/music.mp3"], loop=0)
    voice.play_audio_into_call(call_uuid, options)  # the first request signs the JWT
    started = time.thread_time()
    for _ in range(count // 2):
        voice.play_audio_into_call(call_uuid, options)
        voice.stop_audio_stream(call_uuid)
    return (time.thread_time() - started) / count * 1000


def slow_clients(app: BenchedApp, count: int) -> list[tuple[str, str, str]]:
    """`count` clients that send half a request, or nothing, and wait: what it costs, and how soon they go."""
    clients = []
    for n in range(count):
        client = socket.create_connection(("127.0.0.1", app.port), timeout=5)
        client.sendall(
            [
                b"",
                b"GET /call HTTP/1.1\r\nHost: x\r\n",
                b"POST /webhooks/events HTTP/1.1\r\n"
                b"Host: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
            ][n % 3]
        )
        clients.append(client)
    last_sent = time.monotonic()
    time.sleep(0.5)
    threads, _ = app.threads_and_rss_mb()
    started = time.perf_counter()
    call_uuid = app.place_call()
    call_ms = (time.perf_counter() - started) * 1000
    webhook_ms = app.send_event(call_uuid, "completed") * 1000
    waiting = selectors.DefaultSelector()
    for client in clients:
        waiting.register(client, selectors.EVENT_READ)
    dropped = []
    while waiting.get_map() and time.monotonic() < last_sent + 60:
        for key, _ in waiting.select(timeout=1):
            key.fileobj.recv(1024)
            waiting.unregister(key.fileobj)
            dropped.append(time.monotonic() - last_sent)
    for client in clients:
        client.close()
    return [
        (f"threads with {count} slow clients", "< 100", f"{threads}"),
        (f"/call with {count} slow clients", "< 1 s", f"{call_ms:.1f} ms"),
        (f"webhook answer with {count} slow clients", "< 1 s", f"{webhook_ms:.1f} ms"),
        (
            "slow clients dropped after",
            "< 30 s",
            f"{min(dropped):.1f}-{max(dropped):.1f} s"
            + (f" ({count - len(dropped)} never dropped)" if len(dropped) < count else ""),
        ),
    ]


def start_up(env: dict[str, str], work: Path, runs: int = 9) -> list[tuple[str, str, str]]:
    """`import app` in a fresh interpreter, and `python app.py` from its start to its first HTTP
    answer: medians of `runs`, as a user starts it, with Python's bytecode cache (some machines turn
    it off with PYTHONDONTWRITEBYTECODE)."""
    env = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", "import app"], cwd=PROJECT_DIR, env=env, check=True)  # the cache
    imports = [_import_seconds("app", env) for _ in range(runs)]
    first_answers = []
    for run in range(runs):
        started = time.perf_counter()
        app = BenchedApp(env, work / f"start-up-{run}.log")
        while True:
            try:
                app.request("GET", "/audio/answer.json")
                break
            except OSError:
                time.sleep(0.005)
        first_answers.append(time.perf_counter() - started)
        app.stop()
    return [
        (f"`import app`, median of {runs}", "< 0.35 s", f"{statistics.median(imports):.3f} s"),
        (f"`python app.py` to its first answer, median of {runs}", "-", f"{statistics.median(first_answers):.3f} s"),
    ]


def _import_seconds(modules: str, env: dict[str, str]) -> float:
    timed = f"import time; started = time.perf_counter(); import {modules}; print(time.perf_counter() - started)"
    return float(subprocess.check_output([sys.executable, "-c", timed], cwd=PROJECT_DIR, env=env, text=True))


def within_the_limits(standin: StandInProcess, env: dict[str, str], work: Path) -> list[tuple[str, str, str]]:
    """Bursts of calls answered within a second, against a Voice API refusing what goes over 3/s and 15/s."""
    standin.behave()
    standin.enforce_limits(3, 15)
    env = {
        **env,
        "VONAGE_CALLS_PER_SECOND": "3",
        "VONAGE_REQUESTS_PER_SECOND": "15",
        "STREAM_SECONDS": str(LIMITED_STREAM_SECONDS),
    }
    rows = []
    for count in LIMITED_BURSTS:
        print(
            f"- {count} calls answered within one second, Voice API enforcing 3/s and 15/s "
            f"(about {count // 3 + LIMITED_STREAM_SECONDS + count // 5} s) ...",
            flush=True,
        )
        app = BenchedApp(env, work / f"app-limited-{count}.log")
        if not app.wait_until_serving():
            raise SystemExit(f"app.py did not start:\n{app.log()}")
        try:
            refused_before = standin.refused()
            calls = place_calls(app, count)
            paced(app, calls, "answered", count)
            wait_for(standin, "hangup", calls, LIMITED_STREAM_SECONDS + count)
            starts, hangups = standin.all_arrivals("start_stream"), standin.all_arrivals("hangup")
            refused = standin.refused() - refused_before
            end_calls(app, calls)
        finally:
            app.stop()
        started = sum(len(starts.get(c, [])) == 1 for c in calls)
        hung_up_once = sum(len(hangups.get(c, [])) == 1 for c in calls)
        lateness = [
            hangups[c][0] - starts[c][0] - LIMITED_STREAM_SECONDS for c in calls if c in hangups and c in starts
        ]
        # Each ending is two requests (stop, hang-up) at 15 a second: the last of `count` endings
        # can come no sooner than 2 x count / 15 s after the first is due.
        least = 2 * count / 15
        ending_span = (
            max(hangups[c][0] for c in calls if c in hangups)
            - min(starts[c][0] for c in calls if c in starts)
            - LIMITED_STREAM_SECONDS
        )
        rows += [
            (f"{count} calls under the limits: hung up once each", f"{count}/{count}", f"{hung_up_once}/{count}"),
            (
                f"{count} calls under the limits: music started (too late for the rest: hung up)",
                "-",
                f"{started}/{count}",
            ),
            (f"{count} calls under the limits: requests Vonage refused (429)", "0", str(refused)),
            (
                f"{count} calls under the limits: hang-up lateness, min-max",
                "-",
                f"{min(lateness):.2f}-{max(lateness):.2f} s",
            ),
            (
                f"{count} calls under the limits: first due to last hang-up, vs {least:.1f} s the rate allows",
                f"< {least * 1.1:.1f} s",
                f"{ending_span:.1f} s",
            ),
        ]
    return rows
