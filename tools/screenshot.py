"""`make screenshot`: docs/call-page.png (and docs/call-page-360.png, a phone's width), made from
the real call page mid-call, in the Chromium and Playwright set-up the browser tests use.

Runs `make demo ARGS=--browser` as a person would, opens the link it prints, lets the
Vonage-like stand-in answer, stops and plays the music once so the timeline has them,
and photographs the page while the music plays and the countdown runs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

from playwright.sync_api import expect, sync_playwright

from tools.app_process import PROJECT_DIR

CHROMIUM = "/usr/bin/chromium"
SHOTS = {"call-page.png": 720, "call-page-360.png": 360}


def main() -> int:
    demo = subprocess.Popen(
        [sys.executable, "-m", "tools.demo", "--browser", "--stream-seconds", "60"],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        link = _printed_link(demo)
        threading.Thread(target=demo.stdout.read, daemon=True).start()  # the rest of its timeline
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for name, width in SHOTS.items():
                page = browser.new_page(viewport={"width": width, "height": 760})
                page.goto(link)
                headline = page.get_by_role("status").first
                expect(headline).to_have_text("Music playing", timeout=10_000)
                page.get_by_role("button", name="Stop music").click()
                expect(headline).to_have_text("Music stopped")
                page.get_by_role("button", name="Play music").click()
                expect(headline).to_have_text("Music playing")
                page.wait_for_timeout(1500)
                page.screenshot(path=PROJECT_DIR / "docs" / name, full_page=True)
                print(f"docs/{name}: {width} px wide")
                page.get_by_role("button", name="Hang up").click()
                expect(headline).to_have_text(re.compile("Ended"))
            browser.close()
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # as Ctrl-C in its terminal
        demo.wait(timeout=20)
    return 0


def _printed_link(demo: subprocess.Popen) -> str:
    for line in demo.stdout:
        if found := re.search(r"Open (\S+/call\?token=\S+)", line):
            return found[1]
    raise SystemExit("make demo ARGS=--browser printed no link")


if __name__ == "__main__":
    sys.exit(main())
