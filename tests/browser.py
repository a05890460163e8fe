"""Helpers for real-browser tests: Debian's Chromium driven by Playwright, plus a real worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import connection, connections

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    # Nothing but loopback: every other name fails to resolve and every other address goes to a dead
    # proxy (Chromium never proxies loopback), so the browser cannot phone home during the tests either.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
]
ROOT = Path(__file__).resolve().parent.parent


def database_url_for_worker() -> str:
    """The URL of the database the test server uses, for a worker running in another process."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    credentials = settings["USER"] or ""
    if settings.get("PASSWORD"):
        credentials += f":{settings['PASSWORD']}"
    host = settings["HOST"] or "127.0.0.1"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{credentials}@{host}{port}/{settings['NAME']}"


@contextmanager
def running_worker(media_root: Path):
    environment = {**os.environ, "DATABASE_URL": database_url_for_worker(), "MEDIA_ROOT": str(media_root)}
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2", "--no-startup-delay"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


@contextmanager
def chromium_page(*, width: int = 1280, height: int = 900, phone: bool = False, scale: float = 1):
    """A page of a fresh browser; `phone` makes it a touch screen that honours the viewport meta tag."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(
                viewport={"width": width, "height": height},
                is_mobile=phone,
                has_touch=phone,
                device_scale_factor=scale,
            )
            page.set_default_timeout(30_000)
            violations: list[str] = []
            page.on(
                "console",
                lambda message: (
                    violations.append(message.text) if "Content Security Policy" in message.text else None
                ),
            )
            yield page
            # Our own pages must run under our CSP: a refused script or style is a bug, not noise.
            assert not violations, f"Content Security Policy violations: {violations}"
        finally:
            browser.close()
            # While Playwright's event loop runs, Django keeps this thread's connections per context,
            # so queries made inside this block opened their own; close them here, or the session's
            # test database cannot be dropped on PostgreSQL ("being accessed by other users").
            connections.close_all()


def wait_until(page, expression: str, timeout_ms: int = 30_000, interval_ms: int = 100) -> None:
    """Poll a JavaScript expression until it is truthy.

    Playwright's wait_for_function evaluates its predicate with eval inside the page, which our
    Content Security Policy (rightly) forbids; page.evaluate goes through the DevTools protocol.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        if page.evaluate(expression):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_ms} ms: {expression}")
        page.wait_for_timeout(interval_ms)


def log_in(page, live_server_url: str, username: str, password: str) -> None:
    page.goto(f"{live_server_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server_url}/catalog/")
