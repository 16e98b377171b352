"""The eval-set, compare and scan pages: their numbers against the logs and the warehouse, their links, and what a
user without a model group gets (404, exactly as for what does not exist, and no counts anywhere)."""

from __future__ import annotations

import csv
import io
import math
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy import text as sql_text

from hawk_dagster.warehouse.read.queries import scanner_counts
from hawk_dagster.warehouse.read.scan_results import flagged_results
from hawk_dagster.web.charts import fmt
from tests.web.results_fixtures import CAREFUL_SAMPLES, WRONG, ResultsWarehouse, group_token, log_headers
from tests.web.results_tasks import ADD_SAMPLES, CHAT_IDS

pytestmark = pytest.mark.xdist_group("results_warehouse")


def soup(response: Any) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


def row(page: BeautifulSoup, table: str, **data: str) -> Tag:
    selector = "".join(f'[data-{k}="{v}"]' for k, v in data.items())
    found = page.select(f"#{table} tbody tr{selector}")
    assert len(found) == 1, f"{table} {data}: {len(found)} rows"
    return found[0]


def text(cell: Tag | None) -> str:
    assert cell is not None
    return " ".join(cell.get_text(" ").split())


# ------------------------------------------------------------------------------------------------------ eval set


def test_eval_set_page_numbers_match_the_logs(
    results_client: TestClient, results_warehouse: ResultsWarehouse
) -> None:
    page = soup(results_client.get("/eval-sets/res-a"))
    headers = log_headers(results_warehouse.root, "res-a")
    heatmap = page.select_one("#heatmap svg")
    assert heatmap is not None
    tips = {t.get_text() for t in heatmap.select("rect > title")}
    for (task, model), header in headers.items():
        (score,) = header.results.scores  # type: ignore[union-attr]
        value, stderr = score.metrics["accuracy"].value, score.metrics["stderr"].value
        tr = row(page, "cells", task=task, model=model)
        assert text(tr.select_one("[data-value]")) == fmt(value)
        assert text(tr.select_one("[data-stderr]")) == fmt(stderr)
        assert any(tip.startswith(f"{task}, {model}: {fmt(value)} ±{fmt(stderr, 2)}") for tip in tips), tips
    chat = row(page, "cells", task="chat", model="mockllm/m1")
    assert text(chat.select_one("[data-errors]")) == "1"
    assert text(chat.select_one("[data-limits]")) == "message: 1"
    assert text(chat.select_one("[data-samples]")) == str(len(CHAT_IDS))
    for model in ("mockllm/m1", "mockllm/m2"):
        usage = sum(h.stats.model_usage[model].total_tokens for (_, m), h in headers.items() if m == model)
        assert text(row(page, "tokens", model=model).select_one("[data-total]")) == str(usage)


def test_eval_set_links_resolve(results_client: TestClient) -> None:
    page = soup(results_client.get("/eval-sets/res-a"))
    chat = row(page, "cells", task="chat", model="mockllm/m1")
    links = {a.get_text(): str(a["href"]) for a in chat.select("a")}
    # a cell's samples link carries the samples page's filter: the API answers the same filter with the cell's samples
    samples = urlsplit(links["samples"])
    assert samples.path == "/samples"
    assert (
        soup(results_client.get(links["samples"])).select_one("main") is not None
    )  # the samples page answers
    listed = results_client.get("/api/v1/samples", params=parse_qs(samples.query)).json()
    assert listed["total"] == len(CHAT_IDS)
    errors = results_client.get("/api/v1/samples", params=parse_qs(urlsplit(links["1"]).query)).json()
    assert [r["status"] for r in errors["items"]] == ["error"]
    limited = results_client.get(
        "/api/v1/samples", params=parse_qs(urlsplit(links["message: 1"]).query)
    ).json()
    assert [r["status"] for r in limited["items"]] == ["message_limit"]
    # the log in Inspect's viewer: the viewer's page, and the log its fragment names through the viewer's log API
    viewer = urlsplit(links["log"])
    assert viewer.path == "/viewer/" and parse_qs(viewer.query) == {
        "inspect_server": ["true"],
        "log_dir": ["res-a"],
    }
    assert results_client.get(f"{viewer.path}?{viewer.query}").status_code == 200
    log = viewer.fragment.removeprefix("/logs/").rstrip("/")
    assert log.startswith("res-a/") and log.endswith(".eval")
    assert results_client.get(f"/api/log-headers?file={log}").status_code == 200


def test_eval_set_metric_choice_is_in_the_url(results_client: TestClient) -> None:
    page = soup(results_client.get("/eval-sets/res-b", params={"metric": "match/accuracy"}))
    chosen = page.select_one("#metric option[selected]")
    assert chosen is not None and chosen["value"] == "match/accuracy"
    assert text(row(page, "cells", task="add", model="mockllm/m3").select_one("[data-value]")) == fmt(1.0)
    bad = results_client.get("/eval-sets/res-b", params={"metric": "nope/none"})
    assert bad.status_code == 422 and "metric" in bad.text and "match/accuracy" in bad.text
    assert results_client.get("/eval-sets/no-such-set").status_code == 404


