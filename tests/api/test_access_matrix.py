"""The access matrix over HTTP with real tokens: users x three model groups x (list, view sample, transcript, CSV
export, scan results, submit, scan, resume), every allowed and every denied answer, listings and counts holding
exactly what the user may see, and a hidden id answering exactly as an absent one.

Deleting an eval set, editing samples, status and logs have their own matrix (test_operations_access.py): "delete any
eval set with any token", a hole of the reference system, is refused there for everyone but submitters and
administrators.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hawk_dagster.api.app import create_app
from tests.api.conftest import (
    EVAL_SETS,
    GROUPS,
    SAMPLES_PER_EVAL_SET,
    SCAN_ID,
    Deployment,
    MakeSettings,
    eval_set_config,
    scan_config,
    serving,
)

USERS: dict[str, list[str]] = {
    "alice": ["model-access-alpha"],
    "bob": ["model-access-beta", "model-access-gamma"],
    "carol": [],
    "dave": ["model-access-alpha", "model-access-beta", "model-access-gamma", "hawk:edit"],
    "root": ["hawk:admin"],
}
SEES = {
    "alice": {"es-alpha"},
    "bob": {"es-beta", "es-gamma"},
    "carol": set(),
    "dave": set(EVAL_SETS),
    "root": set(EVAL_SETS),
}
SEES_SCAN = {user: "es-alpha" in seen for user, seen in SEES.items()}
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def signed_in(make_settings: MakeSettings, oidc_provider: Any) -> Iterator[httpx.Client]:
    app: FastAPI = create_app(make_settings(oidc=oidc_provider.settings()))
    with serving(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


def as_user(oidc_provider: Any, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {oidc_provider.token_for(user, USERS[user])}"}


def same_404(hidden: httpx.Response, absent: httpx.Response) -> None:
    """Forbidden and absent: the same status and body, apart from the request id."""
    assert hidden.status_code == absent.status_code == 404, (hidden.text, absent.text)
    strip = lambda r: {k: v for k, v in r.json()["error"].items() if k != "request_id"}  # noqa: E731
    assert strip(hidden) == strip(absent)
    assert hidden.headers.get("www-authenticate") is None


@pytest.mark.parametrize("user", list(USERS))
def test_reads(signed_in: httpx.Client, oidc_provider: Any, deployment: Deployment, user: str) -> None:
    auth = as_user(oidc_provider, user)
    seen = SEES[user]

    listing = signed_in.get("/api/v1/eval-sets", headers=auth).json()
    assert {r["eval_set_id"] for r in listing["items"]} == seen and listing["total"] == len(seen)
    # a search matching every eval set still finds only the visible ones
    assert signed_in.get("/api/v1/eval-sets", params={"search": "grid"}, headers=auth).json()["total"] == len(
        seen
    )

    samples = signed_in.get("/api/v1/samples", params={"limit": 100}, headers=auth).json()
    assert samples["total"] == SAMPLES_PER_EVAL_SET * len(seen)
    assert {r["eval_set_id"] for r in samples["items"]} == seen
    # a filter matching hidden samples only counts nothing
    hidden_models = [EVAL_SETS[e] for e in EVAL_SETS if e not in seen]
    for model in hidden_models:
        assert signed_in.get("/api/v1/samples", params={"model": model}, headers=auth).json()["total"] == 0

    export = signed_in.get("/api/v1/samples/export.csv", headers=auth)
    assert export.status_code == 200
    assert {r["eval_set_id"] for r in csv.DictReader(io.StringIO(export.text))} == seen

    scans = signed_in.get("/api/v1/scans", headers=auth).json()
    assert scans["total"] == int(SEES_SCAN[user]) and len(scans["items"]) == int(SEES_SCAN[user])

    for eval_set_id in EVAL_SETS:
        uuid = deployment.sample_uuids[eval_set_id][0]
        answers = {
            "evals": signed_in.get(f"/api/v1/eval-sets/{eval_set_id}/evals", headers=auth),
            "samples": signed_in.get("/api/v1/samples", params={"eval_set_id": eval_set_id}, headers=auth),
            "export": signed_in.get(
                "/api/v1/samples/export.csv", params={"eval_set_id": eval_set_id}, headers=auth
            ),
            "sample": signed_in.get(f"/api/v1/samples/{uuid}", headers=auth),
            "transcript": signed_in.get(f"/api/v1/samples/{uuid}/transcript", headers=auth),
            "raw": signed_in.get(
                f"/api/v1/samples/{uuid}/transcript", params={"format": "json"}, headers=auth
            ),
        }
        absent = {
            "evals": signed_in.get("/api/v1/eval-sets/es-absent/evals", headers=auth),
            "samples": signed_in.get("/api/v1/samples", params={"eval_set_id": "es-absent"}, headers=auth),
            "export": signed_in.get(
                "/api/v1/samples/export.csv", params={"eval_set_id": "es-absent"}, headers=auth
            ),
            "sample": signed_in.get("/api/v1/samples/AbsentSampleUuid0000", headers=auth),
            "transcript": signed_in.get("/api/v1/samples/AbsentSampleUuid0000/transcript", headers=auth),
            "raw": signed_in.get(
                "/api/v1/samples/AbsentSampleUuid0000/transcript", params={"format": "json"}, headers=auth
            ),
        }
        for action, response in answers.items():
            if eval_set_id in seen:
                assert response.status_code == 200, (user, eval_set_id, action, response.text)
            else:
                same_404(response, absent[action])
                assert eval_set_id not in response.text and uuid not in response.text

    results = signed_in.get(f"/api/v1/scans/{SCAN_ID}/results.csv", headers=auth)
    if SEES_SCAN[user]:
        assert results.status_code == 200 and SCAN_ID in results.text
    else:
        same_404(results, signed_in.get("/api/v1/scans/scan-absent/results.csv", headers=auth))
        # with a scanner filter too: no hint that the scan exists
        same_404(
            signed_in.get(f"/api/v1/scans/{SCAN_ID}/results.csv", params={"scanner": "x"}, headers=auth),
            signed_in.get("/api/v1/scans/scan-absent/results.csv", params={"scanner": "x"}, headers=auth),
        )


@pytest.mark.parametrize("user", list(USERS))
def test_writes(signed_in: httpx.Client, oidc_provider: Any, user: str) -> None:
    auth = {**as_user(oidc_provider, user), **YAML}
    seen = SEES[user]
    for eval_set_id, model in EVAL_SETS.items():
        group = GROUPS[eval_set_id]
        submitted = signed_in.post(
            "/api/v1/eval-sets",
            content=eval_set_config(f"{user} {group}", model) + f"eval_set_id: {user}-{group}\n",
            headers=auth,
        )
        if eval_set_id in seen:
            assert submitted.status_code == 201, (user, group, submitted.text)
        else:
            assert submitted.status_code == 403, (user, group, submitted.text)
            assert group in submitted.json()["error"]["message"]

        scanned = signed_in.post(
            "/api/v1/scans",
            content=scan_config(eval_set_id) + f"scan_id: {user}-scan-{group}\n",
            headers=auth,
        )
        if eval_set_id in seen:
            assert scanned.status_code == 201, (user, group, scanned.text)
        else:
            assert scanned.status_code == 422 and scanned.json()["error"]["field"] == "transcripts.sources"
            absent = signed_in.post("/api/v1/scans", content=scan_config("es-absent"), headers=auth)
            assert absent.status_code == 422

    # a model no pattern matches is in the default group: closed to everyone but administrators
    unclassified = signed_in.post(
        "/api/v1/eval-sets", content=eval_set_config("new model", "hawk-mock/unlisted"), headers=auth
    )
    assert unclassified.status_code == (201 if user == "root" else 403), unclassified.text
    # an eval set naming no model at all is not open either
    no_models = "name: no models\ntasks:\n  - package: inspect-ai\n    items: [{name: addition}]\n"
    assert signed_in.post("/api/v1/eval-sets", content=no_models, headers=auth).status_code == (
        201 if user == "root" else 403
    )

    resumed = signed_in.post(f"/api/v1/scans/{SCAN_ID}/resume", headers=auth)
    if SEES_SCAN[user]:
        assert resumed.status_code == 202, resumed.text
    else:
        same_404(resumed, signed_in.post("/api/v1/scans/scan-absent/resume", headers=auth))


def test_nobody_replaces_another_users_eval_set(signed_in: httpx.Client, oidc_provider: Any) -> None:
    """es-alpha was submitted by owner-alpha: alice sees it but may not submit over it; an administrator may."""
    body = eval_set_config("mine now", "hawk-mock/alpha") + "eval_set_id: es-alpha\n"
    taken = signed_in.post(
        "/api/v1/eval-sets", content=body, headers={**as_user(oidc_provider, "alice"), **YAML}
    )
    assert taken.status_code == 409 and taken.json()["error"]["field"] == "eval_set_id"
    owner = {
        "Authorization": f"Bearer {oidc_provider.token_for('owner-alpha', ['model-access-alpha'])}",
        **YAML,
    }
    assert signed_in.post("/api/v1/eval-sets", content=body, headers=owner).status_code == 201
    assert (
        signed_in.post(
            "/api/v1/eval-sets", content=body, headers={**as_user(oidc_provider, "root"), **YAML}
        ).status_code
        == 201
    )


@pytest.mark.parametrize("user", list(USERS))
def test_log_files_through_the_viewer_api(
    signed_in: httpx.Client, oidc_provider: Any, deployment: Deployment, user: str
) -> None:
    auth = as_user(oidc_provider, user)
    names = {e: next((deployment.root / "evals" / e).glob("*.eval")).name for e in EVAL_SETS}
    for eval_set_id, name in names.items():
        listing = signed_in.get("/api/log-files", params={"log_dir": eval_set_id}, headers=auth)
        log = signed_in.get(f"/api/logs/{eval_set_id}/{name}", params={"header-only": "1"}, headers=auth)
        if eval_set_id in SEES[user]:
            assert listing.status_code == 200 and [f["name"] for f in listing.json()["files"]] == [
                f"{eval_set_id}/{name}"
            ]
            assert log.status_code == 200 and log.json()["eval"]["model"] == EVAL_SETS[eval_set_id]
        else:
            same_404(listing, signed_in.get("/api/log-files", params={"log_dir": "es-absent"}, headers=auth))
            same_404(
                log, signed_in.get(f"/api/logs/es-absent/{name}", params={"header-only": "1"}, headers=auth)
            )
    unauthenticated = signed_in.get("/api/log-files", params={"log_dir": "es-alpha"})
    assert unauthenticated.status_code == 401 and unauthenticated.headers["www-authenticate"].startswith(
        "Bearer"
    )
