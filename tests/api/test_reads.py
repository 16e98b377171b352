"""Reading through the API in local mode: every listing, filter, sort and page of the CLI, one sample, transcripts
and the CSV exports, on the warehouse built from real logs."""

from __future__ import annotations

import csv
import io

import httpx
from fastapi.testclient import TestClient

from tests.api.conftest import EVAL_SETS, OWNERS, SAMPLES_PER_EVAL_SET, SCAN_ID, Deployment


def test_list_eval_sets_with_search_and_paging(client: TestClient) -> None:
    page = client.get("/api/v1/eval-sets").json()
    assert page["total"] == 3 and {r["eval_set_id"] for r in page["items"]} == set(EVAL_SETS)
    row = next(r for r in page["items"] if r["eval_set_id"] == "es-beta")
    assert (row["created_by"], row["samples"], row["tags"]) == (
        OWNERS["es-beta"],
        SAMPLES_PER_EVAL_SET,
        ["api-test"],
    )
    found = client.get("/api/v1/eval-sets", params={"search": "GAMMA"}).json()
    assert [r["eval_set_id"] for r in found["items"]] == ["es-gamma"]
    second = client.get("/api/v1/eval-sets", params={"limit": 1, "offset": 1}).json()
    assert (second["total"], second["limit"], second["offset"], len(second["items"])) == (3, 1, 1, 1)


def test_list_evals(client: TestClient) -> None:
    body = client.get("/api/v1/eval-sets/es-alpha/evals").json()
    (ev,) = body["items"]
    assert (ev["task"], ev["model"], ev["samples"], ev["headline_metric"]) == (
        "addition", "hawk-mock/alpha", SAMPLES_PER_EVAL_SET, "match/accuracy",
    )  # fmt: skip
    assert "location" not in ev  # where logs live is not the caller's business


def test_samples_every_filter_sort_and_page(client: TestClient) -> None:
    def ids(**params: object) -> list[str]:
        response = client.get("/api/v1/samples", params=params)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["items"]]

    everything = client.get("/api/v1/samples", params={"limit": 100}).json()
    assert everything["total"] == 3 * SAMPLES_PER_EVAL_SET
    assert ids(eval_set_id="es-alpha", sort="id") == ["+1", "+2", "+3"]
    assert ids(eval_set_id="es-alpha", sort="id", desc=True) == ["+3", "+2", "+1"]
    assert ids(eval_set_id="es-alpha", sort="id", limit=2, offset=1) == ["+2", "+3"]
    assert len(ids(eval_set_id=["es-alpha", "es-beta"])) == 2 * SAMPLES_PER_EVAL_SET
    assert len(ids(model="hawk-mock/beta")) == SAMPLES_PER_EVAL_SET
    assert len(ids(task="addition", limit=100)) == 3 * SAMPLES_PER_EVAL_SET
    assert ids(task="nope") == []
    assert len(ids(status="success", limit=100)) == 3 * SAMPLES_PER_EVAL_SET
    assert ids(status=["error", "time_limit"]) == []
    assert len(ids(invalid=False, limit=100)) == 3 * SAMPLES_PER_EVAL_SET
    assert ids(invalid=True) == []
    scored = client.get(
        "/api/v1/samples", params={"scorer": "match", "score_min": 0, "score_max": 1, "limit": 100}
    )
    assert scored.status_code == 200 and scored.json()["total"] == 3 * SAMPLES_PER_EVAL_SET
    assert ids(score_min=2) == []
    assert ids(eval_set_id="es-alpha", search="+1") == ["+1"]


def test_one_sample_and_its_transcript(client: TestClient, deployment: Deployment) -> None:
    uuid = deployment.sample_uuids["es-gamma"][0]
    sample = client.get(f"/api/v1/samples/{uuid}").json()
    assert (sample["uuid"], sample["eval_set_id"], sample["model"]) == (uuid, "es-gamma", "hawk-mock/gamma")
    assert "location" not in sample
    markdown = client.get(f"/api/v1/samples/{uuid}/transcript")
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    assert "hawk-mock/gamma" in markdown.text
    raw = client.get(f"/api/v1/samples/{uuid}/transcript", params={"format": "json"})
    assert raw.headers["content-type"] == "application/json" and raw.json()["uuid"] == uuid
    assert client.get(f"/api/v1/samples/{uuid}/transcript", params={"format": "html"}).status_code == 422


def test_csv_exports_stream_over_http(live: httpx.Client) -> None:
    with live.stream("GET", "/api/v1/samples/export.csv", params={"eval_set_id": "es-beta"}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        assert "content-length" not in response.headers  # streamed, not buffered
        rows = list(csv.DictReader(io.StringIO(response.read().decode())))
    assert len(rows) == SAMPLES_PER_EVAL_SET and {r["model"] for r in rows} == {"hawk-mock/beta"}
    paged = live.get(
        "/api/v1/samples/export.csv",
        params={"sort": "id", "limit": 1, "paged": True, "eval_set_id": "es-beta"},
    )
    assert [r["id"] for r in csv.DictReader(io.StringIO(paged.text))] == ["+1"]
    results = live.get(f"/api/v1/scans/{SCAN_ID}/results.csv")
    assert results.status_code == 200
    rows = list(csv.DictReader(io.StringIO(results.text)))
    assert (
        rows
        and {r["scan_id"] for r in rows} == {SCAN_ID}
        and {r["scanner_key"] for r in rows} == {"mentions"}
    )
    assert (
        live.get(f"/api/v1/scans/{SCAN_ID}/results.csv", params={"scanner": "mentions"}).text == results.text
    )
    wrong = live.get(f"/api/v1/scans/{SCAN_ID}/results.csv", params={"scanner": "nope"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "scanner"
    assert live.get("/api/v1/scans/no-such-scan/results.csv").status_code == 404


def test_list_scans(client: TestClient) -> None:
    (row,) = client.get("/api/v1/scans").json()["items"]
    assert (row["scan_id"], row["created_by"], row["eval_sets"]) == (SCAN_ID, "owner-alpha", 1)
    assert client.get("/api/v1/scans", params={"search": "zzz"}).json()["items"] == []
