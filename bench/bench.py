"""The performance benchmark: `make bench`.

Starts `python app.py` and the Voice API stand-in (each in its own process, so neither
shares a GIL with the load driver), drives the loads issues 4 and 11 name, and prints one table
of figures against their targets. It is a benchmark, not a test: nothing here fails CI.
"""

from __future__ import annotations

import http.client
import json
import logging
import multiprocessing
import os
import platform
import selectors
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from stream_audio.settings import Settings
from stream_audio.voice_api import make_voice_client
from tools.app_process import PROJECT_DIR, AppProcess, free_port, user_environment
from tools.credentials import throwaway_credentials
from tools.standins.voice_api import VoiceApiStandIn

APPLICATION_ID = "be4c0000-0000-4000-8000-000000000000"
CALL_TOKEN = "bench-call-token-0123456789"
BURST_CALLS = 300
WAITING_CALLS = 1000
WAITING_ANSWER_RATE = 100  # answered events per second while 1,000 calls build up
STREAM_SECONDS = 15  # longer than it takes to answer 1,000 calls at that rate
STALL_SECONDS = 2
DRIVER_THREADS = 16
SLOW_CLIENTS = 300
LIMITED_BURSTS = (30, 100)  # calls answered within a second, against a Voice API enforcing 3/s and 15/s
LIMITED_STREAM_SECONDS = 20


# --- The stand-in, in a process of its own ------------------------------------------


def _serve_standin(control, public_pem: str, ssl_context: ssl.SSLContext) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    standin = VoiceApiStandIn(APPLICATION_ID, public_pem, ssl_context)
    control.send(standin.host)
    while True:
        command, args = control.recv()
        if command == "close":
            standin.close()
            control.send(None)
            return
        if command == "arrivals":
            control.send([(r.step, r.call_uuid, r.at) for r in standin.received])
        elif command == "refused":
            control.send(len(standin.refused))
        else:
            control.send(getattr(standin, command)(*args))


class StandInProcess:
    def __init__(self, public_pem: str, ssl_context: ssl.SSLContext) -> None:
        self._control, child = multiprocessing.Pipe()
        # Forked, so the SSL context is inherited rather than pickled.
        self._process = multiprocessing.get_context("fork").Process(
            target=_serve_standin, args=(child, public_pem, ssl_context), daemon=True
        )
        self._process.start()
        self.host = self._control.recv()

    def __getattr__(self, command: str) -> Callable:
        def call(*args):
            self._control.send((command, args))
            return self._control.recv()

        return call

    def all_arrivals(self, step: str) -> dict[str, list[float]]:
        """When each of each call's `step` requests arrived (time.monotonic)."""
        self._control.send(("arrivals", ()))
        found: dict[str, list[float]] = {}
        for arrived_step, call_uuid, at in self._control.recv():
            if arrived_step == step:
                found.setdefault(call_uuid, []).append(at)
        return found

    def arrivals(self, step: str) -> dict[str, float]:
        """When each call's first `step` request arrived (time.monotonic)."""
        self._control.send(("arrivals", ()))
        found: dict[str, float] = {}
        for arrived_step, call_uuid, at in self._control.recv():
            if arrived_step == step:
                found.setdefault(call_uuid, at)
        return found


# --- The app, as `python app.py` -----------------------------------------------------


class BenchedApp(AppProcess):
    """`python app.py`, driven with http.client: lighter than requests, so the driver costs little."""

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body, {"Content-Type": "application/json"} if body else {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def place_call(self) -> str:
        """GET /call, waiting as told whenever the app says the account's call-creation limit is reached."""
        while (answer := self.request("GET", f"/call?token={CALL_TOKEN}"))[0] == 429:
            time.sleep(1)  # the app's Retry-After
        status, body = answer
        assert status == 200, body
        return json.loads(body)["uuid"]

    def send_event(self, call_uuid: str, status: str) -> float:
        """POST one event as Vonage does; the seconds until the app answered."""
        started = time.perf_counter()
        answer, _ = self.request("POST", "/webhooks/events", json.dumps({"uuid": call_uuid, "status": status}).encode())
        assert answer == 204, answer
        return time.perf_counter() - started

    def threads_and_rss_mb(self) -> tuple[int, float]:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines())
        return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024


