"""The browser the pages' tests use starts offline and renders a page served on loopback."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.web.browser import save_screenshot

pytestmark = pytest.mark.slow


@pytest.fixture
def static_page() -> Iterator[str]:
    body = (
        b"<!doctype html><title>probe</title><label for=q>Query</label><input id=q><p id=out></p>"
        b"<script>document.getElementById('q').addEventListener('input', e => "
        b"document.getElementById('out').textContent = e.target.value.toUpperCase())</script>"
    )

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


def test_chromium_runs_scripts_and_takes_screenshots(page: Page, static_page: str) -> None:
    page.goto(static_page)
    page.get_by_label("Query").fill("hawk")
    assert page.locator("#out").text_content() == "HAWK"
    assert save_screenshot(page, "probe").stat().st_size > 0
