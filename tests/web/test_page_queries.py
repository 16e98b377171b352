"""The pages' queries and request handling without a browser: the histogram and progress aggregates against the
rows, the URL <-> filter round trip the CSV link relies on, field-naming errors, the same-origin check, and a hidden
id answering exactly as an absent one."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import Request
from sqlalchemy import text

from hawk_dagster.api.errors import ApiError
from hawk_dagster.warehouse.engine import create_warehouse_engine
from hawk_dagster.warehouse.read.page_figures import (
    eval_set_progress,
    page_and_histogram,
    score_histogram,
    task_and_model_choices,
)
from hawk_dagster.warehouse.read.queries import SampleFilter, list_samples
from hawk_dagster.web.forms import check_same_origin
from hawk_dagster.web.mount import is_page_path
from hawk_dagster.web.pages.sample import edit_from_form
from hawk_dagster.web.pages.samples import filter_params, sample_query
from hawk_dagster.web.urls import url_with
from tests.api.conftest import EVAL_SETS, SAMPLES_PER_EVAL_SET, Deployment
from tests.api.test_access_matrix import as_user

pytestmark = pytest.mark.xdist_group("web-pages")


def request_for(query: str, headers: dict[str, str] | None = None, path: str = "/samples") -> Request:
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": query.encode(),
            "headers": raw_headers,
        }
    )


@pytest.fixture
def engine(deployment: Deployment) -> Any:
    engine = create_warehouse_engine(deployment.warehouse_url)
    yield engine
    engine.dispose()


def test_histogram_counts_every_scored_sample_of_the_filter(engine: Any) -> None:
    f = SampleFilter(eval_set_ids=["es-alpha", "es-beta"], scorer="match")
    with engine.connect() as conn:
        values = [
            row[0]
            for row in conn.execute(
                text(
                    "SELECT sc.value_float FROM score sc JOIN sample s ON s.pk = sc.sample_pk JOIN eval e"
                    " ON e.pk = s.eval_pk WHERE e.eval_set_id IN ('es-alpha', 'es-beta') AND sc.scorer = 'match'"
                    " AND sc.value_float IS NOT NULL"
                )
            )
        ]
    histogram = score_histogram(engine, f, bins=4)
    assert histogram.scored == len(values) == 2 * SAMPLES_PER_EVAL_SET
    assert sum(count for _, _, count in histogram.bins) == len(values)
    assert histogram.minimum == min(values) and histogram.maximum == max(values)
    for i, (low, high, count) in enumerate(histogram.bins):
        last = i == len(histogram.bins) - 1
        assert count == sum(1 for v in values if low <= v < high or (last and math.isclose(v, high)))
    # the headline score, paging ignored, a filter that matches nothing
    everything = score_histogram(engine, SampleFilter(limit=1))
    assert everything.scored == everything.total == len(EVAL_SETS) * SAMPLES_PER_EVAL_SET
    nothing = score_histogram(engine, SampleFilter(text="no such words anywhere"))
    assert (nothing.total, nothing.scored, nothing.bins) == (0, 0, [])
    for f in (
        SampleFilter(statuses=["success"], score_min=0.5),
        SampleFilter(eval_set_ids=["es-beta"], text="+"),
    ):
        assert score_histogram(engine, f).total == list_samples(engine, f).total  # the listing's total


def test_progress_and_choices(engine: Any) -> None:
    progress = eval_set_progress(engine, list(EVAL_SETS))
    assert set(progress) == set(EVAL_SETS)
    for p in progress.values():
        assert p.errors == 0 and not p.running and p.completed == p.planned == SAMPLES_PER_EVAL_SET
    assert eval_set_progress(engine, []) == {}
    assert task_and_model_choices(engine, ["es-beta"]) == (["addition"], ["hawk-mock/beta"])


def test_the_url_and_the_filter_round_trip() -> None:
    query = (
        "eval_set_id=es-alpha&eval_set_id=es-beta&task=addition&model=&status=success&status=error&scorer=match"
        "&score_min=0.5&score_max=&search=%2B+7&invalid=false&sort=score&desc=true&limit=25&offset=50"
    )
    f = sample_query(request_for(query))
    assert (f.eval_set_ids, f.task, f.model, f.statuses) == (
        ["es-alpha", "es-beta"],
        "addition",
        None,
        ["success", "error"],
    )
    assert (f.scorer, f.score_min, f.score_max, f.text, f.invalid) == ("match", 0.5, None, "+ 7", False)
    assert (f.sort, f.descending, f.limit, f.offset) == ("score", True, 25, 50)
    again = sample_query(request_for(urlencode(filter_params(f, paging=True))))
    assert again == f
    assert ("limit", "25") not in filter_params(f)  # the CSV is every match, not the page
    assert sample_query(request_for("")).descending  # newest first by default
    assert not sample_query(request_for("sort=id")).descending


@pytest.mark.parametrize(
    ("query", "field"),
    [("score_min=high", "score_min"), ("invalid=maybe", "invalid"), ("limit=0", "limit"), ("sort=nope", "sort"),
     ("status=late", "status"), ("eval_set_id=Bad_Id", "eval_set_id"), ("offset=-3", "offset")],
)  # fmt: skip
def test_bad_filters_name_their_field(query: str, field: str) -> None:
    with pytest.raises(ApiError) as raised:
        sample_query(request_for(query))
    assert raised.value.status_code == 422 and raised.value.field == field


def test_url_with_keeps_the_rest_of_the_state() -> None:
    request = request_for("eval_set_id=a&eval_set_id=b&sort=id&offset=50")
    assert url_with(request, sort="score", offset=None) == "/samples?eval_set_id=a&eval_set_id=b&sort=score"
    assert (
        url_with(request, eval_set_id=["c"], desc=True)
        == "/samples?sort=id&offset=50&eval_set_id=c&desc=true"
    )
    assert url_with(request_for(""), path="/compare", eval_set=["x", "y"]) == "/compare?eval_set=x&eval_set=y"


def test_edit_forms_are_validated() -> None:
    assert edit_from_form("u", {"action": "score_edit", "scorer": "match", "value": "0.5", "reason": " r "}) == {
        "sample_uuid": "u", "type": "score_edit", "scorer": "match", "value": 0.5, "reason": "r",
    }  # fmt: skip
    assert (
        edit_from_form("u", {"action": "score_edit", "scorer": "m", "value": "C", "reason": "r"})["value"]
        == "C"
    )
    assert edit_from_form("u", {"action": "uninvalidate_sample"}) == {
        "sample_uuid": "u",
        "type": "uninvalidate_sample",
    }
    for fields, field in (
        ({"action": "delete"}, "action"),
        ({"action": "score_edit", "scorer": "m"}, "value"),
    ):
        with pytest.raises(ApiError) as raised:
            edit_from_form("u", fields)
        assert raised.value.field == field


def test_same_origin_check() -> None:
    check_same_origin(request_for("", {"Sec-Fetch-Site": "same-origin"}))
    check_same_origin(request_for("", {"Origin": "http://hawk.example", "Host": "hawk.example"}))
    check_same_origin(request_for("", {"Origin": "https://hawk.example"}), public_url="https://hawk.example")
    for headers in (
        {"Sec-Fetch-Site": "same-site", "Origin": "https://hawk.example", "Host": "hawk.example"},
        {"Origin": "http://evil.example", "Host": "hawk.example"},
        {"Origin": "https://hawk.example", "Host": "hawk.example"},  # another scheme is another origin
        {"Origin": "null", "Host": "hawk.example"},
        {"Host": "hawk.example"},
    ):
        with pytest.raises(ApiError) as raised:
            check_same_origin(request_for("", headers))
        assert raised.value.status_code == 403


def test_page_paths() -> None:
    assert all(
        is_page_path(p) for p in ("/", "/samples", "/samples/x", "/eval-sets/a", "/compare", "/scans/s")
    )
    assert not any(is_page_path(p) for p in ("/api/v1/samples", "/samplesx", "/viewer/", "/static/hawk.css"))


def test_hidden_answers_as_absent(
    signed_http: httpx.Client, oidc_provider: Any, deployment: Deployment
) -> None:
    """Alice (group alpha) asks for beta's sample and for one that does not exist: the same 404 page."""
    headers = as_user(oidc_provider, "alice")
    hidden = signed_http.get(f"/samples/{deployment.sample_uuids['es-beta'][0]}", headers=headers)
    absent = signed_http.get("/samples/NoSuchSample12345", headers=headers)
    assert hidden.status_code == absent.status_code == 404
    assert hidden.text == absent.text and "text/html" in hidden.headers["content-type"]
    by_filter = signed_http.get("/samples", params={"eval_set_id": "es-beta"}, headers=headers)
    by_absent_filter = signed_http.get("/samples", params={"eval_set_id": "es-none"}, headers=headers)
    assert (
        by_filter.status_code == by_absent_filter.status_code == 404
        and by_filter.text == by_absent_filter.text
    )
    page = signed_http.get("/", headers=headers).text
    assert "es-alpha" in page and "es-beta" not in page and "es-gamma" not in page
    unsigned = signed_http.get("/samples")
    assert unsigned.status_code == 401 and "/auth/login" in unsigned.text
    # the API keeps its JSON errors
    assert (
        signed_http.get("/api/v1/samples/NoSuchSample12345", headers=headers).json()["error"]["code"]
        == "not_found"
    )