# ------------------------------------------------------------------------------------------------------- compare


def test_compare_page_differences_and_intervals(
    results_client: TestClient, results_warehouse: ResultsWarehouse
) -> None:
    page = soup(results_client.get("/compare", params={"eval_set": ["res-a", "res-b"]}))
    a, b = log_headers(results_warehouse.root, "res-a"), log_headers(results_warehouse.root, "res-b")
    assert page.select_one("#difference-chart svg") is not None
    for key in a:
        task, model = key
        ma = a[key].results.scores[0].metrics  # type: ignore[union-attr]
        mb = b[key].results.scores[0].metrics  # type: ignore[union-attr]
        diff = mb["accuracy"].value - ma["accuracy"].value
        half = 1.96 * math.sqrt(ma["stderr"].value ** 2 + mb["stderr"].value ** 2)
        shown = text(row(page, "comparison", task=task, model=model).select_one("[data-difference]"))
        assert shown.startswith(f"{diff:+.3g} [{diff - half:+.3g}, {diff + half:+.3g}]"), shown
    differing = row(page, "comparison", task="add", model="mockllm/m2").select_one("[data-differing] a")
    assert differing is not None
    expected = WRONG[("res-a", "mockllm/m2")] ^ WRONG[("res-b", "mockllm/m2")]
    assert text(differing) == str(len(expected))
    assert "res-b" in text(page.select_one("#compared"))  # m3's cell is only in res-b: said, not compared
    pairs = soup(results_client.get(str(differing["href"])))
    uuids = [str(a["href"]).removeprefix("/samples/") for a in pairs.select("#differing-samples a")]
    assert len(uuids) == 2 * len(expected)
    for uuid in uuids:  # each links to a sample the warehouse holds, and its page answers
        assert results_client.get(f"/api/v1/samples/{uuid}").status_code == 200
        assert results_client.get(f"/samples/{uuid}").status_code == 200


def test_compare_refuses_bad_requests(results_client: TestClient) -> None:
    one = results_client.get("/compare", params={"eval_set": ["res-a"]})
    assert one.status_code == 422 and "eval_set" in one.text
    assert results_client.get("/compare", params={"eval_set": ["res-a", "no-such-set"]}).status_code == 404
    half = results_client.get("/compare", params={"eval_set": ["res-a", "res-b"], "task": "add"})
    assert half.status_code == 422
    none = soup(results_client.get("/compare", params={"eval_set": ["res-a", "res-g"]}))
    assert none.select_one("#no-common") is not None


# --------------------------------------------------------------------------------------------------------- scans


def test_scan_pages(results_client: TestClient, results_engine: Engine) -> None:
    listing = soup(results_client.get("/scans"))
    assert {tr["data-scan"] for tr in listing.select("#scans tbody tr")} == {"scan-a", "scan-g"}
    page = soup(results_client.get("/scans/scan-a"))
    (counts,) = scanner_counts(results_engine, "scan-a")
    scanner = row(page, "scanners", scanner="mentions")
    assert text(scanner.select_one("[data-scanned]")) == str(counts["scanned"])
    assert text(scanner.select_one("[data-positive]")) == str(counts["positive"])
    assert page.select_one('figure.distribution[data-scanner="mentions"] svg') is not None
    assert text(page.select_one("#flagged-count")).startswith(f"{counts['positive']} flagged")
    flagged = flagged_results(results_engine, "scan-a", limit=25)
    links = [str(a["href"]) for a in page.select("#flagged-results a")]
    assert links == [f"/samples/{r['sample_uuid']}" for r in flagged.rows]
    assert results_client.get(f"/api/v1/samples/{flagged.rows[0]['sample_uuid']}").status_code == 200
    assert results_client.get(links[0]).status_code == 200
    # the page's CSV link is the API's export
    (csv_link,) = {str(a["href"]) for a in page.select("a") if "Download all results" in a.text}
    assert csv_link == "/api/v1/scans/scan-a/results.csv"
    page_csv = results_client.get(csv_link)
    assert page_csv.status_code == 200 and len(list(csv.DictReader(io.StringIO(page_csv.text)))) > 0
    assert results_client.get("/scans/scan-a", params={"scanner": "nope"}).status_code == 422


# -------------------------------------------------------------------------------------------------------- access


