"""The sample page's edit forms go through ``hawk_dagster.edits`` (the log rewritten, the warehouse re-imported, the
audit row written with the principal as author), refuse cross-site posts and bad input with nothing changed, and
appear only for those who may edit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext
from sqlalchemy import text

from hawk_dagster.api.app import create_app
from hawk_dagster.api.settings import ServerSettings
from tests.api.conftest import serving
from tests.edits_fixtures import EditedEvalSet
from tests.web.browser import save_screenshot

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("web-pages")]  # real logs rewritten, re-imported


@pytest.fixture
def edit_site(eval_set: EditedEvalSet) -> Iterator[str]:
    app = create_app(ServerSettings(storage=eval_set.storage, warehouse_url=eval_set.url, oidc=None))
    with serving(app) as base_url:
        yield base_url


def sample_row(eval_set: EditedEvalSet) -> Any:
    with eval_set.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT s.uuid, s.is_invalid, sc.value FROM sample s JOIN score sc ON sc.sample_pk = s.pk"
                " AND sc.scorer = 'match' ORDER BY s.id LIMIT 1"
            )
        ).one()


def edit_count(eval_set: EditedEvalSet) -> int:
    with eval_set.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM sample_edit")).scalar_one())


def test_cross_site_and_bad_posts_change_nothing(edit_site: str, eval_set: EditedEvalSet) -> None:
    before = sample_row(eval_set)
    url = f"{edit_site}/samples/{before.uuid}/edits"
    form = {"action": "invalidate_sample", "reason": "looks wrong"}
    host = edit_site.removeprefix("http://")
    refused = [
        httpx.post(url, data=form, headers={"Origin": "http://evil.example"}),
        httpx.post(url, data=form, headers={"Sec-Fetch-Site": "cross-site", "Origin": edit_site}),
        httpx.post(url, data=form),  # neither header: not from a browser form
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    # the first two never reach the page: the session middleware refuses any cross-site post (its JSON error body)
    assert all("cross-site" in r.text or "another origin" in r.text or "Origin" in r.text for r in refused)
    assert "text/html" in refused[2].headers["content-type"]  # the page's own check: its HTML error page
    missing_reason = httpx.post(
        url, data={"action": "invalidate_sample"}, headers={"Origin": f"http://{host}"}
    )
    assert missing_reason.status_code == 422 and "reason" in missing_reason.text
    unknown_scorer = httpx.post(
        url,
        data={"action": "score_edit", "scorer": "nope", "value": "1", "reason": "r"},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert unknown_scorer.status_code == 422 and "nope" in unknown_scorer.text
    assert sample_row(eval_set) == before
    assert edit_count(eval_set) == 0


def test_edit_a_score_then_invalidate_and_uninvalidate(
    eval_set: EditedEvalSet, edit_site: str, browser_context: BrowserContext
) -> None:
    before = sample_row(eval_set)
    new_value = "I" if before.value == "C" else "C"
    page = browser_context.new_page()
    page.goto(f"{edit_site}/samples/{before.uuid}")
    page.get_by_text("Edit score").click()
    page.get_by_label("New value (a number, C/I/P, or JSON)").fill(new_value)
    page.get_by_label("Reason", exact=True).first.fill("regraded by hand")
    with page.expect_navigation():
        page.get_by_role("button", name="Save score").click()
    assert "?edit=applied" in page.url
    assert "written to the log" in page.get_by_role("status").inner_text()
    assert sample_row(eval_set).value == new_value
    history = page.locator('[data-scorer="match"] table.history tbody tr')
    assert history.count() == 1
    cells = history.first.locator("td").all_inner_texts()
    assert (
        cells[1] == "local"
        and cells[2] == "score edit"
        and new_value in cells[4]
        and cells[5] == "regraded by hand"
    )

    page.get_by_label("Reason", exact=True).last.fill("contaminated")
    with page.expect_navigation():
        page.get_by_role("button", name="Invalidate sample").click()
    assert sample_row(eval_set).is_invalid
    assert page.locator("h1 .badge.invalid").is_visible()
    save_screenshot(page, "sample-edited")
    with page.expect_navigation():
        page.get_by_role("button", name="Uninvalidate sample").click()
    assert not sample_row(eval_set).is_invalid
    assert edit_count(eval_set) == 3