def test_running_eval_sets_show_progress_and_the_page_refreshes(client: Any, engine: Any) -> None:
    """An eval whose log is still 'started' (imported as partial): a progress bar of samples done out of planned,
    and a page that reloads itself (its URL, so the selection in it is kept)."""
    assert '<meta http-equiv="refresh"' not in client.get("/").text
    with engine.begin() as conn:
        before = conn.execute(
            text("SELECT status, completed_samples FROM eval WHERE eval_set_id = 'es-gamma'")
        ).one()
        conn.execute(
            text("UPDATE eval SET status = 'started', completed_samples = 1 WHERE eval_set_id = 'es-gamma'")
        )
    try:
        page = client.get("/", params={"selected": "es-alpha"}).text
        assert '<meta http-equiv="refresh" content="15">' in page
        gamma = page.split('data-eval-set="es-gamma"')[1].split("</tr>")[0]
        assert "running" in gamma and f'max="{SAMPLES_PER_EVAL_SET}" value="1"' in gamma
        alpha = page.split('data-eval-set="es-alpha"')[1].split("</tr>")[0]
        assert "checked" in alpha and "running" not in alpha
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE eval SET status = :s, completed_samples = :c WHERE eval_set_id = 'es-gamma'"),
                {"s": before.status, "c": before.completed_samples},
            )


