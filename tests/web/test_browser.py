"""The browser the pages' tests use starts offline and renders a page served on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.web.browser import save_screenshot, serving_html

pytestmark = pytest.mark.slow


@pytest.fixture
def static_page() -> Iterator[str]:
    body = (
        b"<!doctype html><title>probe</title><label for=q>Query</label><input id=q><p id=out></p>"
        b"<script>document.getElementById('q').addEventListener('input', e => "
        b"document.getElementById('out').textContent = e.target.value.toUpperCase())</script>"
    )

    with serving_html(body) as url:
        yield url


def test_chromium_runs_scripts_and_takes_screenshots(page: Page, static_page: str) -> None:
    page.goto(static_page)
    page.get_by_label("Query").fill("hawk")
    assert page.locator("#out").text_content() == "HAWK"
    assert save_screenshot(page, "probe").stat().st_size > 0
