"""Eval sets' logs through Inspect's own log server mounted in the API, and its bundled viewer on the same origin:
read routes only, paths inside an eval set's folder only, refusals answered as misses."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import EVAL_SETS


def log_names(live: httpx.Client, eval_set_id: str, headers: dict[str, str] | None = None) -> list[str]:
    response = live.get("/api/log-files", params={"log_dir": eval_set_id}, headers=headers or {})
    assert response.status_code == 200, response.text
    return [entry["name"] for entry in response.json()["files"]]


def test_logs_through_inspects_log_api(live: httpx.Client) -> None:
    for eval_set_id in EVAL_SETS:
        (name,) = log_names(live, eval_set_id)
        assert name.startswith(f"{eval_set_id}/") and name.endswith(".eval")  # our paths, not the server's
        log = live.get(f"/api/logs/{name}", params={"header-only": "100"})
        assert log.status_code == 200, log.text
        assert log.json()["eval"]["model"] == EVAL_SETS[eval_set_id]
        headers = live.get("/api/log-headers", params={"file": [name]})
        assert headers.status_code == 200 and headers.json()[0]["eval"]["model"] == EVAL_SETS[eval_set_id]
        assert live.get(f"/api/log-size/{name}").json() > 0
    page = live.get("/viewer/")
    assert page.status_code == 200 and "Inspect View" in page.text
    assert live.get("/viewer/assets/index.js").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/api/log-files", {}),  # the evals folder itself: would name every eval set
        ("GET", "/api/log-files", {"log_dir": ""}),
        ("GET", "/api/log-files", {"log_dir": ".."}),
        ("GET", "/api/log-files", {"log_dir": "es-alpha/.."}),
        ("GET", "/api/log-files", {"log_dir": "/etc"}),
        ("GET", "/api/log-files", {"log_dir": "file:///etc"}),
        ("GET", "/api/logs", {"log_dir": "es-alpha/../es-beta"}),
        ("GET", "/api/logs/..%2F..%2Fmodel-groups.yaml", {}),
        ("GET", "/api/logs/es-alpha%2F..%2F..%2Fmodel-groups.yaml", {}),
        ("GET", "/api/logs/es-alpha/no-such.eval", {}),
        ("GET", "/api/log-bytes/%2Fetc%2Fpasswd", {"start": "0", "end": "10"}),
        ("GET", "/api/user-info", {}),
        ("GET", "/api/scout/transcripts", {}),
        ("DELETE", "/api/log-delete/es-alpha/x.eval", {}),
        ("POST", "/api/log-message", {"log": "es-alpha/x.eval"}),
    ],
)
def test_refused_or_absent_answers_one_404(
    live: httpx.Client, method: str, path: str, params: dict[str, str]
) -> None:
    response = live.request(method, path, params=params, headers={"X-Inspect-View-Request": "true"})
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["code"] == "not_found" and error["request_id"] == response.headers["x-request-id"]
    assert "root" not in response.text and "passwd" not in response.text