def test_a_large_histogram_waits_to_be_asked_for(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from hawk_dagster.web.pages import samples

    monkeypatch.setattr(samples, "HISTOGRAM_AT_ONCE", 2)
    page = client.get("/samples", params={"eval_set_id": "es-alpha"}).text
    assert "chart-histogram" not in page and 'id="histogram-deferred"' in page
    assert "histogram=all" in page
    asked = client.get("/samples", params={"eval_set_id": "es-alpha", "histogram": "all"}).text
    assert "chart-histogram" in asked and 'id="total">3<' in asked
    searched = client.get(
        "/samples", params={"search": "+"}
    ).text  # a text search: always, from one aggregate
    assert "chart-histogram" in searched


@pytest.mark.parametrize(
    "f",
    [
        SampleFilter(text="+", sort="id", limit=2, offset=1),
        SampleFilter(text="+", eval_set_ids=["es-alpha", "es-gamma"], sort="model", descending=True, limit=4),
        SampleFilter(text="+", scorer="match", score_min=0, sort="score", limit=50),
        SampleFilter(text="no such words anywhere"),
    ],
)
def test_one_scan_page_equals_the_listing_and_the_histogram(engine: Any, f: SampleFilter) -> None:
    page, histogram = page_and_histogram(engine, f, bins=5)
    assert page == list_samples(engine, f)
    assert histogram == score_histogram(engine, f, bins=5)
