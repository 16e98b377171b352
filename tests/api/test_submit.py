"""Submitting through the API: what `hawk validate` and the configs sensor accept is written to the configs folder
with the caller as submitter, and the sensor takes it; anything else is a clear 4xx naming the field, with nothing
written."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from hawk_dagster.intake.watch import WatchCursor, process_new_configs
from hawk_dagster.storage.root import StorageRoot
from tests.api.conftest import SCAN_ID, MakeSettings, eval_set_config, scan_config, serving, snapshot

YAML = {"Content-Type": "application/yaml"}


def test_submit_eval_set_reaches_the_sensor_with_the_caller_as_submitter(
    client: TestClient, storage: StorageRoot
) -> None:
    from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND

    # a body claiming another submitter: replaced by the authenticated caller's name
    body = (
        '# hawk-submitted-by: "mallory"\n'
        + eval_set_config("api grid", "hawk-mock/alpha")
        + "eval_set_id: es-new\n"
    )
    response = client.post("/api/v1/eval-sets", content=body, headers=YAML)
    assert response.status_code == 201, response.text
    assert response.json()["eval_set_id"] == "es-new"
    written = (storage.local_path / "configs" / "eval-sets" / "es-new.yaml").read_text()
    assert written.startswith('# hawk-submitted-by: "local"\n') and "mallory" not in written

    result = process_new_configs(storage, WatchCursor.parse(None), EVAL_SET_CONFIGS_KIND)
    (accepted,) = result.accepted
    assert (accepted.eval_set_id, accepted.submission.created_by) == ("es-new", "local")
    assert not result.rejected


def test_submit_generates_an_id_and_accepts_json(client: TestClient, storage: StorageRoot) -> None:
    import json

    body = json.dumps(
        {"name": "Json Grid", "tasks": [{"package": "inspect-ai", "items": [{"name": "addition"}]}]}
    )
    response = client.post("/api/v1/eval-sets", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    eval_set_id = response.json()["eval_set_id"]
    assert eval_set_id.startswith("json-grid-")
    assert (storage.local_path / "configs" / "eval-sets" / f"{eval_set_id}.yaml").exists()


def test_submit_scan_and_resume(client: TestClient, storage: StorageRoot) -> None:
    from hawk_dagster.scans.intake import SCAN_CONFIGS_KIND

    response = client.post(
        "/api/v1/scans", content=scan_config("es-beta") + "scan_id: scan-new\n", headers=YAML
    )
    assert response.status_code == 201, response.text
    result = process_new_configs(storage, WatchCursor.parse(None), SCAN_CONFIGS_KIND)
    assert [(a.eval_set_id, a.submission.created_by) for a in result.accepted] == [("scan-new", "local")]

    resumed = client.post(f"/api/v1/scans/{SCAN_ID}/resume")
    assert resumed.status_code == 202, resumed.text
    text = (storage.local_path / "configs" / "scans" / f"{SCAN_ID}.yaml").read_text()
    assert "# hawk-resumed-at: " in text and "es-alpha" in text
    again = process_new_configs(storage, result.cursor, SCAN_CONFIGS_KIND)
    assert [(a.eval_set_id, a.submission.created_by) for a in again.accepted] == [(SCAN_ID, "owner-alpha")]
    assert client.post("/api/v1/scans/no-such-scan/resume").status_code == 404


BAD_EVAL_SETS = [
    ("tasks: [unclosed\n", None),  # malformed YAML
    ('{"name": "x", "tasks": [}', None),  # malformed JSON
    ("- just\n- a list\n", None),
    ("name: x\n", "tasks"),
    (eval_set_config("x", "hawk-mock/a") + "surprise_key: 1\n", "surprise_key"),  # unknown top-level key
    (
        "name: x\ntasks:\n  - package: inspect-ai\n    items: [{name: addition, colour: red}]\n",
        "tasks[0].items[0].colour",
    ),
    ("name: x\ntasks:\n  - path: tasks.py\n    items: [{name: addition}]\n", "tasks[0].path"),  # a local file
    ("name: x\ntasks:\n  - path: ../../../etc/passwd\n    items: [{name: addition}]\n", "tasks[0].path"),
    (eval_set_config("x", "hawk-mock/a") + "eval_set_id: ../../etc\n", "eval_set_id"),
    (eval_set_config("x", "hawk-mock/a") + 'eval_set_id: "x\'; DROP TABLE eval_set; --"\n', "eval_set_id"),
]


@pytest.mark.parametrize(("body", "field"), BAD_EVAL_SETS)
@pytest.mark.usefixtures("unchanged")
def test_bad_eval_sets_are_refused_naming_the_field(client: TestClient, body: str, field: str | None) -> None:
    response = client.post("/api/v1/eval-sets", content=body, headers=YAML)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_config" and error["request_id"] == response.headers["x-request-id"]
    if field is not None:
        assert error["field"] == field, error
        assert field.split(".")[-1].split("[")[0] in error["message"]


@pytest.mark.usefixtures("unchanged")
def test_bad_scans_are_refused_without_revealing_other_eval_sets(client: TestClient) -> None:
    unknown = client.post("/api/v1/scans", content=scan_config("es-nope"), headers=YAML)
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "transcripts.sources"
    assert "es-alpha" not in unknown.text and "es-beta" not in unknown.text
    local = scan_config("es-alpha").replace("package: hawk-example-scanners", "package: ./scanners")
    refused = client.post("/api/v1/scans", content=local, headers=YAML)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "scanners[0].package"
    extra = client.post("/api/v1/scans", content=scan_config("es-alpha") + "frobnicate: true\n", headers=YAML)
    assert extra.status_code == 422 and extra.json()["error"]["field"] == "frobnicate"


def test_an_id_another_file_owns_is_a_conflict(client: TestClient, storage: StorageRoot) -> None:
    from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND

    folder = storage.local_path / "configs" / "eval-sets"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hand.yaml").write_text(eval_set_config("by hand", "hawk-mock/a") + "eval_set_id: es-hand\n")
    assert [
        a.eval_set_id
        for a in process_new_configs(storage, WatchCursor.parse(None), EVAL_SET_CONFIGS_KIND).accepted
    ] == ["es-hand"]
    before = snapshot(storage.local_path)
    response = client.post(
        "/api/v1/eval-sets",
        content=eval_set_config("x", "hawk-mock/a") + "eval_set_id: es-hand\n",
        headers=YAML,
    )
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("conflict", "eval_set_id") and "hand.yaml" in error["message"]
    assert str(storage.local_path) not in error["message"]
    assert snapshot(storage.local_path) == before


@pytest.mark.usefixtures("unchanged")
def test_media_type_and_empty_bodies(client: TestClient) -> None:
    wrong = client.post(
        "/api/v1/eval-sets", content="name: x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert wrong.status_code == 415 and wrong.json()["error"]["field"] == "Content-Type"
    empty = client.post("/api/v1/eval-sets", content="  \n", headers=YAML)
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "body"
    latin = client.post("/api/v1/eval-sets", content="name: caf\xe9".encode("latin-1"), headers=YAML)
    assert latin.status_code == 422 and "UTF-8" in latin.json()["error"]["message"]


def test_oversized_bodies_are_413_before_and_while_reading(
    make_settings: MakeSettings, storage: StorageRoot
) -> None:
    from hawk_dagster.api.app import create_app

    before = snapshot(storage.local_path)
    app = create_app(make_settings(max_body_bytes=1000))
    big = eval_set_config("x", "hawk-mock/a") + "# " + "x" * 2000 + "\n"
    with serving(app) as base_url, httpx.Client(base_url=base_url) as http:
        declared = http.post("/api/v1/eval-sets", content=big, headers=YAML)
        assert declared.status_code == 413, declared.text
        assert declared.json()["error"] | {"request_id": None} == {
            "code": "body_too_large", "message": declared.json()["error"]["message"], "field": "body", "request_id": None,
        }  # fmt: skip

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b"# " + b"y" * 300 + b"\n"

        streamed = http.post("/api/v1/eval-sets", content=chunks(), headers=YAML)
        assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "body_too_large"
        assert http.post("/api/v1/eval-sets", content=eval_set_config("ok", "hawk-mock/a") + "eval_set_id: small\n",
                         headers=YAML).status_code == 201  # fmt: skip
    after = snapshot(storage.local_path)
    assert set(after) - set(before) == {"configs/eval-sets/small.yaml"}
