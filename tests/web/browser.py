"""Headless Debian Chromium driven by Playwright, for the results pages' tests.

Playwright's own browser downloads are never used (no network): it drives the machine's ``/usr/bin/chromium``
(Debian's ``chromium`` package, which ``.ci/run`` installs) through ``executable_path``. The flags keep Chromium from
reaching for Google's hosts, which this machine's closed network would refuse at every start.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM_ENV = "HAWK_TEST_CHROMIUM"
"""Overrides the browser binary (default: Debian's ``chromium`` on PATH)."""
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
"""Where page screenshots are saved as test artefacts (not committed; a few are copied to docs/ by hand)."""
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
)


def chromium_path() -> str:
    path = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium")
    if path is None:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    return path


@contextlib.contextmanager
def launched_chromium() -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright's sync API (which keeps an event loop running in this thread until
    it closes: build anything that runs asyncio, such as Inspect's evals, before)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per test module: closed before the worker moves to another module, whose tests may run
    asyncio in this thread (Inspect's evals), which Playwright's running event loop would refuse."""
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def browser_context(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test: no cookies or storage carried between tests."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Page:
    return browser_context.new_page()


def save_screenshot(page: Page, name: str) -> Path:
    """Saves a full-page screenshot as a test artefact and returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextlib.contextmanager
def serving_html(body: bytes) -> Iterator[str]:
    """A loopback HTTP server answering every GET with the page ``body``; yields its base URL (``http://.../``)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
