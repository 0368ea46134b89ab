"""The performance benchmark: `make bench`.

Starts `python app.py` and the Voice API stand-in (each in its own process, so neither shares a
GIL with the load driver), drives the loads in bench/loads.py, and prints one table of figures
against their targets. It is a benchmark, not a test: nothing here fails CI.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.loads import (
    DRIVER_THREADS,
    end_calls,
    missing,
    p99,
    paced,
    place_calls,
    request_cpu_ms,
    slow_clients,
    start_up,
    wait_for,
    within_the_limits,
)
from bench.processes import APPLICATION_ID, CALL_TOKEN, BenchedApp, StandInProcess
from stream_audio.settings import Settings
from tools.app_process import free_port, user_environment
from tools.credentials import throwaway_credentials

BURST_CALLS = 300
WAITING_CALLS = 1000
WAITING_ANSWER_RATE = 100  # answered events per second while 1,000 calls build up
STREAM_SECONDS = 15  # longer than it takes to answer 1,000 calls at that rate
STALL_SECONDS = 2
SLOW_CLIENTS = 300


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