# --- Loads -------------------------------------------------------------------------


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


# --- The run -------------------------------------------------------------------------


def start_up(env: dict[str, str], work: Path, runs: int = 9) -> list[tuple[str, str, str]]:
    """`import app` in a fresh interpreter, and `python app.py` from its start to its first HTTP answer: medians."""
    timed_import = "import time; started = time.perf_counter(); import app; print(time.perf_counter() - started)"
    command = [sys.executable, "-c", timed_import]
    imports = [float(subprocess.check_output(command, cwd=PROJECT_DIR, env=env, text=True)) for _ in range(runs)]
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
        ("`import app`, median of 9", "< 0.35 s", f"{statistics.median(imports):.3f} s"),
        ("`python app.py` to its first answer, median of 9", "-", f"{statistics.median(first_answers):.3f} s"),
    ]


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="stream-audio-bench-"))
    credentials = throwaway_credentials(work)
    os.environ |= {"REQUESTS_CA_BUNDLE": str(credentials.ca_path), "NO_PROXY": "127.0.0.1"}

    standin = StandInProcess(credentials.public_pem, credentials.server_context)
    port = free_port()
    env = user_environment(
        VONAGE_APPLICATION_ID=APPLICATION_ID,
        VONAGE_APPLICATION_PRIVATE_KEY_PATH=str(credentials.private_key_path),
        VONAGE_NUMBER="447700900000",
        TO_NUMBER="447700900001",
        BASE_URL=f"http://127.0.0.1:{port}",
        PORT=str(port),
        STREAM_SECONDS=str(STREAM_SECONDS),
        VONAGE_API_HOST=standin.host,
        VONAGE_API_TIMEOUT="10",
        MAX_ACTIVE_CALLS=str(WAITING_CALLS + BURST_CALLS),
        CALL_TOKEN=CALL_TOKEN,
        # The app's own speed, as for an account whose limits Vonage raised; the last section keeps to 3/s and 15/s.
        VONAGE_CALLS_PER_SECOND="1000",
        VONAGE_REQUESTS_PER_SECOND="1000",
    )
    settings = Settings.from_env(env)
    rows: list[tuple[str, str, str]] = []
    print(
        f"Benchmarking on {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}; logs in {work}",
        flush=True,
    )

    print("- start-up ...", flush=True)
    rows += start_up(env, work)

    print("- Voice API request CPU ...", flush=True)
    rows.append(("Voice API request overhead (CPU per request)", "< 3 ms", f"{request_cpu_ms(settings):.2f} ms"))

    app = BenchedApp(env, work / "app.log")
    if not app.wait_until_serving():
        raise SystemExit(f"app.py did not start:\n{app.log()}")
    try:
        warm_up = app.place_call()
        app.send_event(warm_up, "answered")
        wait_for(standin, "start_stream", [warm_up], 5)
        app.send_event(warm_up, "completed")
        idle_threads, idle_rss = app.threads_and_rss_mb()

        print("- /call ...", flush=True)
        call_times = []
        calls = []
        for _ in range(200):
            started = time.perf_counter()
            calls.append(app.place_call())
            call_times.append(time.perf_counter() - started)
        end_calls(app, calls)
        rows.append(("/call end to end, median", "< 10 ms", f"{statistics.median(call_times) * 1000:.1f} ms"))

        print(f"- {BURST_CALLS} calls answered within one second ...", flush=True)
        calls = place_calls(app, BURST_CALLS)
        sent = paced(app, calls, "answered", BURST_CALLS)
        started_at = wait_for(standin, "start_stream", calls, 10)
        webhook_ms = [answer * 1000 for _, answer in sent.values()]
        to_stream_ms = [(started_at[c] - sent[c][0]) * 1000 for c in calls if c in started_at]
        rows.append((f"webhook answer p99, {BURST_CALLS} answered in 1 s", "< 10 ms", f"{p99(webhook_ms):.1f} ms"))
        rows.append(
            (
                f"answered -> stream start leaves the app, p99 ({BURST_CALLS} in 1 s)",
                "< 100 ms",
                f"{p99(to_stream_ms):.1f} ms" + missing(calls, started_at),
            )
        )
        end_calls(app, calls)

        print("- webhook events per second ...", flush=True)
        calls = place_calls(app, 50)
        events = [calls[i % len(calls)] for i in range(3000)]
        started = time.monotonic()
        with ThreadPoolExecutor(DRIVER_THREADS) as pool:
            list(pool.map(lambda call_uuid: app.send_event(call_uuid, "ringing"), events))
        rows.append(("webhook events per second sustained", "-", f"{len(events) / (time.monotonic() - started):.0f}"))
        end_calls(app, calls)

        print(f"- {WAITING_CALLS} calls waiting for their hang-up (about {STREAM_SECONDS + 15} s) ...", flush=True)
        calls = place_calls(app, WAITING_CALLS)
        paced(app, calls, "answered", WAITING_ANSWER_RATE)
        started_at = wait_for(standin, "start_stream", calls, 10)
        threads, rss = app.threads_and_rss_mb()
        rows.append((f"threads with {WAITING_CALLS} calls waiting", "< 40", f"{threads} (idle: {idle_threads})"))
        rows.append(
            (
                f"memory over idle with {WAITING_CALLS} calls waiting",
                "< 30 MB",
                f"{rss - idle_rss:.1f} MB (idle: {idle_rss:.0f} MB)",
            )
        )
        hung_up_at = wait_for(standin, "hangup", calls, STREAM_SECONDS + 10)
        errors_ms = [
            (hung_up_at[c] - started_at[c] - STREAM_SECONDS) * 1000
            for c in calls
            if c in hung_up_at and c in started_at
        ]
        rows.append(
            (
                f"hang-up timing error p99, {WAITING_CALLS} calls",
                "< 100 ms",
                f"{p99(errors_ms):.1f} ms (median {statistics.median(errors_ms):.1f})" + missing(calls, hung_up_at),
            )
        )
        end_calls(app, calls)

        print(f"- {SLOW_CLIENTS} slow clients (about 25 s) ...", flush=True)
        rows += slow_clients(app, SLOW_CLIENTS)

        print(
            f"- {BURST_CALLS} calls answered within one second, the Voice API stalling {STALL_SECONDS} s ...",
            flush=True,
        )
        calls = place_calls(app, BURST_CALLS)
        for step in ("start_stream", "stop_stream", "hangup"):
            standin.misbehave(step, None, STALL_SECONDS)
        sent = paced(app, calls, "answered", BURST_CALLS)
        webhook_ms = [answer * 1000 for _, answer in sent.values()]
        rows.append(
            (f"webhook answer p99, Voice API stalling {STALL_SECONDS} s", "< 10 ms", f"{p99(webhook_ms):.1f} ms")
        )
    finally:
        app.stop()
    try:
        rows += within_the_limits(standin, env, work)
    finally:
        standin.close()

    print_table(rows)
    return 0


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


def missing(calls: list[str], arrived: dict[str, float]) -> str:
    absent = sum(c not in arrived for c in calls)
    return f" ({absent} never arrived)" if absent else ""


def print_table(rows: list[tuple[str, str, str]]) -> None:
    widths = [max(len(row[i]) for row in [("measure", "target", "measured"), *rows]) for i in range(3)]
    line = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    print()
    print(line.format("measure", "target", "measured"))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line.format(*row))


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
