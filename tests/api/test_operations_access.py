"""The access matrix of the operations routes, over HTTP with real tokens: every user x the three eval sets x
(status, logs, list edits, edit, deletion plan, delete): each allowed answer, each denied one, and a hidden eval set or
sample answering exactly as an absent one. Each test has its own copy of the deployment (edits and deletions change
it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hawk_dagster.api.app import create_app
from tests.api.conftest import EVAL_SETS, GROUPS, OWNERS, MakeSettings, Writable, serving
from tests.api.test_access_matrix import SEES, USERS, same_404

EDITS = {"dave", "root"}
"""Users who may edit what they see: the edit permission (dave) or administrators."""
OWNER_PERMISSIONS = {owner: [f"model-access-{GROUPS[e]}"] for e, owner in OWNERS.items()}


@pytest.fixture
def signed_in(
    writable_settings: MakeSettings, oidc_provider: Any, writable: Writable
) -> Iterator[httpx.Client]:
    for eval_set_id in EVAL_SETS:  # some runner output, so there are logs to read without a pipeline run
        output = writable.storage.runner_logs_dir / f"{eval_set_id}.log"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(f"runner output of {eval_set_id}\nsecond line\n")
    app: FastAPI = create_app(writable_settings(oidc=oidc_provider.settings()))
    with serving(app) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


def token(oidc_provider: Any, subject: str) -> dict[str, str]:
    permissions = USERS[subject] if subject in USERS else OWNER_PERMISSIONS[subject]
    return {"Authorization": f"Bearer {oidc_provider.token_for(subject, permissions)}"}


def ndjson(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def invalidate(sample_uuid: str) -> str:
    return json.dumps({"sample_uuid": sample_uuid, "type": "invalidate_sample", "reason": "matrix"}) + "\n"


JSONL = {"Content-Type": "application/jsonl"}


@pytest.mark.parametrize("user", list(USERS))
def test_reads(signed_in: httpx.Client, oidc_provider: Any, user: str) -> None:
    auth = token(oidc_provider, user)
    for eval_set_id in EVAL_SETS:
        answers = {
            "status": signed_in.get(f"/api/v1/eval-sets/{eval_set_id}/status", headers=auth),
            "logs": signed_in.get(f"/api/v1/eval-sets/{eval_set_id}/logs", headers=auth),
            "follow": signed_in.get(
                f"/api/v1/eval-sets/{eval_set_id}/logs", params={"follow": "true"}, headers=auth
            ),
            "edits": signed_in.get("/api/v1/sample-edits", params={"eval_set_id": eval_set_id}, headers=auth),
        }
        absent = {
            "status": signed_in.get("/api/v1/eval-sets/es-absent/status", headers=auth),
            "logs": signed_in.get("/api/v1/eval-sets/es-absent/logs", headers=auth),
            "follow": signed_in.get(
                "/api/v1/eval-sets/es-absent/logs", params={"follow": "true"}, headers=auth
            ),
            "edits": signed_in.get("/api/v1/sample-edits", params={"eval_set_id": "es-absent"}, headers=auth),
        }
        for action, response in answers.items():
            if eval_set_id in SEES[user]:
                assert response.status_code == 200, (user, eval_set_id, action, response.text)
            else:
                same_404(response, absent[action])
                assert eval_set_id not in response.text
        if eval_set_id in SEES[user]:
            report = answers["status"].json()
            assert (
                report["eval_set"]["id"] == eval_set_id
                and report["eval_set"]["created_by"] == OWNERS[eval_set_id]
            )
            assert report["warehouse"]["state"] == "imported" and report["cells"][0]["samples"]["done"] == 3
            texts = [r["text"] for r in ndjson(answers["logs"]) if r["type"] == "line"]
            assert texts == [f"runner output of {eval_set_id}", "second line"]
            assert ndjson(answers["logs"])[-1]["reason"] == "finished"
            assert [r["text"] for r in ndjson(answers["follow"]) if r["type"] == "line"] == texts
            assert answers["edits"].json()["items"] == []


@pytest.mark.parametrize("user", list(USERS))
def test_edits(signed_in: httpx.Client, oidc_provider: Any, writable: Writable, user: str) -> None:
    auth = {**token(oidc_provider, user), **JSONL}
    for eval_set_id in EVAL_SETS:
        sample_uuid = writable.sample_uuids[eval_set_id][0]
        before = writable.log_hashes()
        for dry_run in (True, False):
            answer = signed_in.post(
                "/api/v1/sample-edits",
                params={"dry_run": dry_run},
                content=invalidate(sample_uuid),
                headers=auth,
            )
            if eval_set_id not in SEES[user]:
                absent = signed_in.post(
                    "/api/v1/sample-edits",
                    params={"dry_run": dry_run},
                    content=invalidate("AbsentSampleUuid0000"),
                    headers=auth,
                )
                assert answer.status_code == absent.status_code == 422, answer.text
                message = answer.json()["error"]["message"]
                assert message == absent.json()["error"]["message"].replace(
                    "AbsentSampleUuid0000", sample_uuid
                )
                assert "no sample with uuid" in message and eval_set_id not in message
            elif user not in EDITS:
                assert answer.status_code == 403, answer.text
                assert "may view but not edit" in answer.json()["error"]["message"]
            else:
                assert answer.status_code == 200, answer.text
        if user not in EDITS or eval_set_id not in SEES[user]:
            assert writable.log_hashes() == before and writable.edit_rows() == 0
            continue
        body = answer.json()
        assert body["author"] == user and body["ok"]
        assert [(row["eval_set_id"], row["applied"], row["import"]) for row in body["logs"]] == [
            (eval_set_id, 1, "imported")
        ]
        (edit,) = signed_in.get(
            "/api/v1/sample-edits", params={"sample_uuid": sample_uuid}, headers=auth
        ).json()["items"]
        assert (edit["author"], edit["type"], edit["reason"]) == (user, "invalidate_sample", "matrix")
        assert (
            signed_in.get(
                "/api/v1/samples", params={"eval_set_id": eval_set_id, "invalid": "true"}, headers=auth
            ).json()["total"]
            == 1
        )
    # listings of edits hold only what the user may see, by eval set or by sample
    for eval_set_id in EVAL_SETS:
        for other in ("root", user):
            listing = signed_in.get(
                "/api/v1/sample-edits",
                params={"sample_uuid": writable.sample_uuids[eval_set_id][0]},
                headers=token(oidc_provider, other),
            ).json()["items"]
            assert len(listing) == int(
                user in EDITS and eval_set_id in SEES[user] and eval_set_id in SEES[other]
            )


@pytest.mark.parametrize("user", [*USERS, *OWNER_PERMISSIONS])
def test_delete(signed_in: httpx.Client, oidc_provider: Any, user: str) -> None:
    auth = token(oidc_provider, user)
    sees = SEES[user] if user in SEES else {e for e, owner in OWNERS.items() if owner == user}
    for eval_set_id in EVAL_SETS:
        plan = signed_in.get(f"/api/v1/eval-sets/{eval_set_id}/deletion", headers=auth)
        if eval_set_id not in sees:
            same_404(plan, signed_in.get("/api/v1/eval-sets/es-absent/deletion", headers=auth))
            same_404(
                signed_in.delete(f"/api/v1/eval-sets/{eval_set_id}", headers=auth),
                signed_in.delete("/api/v1/eval-sets/es-absent", headers=auth),
            )
            continue
        if user != "root" and OWNERS[eval_set_id] != user:
            assert plan.status_code == 403, plan.text
            message = plan.json()["error"]["message"]
            assert f"only its submitter ({OWNERS[eval_set_id]}) or an administrator" in message
            refused = signed_in.delete(f"/api/v1/eval-sets/{eval_set_id}", headers=auth)
            assert refused.status_code == 403 and refused.json()["error"]["message"] == message
            listed = signed_in.get("/api/v1/eval-sets", headers=auth).json()["items"]
            assert eval_set_id in {row["eval_set_id"] for row in listed}, "a refused delete hides nothing"
            continue
        assert plan.status_code == 200, plan.text
        assert plan.json()["created_by"] == OWNERS[eval_set_id] and plan.json()["active_runs"] == []
        deleted = signed_in.delete(f"/api/v1/eval-sets/{eval_set_id}", headers=auth)
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == {
            "eval_set_id": eval_set_id,
            "stopped": [],
            "not_stopped": [],
            "sandbox_namespace": None,
            "sandbox_deleted": False,
        }
        listed = signed_in.get("/api/v1/eval-sets", headers=auth).json()["items"]
        assert eval_set_id not in {row["eval_set_id"] for row in listed}
        # its status and logs stay readable (logs are kept)
        assert signed_in.get(f"/api/v1/eval-sets/{eval_set_id}/status", headers=auth).status_code == 200
    for method, path in (
        ("DELETE", "/api/v1/eval-sets/es-alpha"),
        ("GET", "/api/v1/eval-sets/es-alpha/deletion"),
        ("GET", "/api/v1/eval-sets/es-alpha/status"),
        ("GET", "/api/v1/eval-sets/es-alpha/logs"),
        ("GET", "/api/v1/sample-edits?eval_set_id=es-alpha"),
        ("POST", "/api/v1/sample-edits"),
    ):
        unauthenticated = signed_in.request(method, path)
        assert unauthenticated.status_code == 401, (method, path, unauthenticated.text)
        assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
