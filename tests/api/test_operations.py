"""The operations routes in local mode: sample-edit requests refused as a whole on bad input (nothing changed), log
cursors that resume with no line twice and none lost, and the CLI's remote mode printing what local mode prints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from hawk_dagster.api.app import create_app
from hawk_dagster.cli.main import cli
from tests.api.conftest import EVAL_SETS, OWNERS, MakeSettings, Writable, serving

JSONL = {"Content-Type": "application/jsonl"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def client(writable_settings: MakeSettings) -> Iterator[TestClient]:
    with TestClient(create_app(writable_settings()), raise_server_exceptions=False) as test_client:
        yield test_client


def score_edit(sample_uuid: str, **fields: Any) -> dict[str, Any]:
    return {
        "sample_uuid": sample_uuid,
        "type": "score_edit",
        "scorer": "match",
        "reason": "r",
        "value": "I",
        **fields,
    }


def error_of(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def test_bad_edit_requests_change_nothing(client: TestClient, writable: Writable) -> None:
    good = writable.sample_uuids["es-alpha"][0]
    before = writable.log_hashes()
    line = json.dumps(score_edit(good))
    cases: list[tuple[str, bytes, dict[str, str], int, str]] = [
        ("malformed JSON", b'[{"sample_uuid": ', JSON, 422, "not JSON"),
        ("malformed JSONL", f"{line}\n{{oops\n".encode(), JSONL, 422, "line 2: not JSON"),
        ("unknown field", json.dumps([score_edit(good, author="mallory")]).encode(), JSON, 422, "unknown field 'author'"),
        ("bad value", json.dumps([score_edit(good, value={"a": [1, [2]]})]).encode(), JSON, 422, "item 0: field 'value'"),
        ("no type", f"{line}\n{json.dumps({'sample_uuid': good, 'reason': 'x'})}\n".encode(), JSONL, 422, "line 2: field 'type' is required"),
        ("duplicate", f"{line}\n{line}\n".encode(), JSONL, 422, "line 2: duplicate of line 1"),
        ("unknown scorer", json.dumps([score_edit(good, scorer="nope")]).encode(), JSON, 422, "has no scorer 'nope'"),
        ("one unknown uuid among good ones", json.dumps([score_edit(good), score_edit("NoSuchSample0000")]).encode(), JSON, 422, "'NoSuchSample0000' (item 1)"),
        ("not an object", b"[1]", JSON, 422, "item 0: an edit must be a JSON object"),
        ("empty", b"  \n", JSONL, 422, "the body is empty"),
        ("not UTF-8", b"\xff\xfe[]", JSON, 422, "not UTF-8"),
        ("wrong media type", line.encode(), {"Content-Type": "text/csv"}, 415, "application/jsonl"),
        ("oversized", b"[" + b" " * (2 << 20) + b"]", JSON, 413, "larger than the server's limit"),
    ]  # fmt: skip
    for name, body, headers, status, expected in cases:
        answer = client.post("/api/v1/sample-edits", content=body, headers=headers)
        assert answer.status_code == status, (name, answer.text)
        assert expected in error_of(answer)["message"], (name, answer.text)
        if status == 422 and name not in ("empty", "not UTF-8"):
            assert error_of(answer)["message"].endswith("nothing was changed"), name
    assert writable.log_hashes() == before and writable.edit_rows() == 0

    # the JSON array form is recognised as JSONL too when sent as application/json (as the CLI reads a file)
    applied = client.post("/api/v1/sample-edits", content=line + "\n", headers=JSON)
    assert applied.status_code == 200 and applied.json()["logs"][0]["applied"] == 1
    assert (
        applied.json()["author"] == "local"
    )  # the caller, whatever the body says (local mode: the local admin)
    listed = client.get("/api/v1/sample-edits", params={"eval_set_id": "es-alpha"}).json()["items"]
    assert [(e["sample_uuid"], e["before"], e["after"]["value"]) for e in listed] == [
        (good, listed[0]["before"], "I")
    ]
    assert client.get("/api/v1/sample-edits").status_code == 422
    assert (
        error_of(client.get("/api/v1/sample-edits", params={"sample_uuid": "a b"}))["field"] == "sample_uuid"
    )


def _records(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in answer.text.splitlines() if line.strip()]


def _texts(records: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in records if r["type"] == "line"]


def test_log_cursors_resume_without_repeating_or_losing_lines(client: TestClient, writable: Writable) -> None:
    output = writable.storage.runner_logs_dir / "es-beta.log"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("one\ntwo\n")
    first = _records(client.get("/api/v1/eval-sets/es-beta/logs"))
    assert _texts(first) == ["one", "two"] and first[-1]["type"] == "end"
    assert first[-1]["reason"] == "finished"

    with output.open("a") as handle:
        handle.write("three\nfour\n")
    resumed = _records(client.get("/api/v1/eval-sets/es-beta/logs", params={"cursor": first[-1]["cursor"]}))
    assert _texts(resumed) == ["three", "four"]
    followed = _records(
        client.get(
            "/api/v1/eval-sets/es-beta/logs", params={"cursor": resumed[-1]["cursor"], "follow": "true"}
        )
    )
    assert _texts(followed) == [] and followed[-1] == {**followed[-1], "type": "end", "reason": "finished"}
    # since and tail shape a first request
    assert _texts(_records(client.get("/api/v1/eval-sets/es-beta/logs", params={"tail": 1}))) == ["four"]
    assert _texts(_records(client.get("/api/v1/eval-sets/es-beta/logs", params={"since": "1h"}))) == [
        "one", "two", "three", "four"
    ]  # fmt: skip

    import base64

    forged = base64.urlsafe_b64encode(
        json.dumps({"v": 1, "e": {}, "c": [["run", "../../../etc/passwd", 0, 0]], "o": 0}).encode()
    ).decode()
    for bad, field in (("not-a-cursor", "cursor"), (forged, "cursor")):
        answer = client.get("/api/v1/eval-sets/es-beta/logs", params={"cursor": bad})
        assert answer.status_code == 422 and error_of(answer)["field"] == field
    answer = client.get("/api/v1/eval-sets/es-beta/logs", params={"since": "yesterday"})
    assert answer.status_code == 422 and error_of(answer)["field"] == "since"
    assert "'yesterday' is not a duration" in error_of(answer)["message"]
    # an eval set with neither runs nor runner output has no logs to show
    assert client.get("/api/v1/eval-sets/es-gamma/logs").status_code == 404


def hawk(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


@pytest.fixture
def remote_and_local(
    writable_settings: MakeSettings, writable: Writable, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A server on the writable deployment; the environment a local command needs to read the same deployment
    (HAWK_API_URL is set per command by :func:`both`)."""
    monkeypatch.setenv("HAWK_STORAGE_ROOT", str(writable.storage.local_path))
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", writable.warehouse_url)
    monkeypatch.delenv("HAWK_OIDC_ISSUER", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with serving(create_app(writable_settings())) as base_url:
        yield base_url


def remote(base_url: str, monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str | None = None) -> Result:
    with monkeypatch.context() as patch:
        patch.setenv("HAWK_API_URL", base_url)
        return hawk(*args, stdin=stdin)


def test_remote_cli_prints_what_local_mode_prints(
    remote_and_local: str, writable: Writable, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    base_url = remote_and_local
    output = writable.storage.runner_logs_dir / "es-alpha.log"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("".join(f"line {i}\n" for i in range(50)))

    def without_time(text: str) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(text)
        report.pop("generated_at")
        return report

    local_status, remote_status = (
        hawk("status", "es-alpha"),
        remote(base_url, monkeypatch, "status", "es-alpha"),
    )
    assert local_status.exit_code == remote_status.exit_code == 0, remote_status.output
    assert without_time(remote_status.output) == without_time(local_status.output)
    assert remote_status.output.startswith('{\n  "schema_version": 1,')

    for args in (("logs", "es-alpha"), ("logs", "es-alpha", "--tail", "3"), ("logs", "es-alpha", "-f")):
        local_logs, remote_logs = hawk(*args), remote(base_url, monkeypatch, *args)
        assert remote_logs.exit_code == 0 and remote_logs.output == local_logs.output, args
    assert remote(base_url, monkeypatch, "logs", "es-alpha", "--tail", "2").output.count("\n") == 2

    request = tmp_path / "edits.jsonl"
    uuids = writable.sample_uuids["es-alpha"]
    request.write_text(
        json.dumps(score_edit(uuids[0], value="I", explanation="regraded")) + "\n"
        + json.dumps({"sample_uuid": uuids[1], "type": "invalidate_sample", "reason": "broken"}) + "\n"
    )  # fmt: skip
    declined = remote(base_url, monkeypatch, "edit-samples", str(request), stdin="n\n")
    assert declined.exit_code == 2 and "2 edit(s) in 1 log(s):" in declined.output
    assert f"{uuids[0]} (id " in declined.output and "nothing was changed" in declined.output
    assert writable.edit_rows() == 0
    applied = remote(base_url, monkeypatch, "edit-samples", str(request), "--yes")
    assert applied.exit_code == 0, applied.output
    assert (
        "es-alpha / " in applied.output
        and ": 2 applied, 0 already applied, 0 unchanged; warehouse imported" in applied.output
    )
    assert "by local (see `hawk list edits`)" in applied.output
    again = remote(base_url, monkeypatch, "edit-samples", str(request), "--yes", "--format", "json")
    assert (
        again.exit_code == 0
        and json.loads(again.stdout[again.stdout.index("{") :])["logs"][0]["already_applied"] == 2
    )

    for args in (("list", "edits", "es-alpha"), ("list", "edits", "--sample", uuids[1], "--format", "json"),
                 ("list", "edits", "es-alpha", "--format", "csv")):  # fmt: skip
        local_list, remote_list = hawk(*args), remote(base_url, monkeypatch, *args)
        assert remote_list.exit_code == 0 and remote_list.output == local_list.output, args
    assert "regraded" in remote(base_url, monkeypatch, "list", "edits", "es-alpha").output

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(score_edit(uuids[0], scorer="nope")) + "\n")
    refused = remote(base_url, monkeypatch, "edit-samples", str(bad), "--yes")
    local_refused = hawk("edit-samples", str(bad), "--yes")
    assert refused.exit_code == local_refused.exit_code == 2, (refused.output, local_refused.output)
    assert refused.output == local_refused.output

    plan_only = remote(
        base_url, monkeypatch, "delete", "es-beta"
    )  # not a terminal and no --yes: nothing happens
    assert plan_only.exit_code == 2 and "pass --yes" in plan_only.output
    assert f"eval set es-beta (submitted by {OWNERS['es-beta']})" in plan_only.output
    assert "  no Dagster instance here (DAGSTER_HOME): its runs, if any, are not stopped" in plan_only.output
    assert "its logs stay in " in plan_only.output
    deleted = remote(base_url, monkeypatch, "delete", "es-beta", "--yes")
    assert deleted.exit_code == 0 and deleted.output.endswith("deleted eval set es-beta\n"), deleted.output
    listed = json.loads(remote(base_url, monkeypatch, "list", "eval-sets", "--format", "json").output)
    assert {row["eval_set_id"] for row in listed} == set(EVAL_SETS) - {"es-beta"}
    assert list((writable.storage.local_path / "evals" / "es-beta").glob("*.eval")), "its logs are kept"
    again_plan = remote(base_url, monkeypatch, "delete", "es-beta", "--yes")
    assert "  already deleted at " in again_plan.output

    for args in (
        ("status", "es-nope"),
        ("logs", "es-nope"),
        ("delete", "es-nope", "--yes"),
        ("list", "edits", "es-nope"),
    ):
        failed = remote(base_url, monkeypatch, *args)
        assert failed.exit_code == 2 and "no such eval set" in failed.output, (args, failed.output)


def test_edits_are_refused_while_a_runner_holds_the_log(client: TestClient, writable: Writable) -> None:
    from hawk_runner.log_lock import hold_output_folder

    before = writable.log_hashes()
    edit = json.dumps([score_edit(writable.sample_uuids["es-gamma"][0])])
    with hold_output_folder(writable.storage.eval_log_dir("es-gamma"), "eval set es-gamma"):
        for dry_run in (True, False):
            refused = client.post(
                "/api/v1/sample-edits", params={"dry_run": dry_run}, content=edit, headers=JSON
            )
            assert refused.status_code == 409 and error_of(refused)["code"] == "eval_running", refused.text
            assert "is writing its logs; edit after it ends" in error_of(refused)["message"]
    assert writable.log_hashes() == before and writable.edit_rows() == 0
    assert client.post("/api/v1/sample-edits", content=edit, headers=JSON).status_code == 200


def test_a_remote_follower_retries_until_the_server_answers(
    writable_settings: MakeSettings, writable: Writable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection fails at first (no server yet): ``hawk logs -f`` tries again and prints every line once."""
    import threading

    import uvicorn

    from tests.api.conftest import free_port

    output = writable.storage.runner_logs_dir / "es-alpha.log"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("only once\n")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(writable_settings()), host="127.0.0.1", port=port, log_config=None)
    )
    starter = threading.Timer(3.0, server.run)  # later than the CLI, even a slow one, first connects
    starter.start()
    try:
        monkeypatch.setenv("HAWK_API_URL", f"http://127.0.0.1:{port}")
        monkeypatch.delenv("HAWK_OIDC_ISSUER", raising=False)
        followed = hawk("logs", "es-alpha", "-f")
    finally:
        server.should_exit = True
        starter.join(timeout=30)
    assert followed.exit_code == 0, followed.output
    assert followed.output.count("only once") == 1


def test_on_kubernetes_the_status_report_has_the_clusters_section(
    writable_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HAWK_DEPLOYMENT=kubernetes (the chart's API pods) adds the pods, read through the instance's launcher
    (tests/deployment/test_k8s_launcher.py reads real ones on the emulator); here there is no instance to read
    through, and the section says so. Elsewhere the report has no such section."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    reports = {}
    for kubernetes in (False, True):
        with TestClient(create_app(writable_settings(kubernetes=kubernetes))) as test_client:
            answer = test_client.get("/api/v1/eval-sets/es-alpha/status")
            assert answer.status_code == 200, answer.text
            reports[kubernetes] = answer.json()
    assert reports[False]["kubernetes"] is None
    section = reports[True]["kubernetes"]
    assert section["run_pods"] == [] and "no Dagster instance here" in section["detail"]