def test_a_user_without_the_group_gets_404_and_no_counts(
    results_signed_client: TestClient, oidc_provider: Any
) -> None:
    alpha = group_token(oidc_provider, "alpha")
    absent = results_signed_client.get("/eval-sets/no-such-set", headers=alpha)
    hidden = results_signed_client.get("/eval-sets/res-g", headers=alpha)
    assert absent.status_code == hidden.status_code == 404
    assert hidden.text == absent.text  # one answer: nothing says res-g exists
    for url, params in (
        ("/compare", {"eval_set": ["res-a", "res-g"]}),
        ("/compare", {"eval_set": ["res-g", "res-a"]}),
        ("/scans/scan-g", {}),
        ("/api/v1/scans/scan-g/results.csv", {}),
    ):
        response = results_signed_client.get(url, params=params, headers=alpha)
        assert response.status_code == 404, url
        assert "res-g" not in response.text and "scan-g" not in response.text
    scans = results_signed_client.get("/scans", headers=alpha)
    assert "scan-g" not in scans.text and "res-g" not in scans.text
    assert soup(scans).select_one("#count") is not None and "1 scan" in scans.text
    assert results_signed_client.get("/eval-sets/res-a", headers=alpha).status_code == 200
    gamma = group_token(oidc_provider, "gamma")
    assert results_signed_client.get("/eval-sets/res-g", headers=gamma).status_code == 200
    assert results_signed_client.get("/scans/scan-g", headers=gamma).status_code == 200
    assert results_signed_client.get("/eval-sets/res-a", headers=gamma).status_code == 404
    assert results_signed_client.get("/eval-sets/res-a").status_code == 401  # no token


def test_a_running_eval_set_page_refreshes_itself(warehouse_engine: Engine, tmp_path: Any) -> None:
    """A log still ``started`` (running, or killed before it finished): the page says so and reloads itself."""
    from sqlalchemy import text as sql

    from hawk_dagster.api.app import create_app
    from tests.web.results_fixtures import ResultsWarehouse, results_settings

    with warehouse_engine.begin() as conn:
        conn.execute(sql("INSERT INTO eval_set (eval_set_id, model_groups) VALUES ('live', '{alpha}')"))
        for task, status in (("one", "started"), ("two", "success")):
            conn.execute(
                sql(
                    "INSERT INTO eval (eval_set_id, task_id, eval_id, task_name, model, status, location, file_hash)"
                    " VALUES ('live', :task, :task, :task, 'mockllm/m1', :status, '/elsewhere/x.eval', 'sha256:x')"
                ),
                {"task": task, "status": status},
            )
    url = warehouse_engine.url.render_as_string(hide_password=False)
    with TestClient(
        create_app(results_settings(ResultsWarehouse(root=tmp_path, warehouse_url=url)))
    ) as client:
        page = soup(client.get("/eval-sets/live"))
        refresh = page.select_one('meta[http-equiv="refresh"]')
        assert refresh is not None and int(str(refresh["content"])) > 0
        assert page.select_one("#running") is not None
        assert (
            text(
                row(page, "cells", task="one", model="mockllm/m1").select_one(
                    "td[data-log-status].status-limit"
                )
            )
            == "started"
        )
        with warehouse_engine.begin() as conn:
            conn.execute(sql("UPDATE eval SET status = 'success'"))
        done = soup(client.get("/eval-sets/live"))
        assert done.select_one('meta[http-equiv="refresh"]') is None and done.select_one("#running") is None


def test_rows_of_a_task_run_by_two_agents_link_to_their_own_samples(
    results_client: TestClient, results_engine: Engine
) -> None:
    with results_engine.connect() as conn:
        by_agent = {
            agent: {str(u) for u in uuids}
            for agent, uuids in conn.execute(
                sql_text(
                    "SELECT e.agent, array_agg(s.uuid) FROM eval e JOIN sample s ON s.eval_pk = e.pk"
                    " WHERE e.eval_set_id = 'res-s' GROUP BY e.agent"
                )
            )
        }
    assert sorted(len(u) for u in by_agent.values()) == [
        CAREFUL_SAMPLES,
        ADD_SAMPLES,
    ]  # the two agents' evals
    page = soup(results_client.get("/eval-sets/res-s"))
    rows = page.select("#cells tbody tr")
    assert len(rows) == 2 and len({r["data-task"] for r in rows}) == 2
    heatmap_links = {
        str(a["aria-label"]).split(",")[0]: str(a["href"]) for a in page.select("#heatmap svg a")
    }
    for tr in rows:
        label = str(tr["data-task"])
        (agent,) = [a for a in by_agent if a and f"[{a}]" in label]
        link = next(str(a["href"]) for a in tr.select("a") if a.get_text() == "samples")
        assert heatmap_links[label] == link  # the heatmap cell links to the same samples
        query = parse_qs(urlsplit(link).query)
        assert query["task"] == ["add"] and query["model"] == ["mockllm/s1"] and "task_id" in query
        listed = results_client.get("/api/v1/samples", params={**query, "limit": 1000}).json()
        assert {r["uuid"] for r in listed["items"]} == by_agent[agent], label
        shown = soup(results_client.get(link))
        assert text(shown.select_one("#total")) == str(len(by_agent[agent]))
        assert shown.select_one("#task_id") is not None  # the form keeps the row's task id (and can clear it)
        assert {
            str(a["href"]).removeprefix("/samples/") for a in shown.select("#samples tbody td:first-child a")
        } == (by_agent[agent])
    # the API validates the task id as it does the task: a 422 naming it, no results
    too_long = results_client.get("/api/v1/samples", params={"task_id": "x" * 501})
    assert too_long.status_code == 422 and "task_id" in too_long.text
    unknown = results_client.get(
        "/api/v1/samples", params={"eval_set_id": "res-s", "task_id": "no-such-task"}
    )
    assert unknown.json()["total"] == 0
