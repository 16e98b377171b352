"""The eval-set, compare and scan pages in headless Chromium against ``hawk serve`` on loopback, signed in with a
real token of the OpenID provider: state in the URL (reload and back restore it), keyboard and labels, the CSV
download, nothing requested from any other host, 404 for what the user's groups do not cover; screenshots saved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page

from tests.api.conftest import serving
from tests.web.browser import save_screenshot
from tests.web.results_fixtures import group_token

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("results_warehouse")]


@pytest.fixture
def site(results_signed_app: FastAPI) -> Iterator[str]:
    with serving(results_signed_app) as base_url:
        yield base_url


@pytest.fixture
def alpha_headers(oidc_provider: Any) -> dict[str, str]:
    return group_token(oidc_provider, "alpha")


@pytest.fixture
def alpha(chromium: Browser, alpha_headers: dict[str, str], site: str) -> Iterator[Page]:
    """A page signed in as a user of group alpha (bearer token on every request), recording every host asked."""
    context: BrowserContext = chromium.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, extra_http_headers=alpha_headers
    )
    page = context.new_page()
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).netloc))
    try:
        yield page
        assert set(hosts) <= {urlsplit(site).netloc}, f"requests to other hosts: {set(hosts)}"
    finally:
        context.close()


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_eval_set_page_keyboard_metric_choice_and_history(alpha: Page, site: str) -> None:
    alpha.goto(f"{site}/eval-sets/res-a")
    assert alpha.locator("#heatmap svg").is_visible()
    assert alpha.locator("#cells tbody tr").count() == 4
    save_screenshot(alpha, "eval-set")
    alpha.keyboard.press("Tab")
    assert alpha.evaluate("document.activeElement.className") == "skip"
    alpha.keyboard.press("Enter")
    assert alpha.evaluate("document.activeElement.id") == "main"
    metric = alpha.get_by_label("Metric", exact=True)
    metric.focus()
    metric.select_option("match/accuracy")
    alpha.keyboard.press("Tab")
    alpha.keyboard.press("Enter")  # the Show button
    alpha.wait_for_url("**metric=match%2Faccuracy")
    alpha.reload()
    assert alpha.get_by_label("Metric", exact=True).input_value() == "match/accuracy"
    alpha.go_back()
    assert "metric" not in query(alpha)
    # every heatmap cell is a link to its samples, reachable by keyboard
    cell_links = alpha.locator("#heatmap svg a")
    assert cell_links.count() == 4
    assert all("/samples?" in (cell_links.nth(i).get_attribute("href") or "") for i in range(4))


def test_compare_page_lists_differing_samples_in_the_url(alpha: Page, site: str) -> None:
    alpha.goto(f"{site}/?selected=res-a")
    alpha.get_by_label("Select res-b for comparison").check()
    alpha.get_by_role("button", name="Compare selected").click()
    alpha.wait_for_url("**/compare?**")
    assert set(query(alpha)["eval_set"]) == {"res-a", "res-b"}
    assert alpha.locator("#difference-chart svg").is_visible()
    save_screenshot(alpha, "compare")
    alpha.goto(f"{site}/compare?eval_set=res-a&eval_set=res-b")
    alpha.locator('#comparison tr[data-task="add"][data-model="mockllm/m2"] [data-differing] a').click()
    alpha.wait_for_url("**task=add**")
    assert query(alpha)["model"] == ["mockllm/m2"]
    pairs = alpha.locator("#differing-samples tbody tr")
    assert pairs.count() == 3  # res-a's m2 got 1, 2 and 3 wrong; res-b's none
    save_screenshot(alpha, "compare-differing")
    alpha.reload()
    assert alpha.locator("#differing-samples tbody tr").count() == 3
    alpha.go_back()
    assert "task" not in query(alpha)


def test_scan_page_filter_and_csv_download(alpha: Page, site: str, alpha_headers: dict[str, str]) -> None:
    alpha.goto(f"{site}/scans")
    alpha.get_by_role("link", name="scan of res-a").click()
    alpha.wait_for_url("**/scans/scan-a")
    assert alpha.locator("figure.distribution svg").count() == 1
    alpha.get_by_label("Scanner", exact=True).select_option("mentions")
    alpha.get_by_role("button", name="Show").click()
    alpha.wait_for_url("**scanner=mentions**")
    assert alpha.locator("#flagged-results tbody a").count() > 0
    save_screenshot(alpha, "scan")
    with alpha.expect_download() as download:
        alpha.get_by_role("link", name="Download all results (CSV)").click()
    assert download.value.failure() is None, (download.value.url, download.value.failure())
    downloaded = open(download.value.path(), encoding="utf-8").read()
    api = httpx.get(f"{site}/api/v1/scans/scan-a/results.csv", headers=alpha_headers, timeout=30)
    assert downloaded == api.text and downloaded.count("\n") > 1


def test_pages_of_another_group_answer_404(alpha: Page, site: str) -> None:
    for path in ("/eval-sets/res-g", "/compare?eval_set=res-a&eval_set=res-g", "/scans/scan-g"):
        response = alpha.goto(f"{site}{path}")
        assert response is not None and response.status == 404, path
        assert "res-g" not in alpha.content().split("<main", 1)[1]
    save_screenshot(alpha, "hidden-eval-set")
