"""A person's visit, end to end: headless Chromium signs in to ``hawk serve`` through the real OpenID provider
(authorization code + PKCE, the provider's own login and consent pages) as a user holding model group alpha, then
browses the eval sets, an eval set, a filtered samples page and a sample, seeing exactly what alpha covers (checked
against the warehouse); an eval set of another group answers 404 in the browser, as an absent one does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, text

from hawk_dagster.api.app import create_app
from tests.api.conftest import serving
from tests.web.browser import launched_chromium, save_screenshot
from tests.web.results_fixtures import GROUPS, ResultsWarehouse, results_settings
from tests.web.signin_fixtures import SignedInContext

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("results_warehouse")]


@pytest.fixture(scope="module")
def chromium(results_warehouse: ResultsWarehouse) -> Iterator[Browser]:
    """The browser, started once the results warehouse is built (its Inspect runs need this thread's event loop
    free, which Playwright's would hold)."""
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def site(results_warehouse: ResultsWarehouse, signin_overrides: dict[str, Any]) -> Iterator[str]:
    """``hawk serve`` on the results warehouse, its browsers signing in at the test provider."""
    with serving(create_app(results_settings(results_warehouse, **signin_overrides))) as base_url:
        yield base_url


def figures(engine: Engine, eval_set_ids: list[str]) -> dict[str, tuple[int, int, int, int]]:
    """Eval set -> (tasks, models, samples, errors) as the warehouse holds them."""
    sql = (
        "SELECT e.eval_set_id, count(DISTINCT e.task_name), count(DISTINCT e.model), count(s.pk),"
        " count(s.pk) FILTER (WHERE s.status = 'error')"
        " FROM eval e LEFT JOIN sample s ON s.eval_pk = e.pk WHERE e.eval_set_id = ANY(:ids) GROUP BY 1"
    )
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(text(sql), {"ids": eval_set_ids})}


def row_figures(page: Page, eval_set_id: str) -> tuple[int, ...]:
    cells = page.locator(f'tr[data-eval-set="{eval_set_id}"] td')
    return tuple(int(cells.nth(i).inner_text().strip()) for i in (5, 6, 7, 8))


def test_a_signed_in_user_browses_exactly_their_groups(
    site: str, signed_in_context: SignedInContext, results_engine: Engine
) -> None:
    mine = sorted(e for e, group in GROUPS.items() if group == "alpha")
    others = sorted(e for e, group in GROUPS.items() if group != "alpha")
    assert mine and others
    context = signed_in_context(site, "erin", ["model-access-alpha"], next_path="/")
    assert {c["name"] for c in context.cookies(site)}, "signing in left no session cookie"
    page = context.new_page()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    # the eval sets: alpha's, with their counts, and nothing of other groups
    page.goto(f"{site}/")
    assert page.locator("#user").inner_text().startswith("erin")
    listed = page.locator("tbody tr[data-eval-set]").evaluate_all("rows => rows.map(r => r.dataset.evalSet)")
    assert sorted(listed) == mine
    expected = figures(results_engine, mine)
    for eval_set_id in mine:
        assert row_figures(page, eval_set_id) == expected[eval_set_id], eval_set_id
    main = page.locator("main").inner_text()
    assert not any(other in main for other in others)
    save_screenshot(page, "signed-in-eval-sets")

    # one eval set, opened from the list
    with page.expect_navigation():
        page.locator('tr[data-eval-set="res-b"] td').nth(1).get_by_role("link").click()
    assert urlsplit(page.url).path == "/eval-sets/res-b"
    tasks, models, samples, errors = expected["res-b"]
    totals = page.locator("#totals").inner_text().split()
    assert totals[:6] == ["Tasks", str(tasks), "Models", str(models), "Samples", str(samples)]
    assert errors and totals[totals.index("error") + 1] == str(errors)
    with results_engine.connect() as conn:
        per_eval = {
            label: count
            for label, count in conn.execute(
                text(
                    "SELECT e.task_name || ' ' || e.model, count(s.pk) FROM eval e JOIN sample s ON s.eval_pk = e.pk"
                    " WHERE e.eval_set_id = 'res-b' GROUP BY 1"
                )
            )
        }
    shown = page.locator("#cells tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.task + ' ' + r.dataset.model,"
        " parseInt(r.querySelector('[data-samples]').textContent)])"
    )
    assert dict(shown) == per_eval
    save_screenshot(page, "signed-in-eval-set")

    # the samples of one cell, then a status filter chosen in the form
    with page.expect_navigation():
        page.get_by_label("Samples of chat on mockllm/m1").click()
    query = parse_qs(urlsplit(page.url).query)
    assert (
        query["eval_set_id"] == ["res-b"] and query["task"] == ["chat"] and query["model"] == ["mockllm/m1"]
    )
    page.get_by_label("success").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    assert parse_qs(urlsplit(page.url).query)["status"] == ["success"]
    with results_engine.connect() as conn:
        ids = conn.execute(
            text(
                "SELECT s.uuid FROM sample s JOIN eval e ON e.pk = s.eval_pk WHERE e.eval_set_id = 'res-b'"
                " AND e.task_name = 'chat' AND e.model = 'mockllm/m1' AND s.status = 'success'"
            )
        ).scalars()
        uuids = {str(u) for u in ids}
    assert page.locator("#total").inner_text() == str(len(uuids)) and uuids
    links = page.locator("#samples tbody tr td:first-child a").evaluate_all("a => a.map(e => e.pathname)")
    assert {link.removeprefix("/samples/") for link in links} == uuids
    save_screenshot(page, "signed-in-samples")

    # one sample, from the list
    with page.expect_navigation():
        page.locator("#samples tbody tr td:first-child a").first.click()
    assert urlsplit(page.url).path.removeprefix("/samples/") in uuids
    assert page.locator("h1").inner_text().startswith("Sample ")
    save_screenshot(page, "signed-in-sample")

    # another group's eval set (and its samples) answer as an absent one does, in the browser
    for other in others:
        hidden = page.goto(f"{site}/eval-sets/{other}")
        hidden_text = page.locator("main").inner_text()
        absent = page.goto(f"{site}/eval-sets/no-such-set")
        assert hidden is not None and absent is not None
        assert hidden.status == absent.status == 404
        assert hidden_text == page.locator("main").inner_text()
        filtered = page.goto(f"{site}/samples?eval_set_id={other}")
        assert filtered is not None and filtered.status == 404
    save_screenshot(page, "signed-in-hidden-eval-set")
    assert hosts == {urlsplit(site).netloc}, f"requests to other hosts: {hosts}"
