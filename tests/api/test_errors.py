"""One error shape everywhere, request ids in answers and logs, readiness, and hostile input (SQL metacharacters in
every filter, path traversal in ids): a clear 4xx and an unchanged warehouse."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from hawk_dagster.api.app import create_app
from tests.api.conftest import Deployment, MakeSettings

HOSTILE = [
    "'; DROP TABLE sample; --",
    "%",
    "_",
    "\\",
    "' OR '1'='1",
    "\x00",
    "es-alpha' --",
    '"; SELECT pg_sleep(5); --',
]


def assert_error(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    assert set(error) <= {"code", "message", "field", "request_id"}
    if field is not None:
        assert error.get("field") == field, error
    return error


def warehouse_counts(url: str) -> tuple[int, ...]:
    engine = create_engine(url.replace("postgresql+psycopg", "postgresql+psycopg"))
    with engine.connect() as conn:
        counts = tuple(
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("eval_set", "eval", "sample", "score", "scan", "scanner_result")
        )
    engine.dispose()
    return counts


def test_request_ids(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "trace-1.2:3"})
    assert given.headers["x-request-id"] == "trace-1.2:3"
    for insane in ("has space", "x" * 200, "a\tb", "<script>"):
        made = client.get("/healthz", headers={"X-Request-ID": insane})
        assert made.headers["x-request-id"] != insane and len(made.headers["x-request-id"]) == 32
    assert len(client.get("/healthz").headers["x-request-id"]) == 32


def test_not_found_and_method_shapes(client: TestClient) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(client.delete("/api/v1/eval-sets"), 405, "method_not_allowed")
    absent = assert_error(client.get("/api/v1/eval-sets/es-none/evals"), 404, "not_found")
    assert absent["message"] == "no such eval set"
    assert_error(client.get("/api/v1/samples/nosuchsample"), 404, "not_found")
    assert_error(client.get("/api/v1/samples", params={"eval_set_id": "es-none"}), 404, "not_found")


def test_validation_errors_name_the_field(client: TestClient) -> None:
    assert_error(client.get("/api/v1/samples", params={"limit": 0}), 422, "invalid_request", "limit")
    assert_error(client.get("/api/v1/samples", params={"limit": "many"}), 422, "invalid_request", "limit")
    assert_error(
        client.get("/api/v1/samples", params={"score_min": "high"}), 422, "invalid_request", "score_min"
    )
    assert_error(
        client.get("/api/v1/samples", params={"invalid": "perhaps"}), 422, "invalid_request", "invalid"
    )
    sort = assert_error(client.get("/api/v1/samples", params={"sort": "pk"}), 422, "invalid_request", "sort")
    assert "completed_at" in sort["message"]
    assert_error(client.get("/api/v1/samples", params={"status": "weird"}), 422, "invalid_request", "status")
    assert_error(client.get("/api/v1/samples", params={"scorer": "nope"}), 422, "invalid_request", "scorer")
    assert_error(client.get("/api/v1/eval-sets", params={"offset": -1}), 422, "invalid_request", "offset")


@pytest.mark.parametrize("value", HOSTILE)
def test_sql_metacharacters_in_every_filter(client: TestClient, deployment: Deployment, value: str) -> None:
    before = warehouse_counts(deployment.warehouse_url)
    for path, params in [
        ("/api/v1/eval-sets", {"search": value}),
        ("/api/v1/scans", {"search": value}),
        ("/api/v1/samples", {"search": value}),
        ("/api/v1/samples", {"task": value}),
        ("/api/v1/samples", {"model": value}),
        ("/api/v1/samples/export.csv", {"search": value, "model": value, "task": value}),
    ]:
        response = client.get(path, params=params)
        if "\x00" in value:  # PostgreSQL text cannot hold NUL: refused naming the field, never an error page
            assert_error(response, 422, "invalid_request", next(iter(params)))
            continue
        assert response.status_code == 200, (path, params, response.text)
        if path.endswith(".csv"):
            assert response.text.count("\n") == 1  # the header only: nothing matches
        else:
            assert response.json()["total"] == 0, (path, params)
    for field, path, params in [
        ("scorer", "/api/v1/samples", {"scorer": value}),
        ("sort", "/api/v1/samples", {"sort": value}),
        ("status", "/api/v1/samples", {"status": value}),
        ("eval_set_id", "/api/v1/samples", {"eval_set_id": value}),
        ("scanner", "/api/v1/scans/scan-alpha/results.csv", {"scanner": value}),
    ]:
        response = client.get(path, params=params)
        assert_error(response, 422, "invalid_request", field)
    assert warehouse_counts(deployment.warehouse_url) == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/eval-sets/..%2F..%2Fetc%2Fpasswd/evals",
        "/api/v1/eval-sets/%2e%2e/evals",
        "/api/v1/eval-sets/ES-ALPHA/evals",
        "/api/v1/samples/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/samples/a%20b/transcript",
        "/api/v1/scans/..%2Fscan-alpha/results.csv",
        "/api/v1/scans/%2e%2e/resume",
    ],
)
def test_path_traversal_in_ids(live: httpx.Client, path: str) -> None:
    response = live.request("POST" if path.endswith("resume") else "GET", path)
    assert response.status_code in (404, 405, 422), response.text
    assert response.json()["error"]["code"] in ("not_found", "invalid_request", "method_not_allowed")


def test_unhandled_errors_are_500_with_the_request_id_in_the_log(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from hawk_dagster.api.request_context import RequestIdLogFilter
    from hawk_dagster.warehouse.read import queries

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail that must not reach the client")

    monkeypatch.setattr(queries, "list_scans", broken)
    caplog.handler.addFilter(RequestIdLogFilter())
    with caplog.at_level(logging.INFO, logger="hawk_dagster.api"):
        response = client.get("/api/v1/scans", headers={"X-Request-ID": "req-500"})
    error = assert_error(response, 500, "internal_error")
    assert "secret detail" not in response.text and "req-500" in error["message"]
    (record,) = [r for r in caplog.records if r.name == "hawk_dagster.api.errors"]
    assert record.request_id == "req-500" and record.exc_info is not None  # type: ignore[attr-defined]
    (access,) = [r for r in caplog.records if r.name == "hawk_dagster.api.access"]
    assert access.request_id == "req-500" and "500" in access.getMessage()  # type: ignore[attr-defined]


def test_readiness(make_settings: MakeSettings, client: TestClient, tmp_path: Any) -> None:
    from hawk_dagster.storage.root import StorageRoot

    assert client.get("/readyz").json() == {"status": "ready"}
    assert client.get("/healthz").json() == {"status": "ok"}
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    app = create_app(make_settings(warehouse_url=unreachable, storage=StorageRoot(str(tmp_path / "missing"))))
    with TestClient(app) as broken:
        error = assert_error(broken.get("/readyz"), 503, "not_ready")
        assert (
            "warehouse is unreachable" in error["message"]
            and "storage root does not exist" in error["message"]
        )
        assert "nobody" not in error["message"]
        assert broken.get("/healthz").status_code == 200
