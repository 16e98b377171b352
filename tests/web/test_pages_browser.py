"""The results pages in headless Chromium against a running ``hawk serve`` (local mode: the local administrator;
signed in: bearer tokens of the OpenID provider): the figures each page shows checked against the warehouse, the
URL as the state (filters, sort, reload, back/forward), the CSV equal to the API's, keyboard use and labels, and no
request to any other host. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request
from sqlalchemy import text

from hawk_dagster.warehouse.engine import create_warehouse_engine
from tests.api.conftest import EVAL_SETS, SAMPLES_PER_EVAL_SET, Deployment
from tests.api.test_access_matrix import as_user
from tests.web.browser import save_screenshot

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("web-pages")]


def warehouse(deployment: Deployment, sql: str, **params: Any) -> list[Any]:
    engine = create_warehouse_engine(deployment.warehouse_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()


class Recorder:
    """Every request a page makes, to check that none leaves the server's host."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        page.on("request", self._record)

    def _record(self, request: Request) -> None:
        self.urls.append(request.url)

    def foreign(self, base_url: str) -> list[str]:
        host = urlsplit(base_url).netloc
        return [
            u
            for u in self.urls
            if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).netloc != host
        ]


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def assert_labelled(page: Page) -> None:
    """Every visible form control has an accessible name from a <label> (or aria-label)."""
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => e.type !== 'hidden')
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.outerHTML)"""
    )
    assert unlabelled == []


@pytest.fixture
def local_page(local_site: str, browser_context: BrowserContext) -> Iterator[tuple[Page, Recorder]]:
    page = browser_context.new_page()
    recorder = Recorder(page)
    yield page, recorder
    assert recorder.foreign(local_site) == []


def test_eval_sets_page(local_page: tuple[Page, Recorder], local_site: str, deployment: Deployment) -> None:
    page, _ = local_page
    page.goto(local_site + "/")
    counts = dict(
        warehouse(
            deployment,
            "SELECT e.eval_set_id, count(s.pk) FROM eval e LEFT JOIN sample s ON s.eval_pk = e.pk GROUP BY 1",
        )
    )
    rows = page.locator("tbody tr[data-eval-set]")
    assert rows.count() == len(EVAL_SETS)
    for eval_set_id in EVAL_SETS:
        cells = page.locator(f'tr[data-eval-set="{eval_set_id}"] td')
        assert cells.nth(7).inner_text().strip() == str(counts[eval_set_id]) == str(SAMPLES_PER_EVAL_SET)
        assert cells.nth(5).inner_text().strip() == "1"  # one task
        assert cells.nth(6).inner_text().strip() == "1"  # one model
    assert page.locator("#count").inner_text().startswith(f"{len(EVAL_SETS)} eval sets")
    assert_labelled(page)
    save_screenshot(page, "eval-sets")

    # the search travels in the URL; a reload and back/forward restore it
    page.get_by_label("Search name, id, tag or submitter").fill("owner-beta")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?search=owner-beta")
    assert [r.get_attribute("data-eval-set") for r in rows.all()] == ["es-beta"]
    page.reload()
    assert page.get_by_label("Search name, id, tag or submitter").input_value() == "owner-beta"
    assert rows.count() == 1
    page.go_back()
    page.wait_for_url(local_site + "/")
    assert rows.count() == len(EVAL_SETS)
    page.go_forward()
    page.wait_for_url("**/?search=owner-beta")
    assert rows.count() == 1

    # ticking eval sets keeps them in the URL (reload keeps them) and compare opens /compare with them
    page.goto(local_site + "/")
    page.get_by_label("Select es-alpha for comparison").check()
    page.get_by_label("Select es-gamma for comparison").check()
    assert query_of(page)["selected"] == ["es-alpha", "es-gamma"]
    page.reload()
    assert page.get_by_label("Select es-alpha for comparison").is_checked()
    assert not page.get_by_label("Select es-beta for comparison").is_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Compare selected").click()
    assert urlsplit(page.url).path == "/compare"
    assert sorted(query_of(page)["eval_set"]) == ["es-alpha", "es-gamma"]


def test_samples_page_filters_sort_and_csv(
    local_page: tuple[Page, Recorder], local_site: str, deployment: Deployment
) -> None:
    page, _ = local_page
    page.goto(local_site + "/samples")
    total = warehouse(deployment, "SELECT count(*) FROM sample")[0][0]
    assert page.locator("#total").inner_text() == str(total)
    assert page.locator("#samples tbody tr").count() == total
    assert_labelled(page)

    # filter with the keyboard and labels: two eval sets, a status, a score range
    page.get_by_label("Eval sets").select_option(["es-alpha", "es-beta"])
    page.get_by_label("success").check()
    page.get_by_label("Score from").fill("0")
    page.get_by_label("Score to").fill("1")
    page.get_by_label("Score to").press("Enter")
    page.wait_for_load_state()
    query = query_of(page)
    assert sorted(query["eval_set_id"]) == ["es-alpha", "es-beta"]
    assert query["status"] == ["success"] and query["score_min"] == ["0"] and query["score_max"] == ["1"]
    assert "search" not in query  # empty fields are left out of the link
    expected = warehouse(
        deployment,
        "SELECT count(*) FROM sample s JOIN eval e ON e.pk = s.eval_pk WHERE e.eval_set_id IN ('es-alpha', 'es-beta')"
        " AND s.status = 'success' AND s.headline_value BETWEEN 0 AND 1",
    )[0][0]
    assert page.locator("#total").inner_text() == str(expected)
    assert {c.inner_text() for c in page.locator("#samples tbody tr td:nth-child(2)").all()} <= {
        "es-alpha",
        "es-beta",
    }
    bars = page.locator("svg.chart-histogram rect title").evaluate_all("els => els.map(e => e.textContent)")
    assert sum(int(t.split(": ")[1].split()[0]) for t in bars) == expected  # the histogram counts the filter

    # sort by a column header; reload keeps the filter, the sort and the form's values
    page.get_by_role("link", name="Id", exact=True).click()
    page.wait_for_url("**sort=id**")
    assert page.locator('th[aria-sort="ascending"]').inner_text().startswith("Id")
    ids = page.locator("#samples tbody tr td:nth-child(5)").all_inner_texts()
    assert ids == sorted(ids, key=lambda i: (int(i) if i.isdigit() else 0, i))
    page.reload()
    assert page.get_by_label("Score from").input_value() == "0"
    assert page.get_by_label("success").is_checked()
    selected = page.get_by_label("Eval sets").evaluate("s => [...s.selectedOptions].map(o => o.value)")
    assert sorted(selected) == ["es-alpha", "es-beta"]
    save_screenshot(page, "samples")

    # the CSV download is the API's CSV of the same filter, byte for byte
    with page.expect_download() as download:
        page.locator("#csv-link").click()
    downloaded = open(download.value.path(), encoding="utf-8").read()
    params = parse_qs(urlsplit(page.locator("#csv-link").get_attribute("href") or "").query)
    api = httpx.get(
        local_site + "/api/v1/samples/export.csv",
        params={
            **{k: v for k, v in query.items() if k not in ("limit", "offset")},
            "sort": "id",
            "desc": "false",
        },
        timeout=30,
    )
    assert params["sort"] == ["id"]
    assert downloaded == api.text
    assert len(list(csv.DictReader(io.StringIO(downloaded)))) == expected

    # back returns to the unsorted filter, forward to the sorted one
    page.go_back()
    assert "sort" not in query_of(page)
    page.go_forward()
    assert query_of(page)["sort"] == ["id"]


def test_text_search_and_an_unknown_scorer(local_page: tuple[Page, Recorder], local_site: str) -> None:
    page, _ = local_page
    page.goto(local_site + "/samples?eval_set_id=es-gamma")
    page.get_by_label("Text in sample or transcript").fill("no such words anywhere")
    page.get_by_label("Text in sample or transcript").press("Enter")
    page.wait_for_url("**search=no+such+words+anywhere**")
    assert page.locator("#total").inner_text() == "0"
    assert "No samples match" in (page.locator("svg.chart-histogram").text_content() or "")
    page.goto(local_site + "/samples?eval_set_id=es-gamma&scorer=nope")
    assert "no scorer 'nope'" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Scorer").get_attribute("aria-invalid") == "true"


def test_sample_page(local_page: tuple[Page, Recorder], local_site: str, deployment: Deployment) -> None:
    page, _ = local_page
    uuid = deployment.sample_uuids["es-alpha"][0]
    (row,) = warehouse(
        deployment,
        "SELECT s.id, s.epoch, s.output, s.headline_value, e.task_name FROM sample s JOIN eval e ON e.pk = s.eval_pk"
        " WHERE s.uuid = :uuid",
        uuid=uuid,
    )
    page.goto(f"{local_site}/samples/{uuid}")
    assert page.locator("h1").inner_text().startswith(f"Sample {row.id}")
    assert page.locator("#output").inner_text() == (row.output or "(none)")
    assert page.locator("#headline").inner_text() == f"{row.headline_value:g}"
    scorers = [r[0] for r in warehouse(deployment, "SELECT scorer FROM score WHERE sample_uuid = :u", u=uuid)]
    assert sorted(
        page.locator("[data-scorer]").evaluate_all("els => els.map(e => e.dataset.scorer)")
    ) == sorted(scorers)
    href = page.locator("#viewer-link").get_attribute("href") or ""
    assert href.startswith("/viewer/?inspect_server=true&log_dir=es-alpha#/logs/es-alpha/") and href.endswith(
        f"/{quote(row.id, safe='')}/{row.epoch}/"
    )
    assert page.get_by_role("button", name="Invalidate sample").is_visible()  # the local user may edit
    assert_labelled(page)
    save_screenshot(page, "sample")


def test_a_user_sees_only_their_groups(
    deployment: Deployment, signed_site: str, oidc_provider: Any, chromium: Browser
) -> None:
    context = chromium.new_context(extra_http_headers=as_user(oidc_provider, "alice"))
    try:
        page = context.new_page()
        recorder = Recorder(page)
        page.goto(signed_site + "/")
        assert [r.get_attribute("data-eval-set") for r in page.locator("tbody tr[data-eval-set]").all()] == [
            "es-alpha"
        ]
        assert page.locator("#user").inner_text().startswith("alice")
        page.goto(signed_site + "/samples")
        assert page.locator("#total").inner_text() == str(SAMPLES_PER_EVAL_SET)
        assert set(page.locator("#samples tbody tr td:nth-child(2)").all_inner_texts()) == {"es-alpha"}
        options = page.get_by_label("Eval sets").evaluate("s => [...s.options].map(o => o.value)")
        assert options == ["es-alpha"]
        assert "beta" not in page.content() and "gamma" not in page.content()
        hidden = page.goto(signed_site + f"/samples/{deployment.sample_uuids['es-beta'][0]}")
        hidden_text = page.locator("main").inner_text()
        absent = page.goto(signed_site + "/samples/NoSuchSample12345")
        assert hidden is not None and absent is not None
        assert hidden.status == absent.status == 404
        assert hidden_text == page.locator("main").inner_text()
        filtered = page.goto(signed_site + "/samples?eval_set_id=es-beta")
        assert filtered is not None and filtered.status == 404
        assert recorder.foreign(signed_site) == []
        # without a group: nothing at all
        carol = chromium.new_context(extra_http_headers=as_user(oidc_provider, "carol"))
        page = carol.new_page()
        page.goto(signed_site + "/")
        assert page.locator("tbody tr[data-eval-set]").count() == 0
        page.goto(signed_site + "/samples")
        assert page.locator("#total").inner_text() == "0"
        assert "No samples match" in (page.locator("svg.chart-histogram").text_content() or "")
        carol.close()
    finally:
        context.close()


def test_the_keyboard_alone_filters_samples(local_page: tuple[Page, Recorder], local_site: str) -> None:
    page, _ = local_page
    page.goto(local_site + "/samples")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for _ in range(40):  # Tab through the filters to the text search
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "search":
            break
    else:
        pytest.fail("the text search cannot be reached with Tab")
    page.keyboard.type("no such words anywhere")
    page.keyboard.press("Enter")
    page.wait_for_url("**search=no+such+words+anywhere**")
    assert page.locator("#total").inner_text() == "0"
