"""The operations through a running ``hawk serve`` on real local runs: status and ``logs -f`` of a running eval set
through the API (followed across the server's follow windows, so the CLI reconnects many times, each line printed
once), and deleting a running eval set through the API (run cancelled, rows hidden, logs kept)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port
from tests.cli.conftest import HAWK, HawkEnv, hawk_env, live_report, wait_for  # noqa: F401 (the fixture)
from tests.grids import write_gated_grid

pytestmark = pytest.mark.slow


@pytest.fixture
def api_url(hawk_env: HawkEnv) -> Iterator[str]:  # noqa: F811
    """``hawk serve`` (local mode) on the test's storage root and warehouse; follow windows of 2 s; its log in
    ``<root>/../serve.log``."""
    port = free_port()
    log = (hawk_env.root.parent / "serve.log").open("w")
    env = {k: v for k, v in hawk_env.env.items() if not k.startswith("HAWK_OIDC_")}
    server = subprocess.Popen(
        [*HAWK, "serve", "--port", str(port)],
        env={**env, "HAWK_API_FOLLOW_SECONDS": "2"},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, (hawk_env.root.parent / "serve.log").read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "hawk serve did not start"
        time.sleep(0.2)
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def remote(hawk_env: HawkEnv, url: str, *args: str) -> subprocess.CompletedProcess[str]:  # noqa: F811
    return hawk_env.run(*args, extra_env={"HAWK_API_URL": url})


def test_status_and_followed_logs_through_the_api(
    hawk_env: HawkEnv,  # noqa: F811
    api_url: str,
    tmp_path: Path,
) -> None:
    gate = tmp_path / "release"
    config = write_gated_grid(tmp_path / "cfg", "watched-api", gate, samples=6)
    run = hawk_env.popen("local", "eval-set", str(config), "--skip-confirm")
    follower = None
    try:
        running = wait_for(
            "progress in `hawk status` through the API",
            lambda: live_report(hawk_env, "watched-api", {"HAWK_API_URL": api_url}),
            240,
        )
        (cell,) = running["cells"]
        assert cell["samples"] == {"done": 0, "total": 6, "errors": 0, "reused": 0}
        follower = subprocess.Popen(
            [*HAWK, "logs", "watched-api", "-f"],
            env={**hawk_env.env, "HAWK_API_URL": api_url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        time.sleep(
            5
        )  # the follower lives through at least two follow windows of the server before the gate opens
        gate.touch()
        output, _ = run.communicate(timeout=300)
        assert run.returncode == 0, output
        followed, errors = follower.communicate(timeout=120)  # ends by itself once the run has ended
        assert follower.returncode == 0, errors
    finally:
        for process in (run, follower):
            if process is not None and process.poll() is None:
                process.kill()

    whole = hawk_env.run("logs", "watched-api")  # locally, from the same run history
    assert whole.returncode == 0, whole.stderr
    followed_lines = [line for line in followed.splitlines() if line.strip()]
    whole_lines = [line for line in whole.stdout.splitlines() if line.strip()]
    assert Counter(followed_lines) == Counter(whole_lines), (
        "a line was printed twice or lost across reconnects"
    )
    assert any("progress gated [hawk-mock/careful]: 6/6 samples" in line for line in followed_lines)
    assert remote(hawk_env, api_url, "logs", "watched-api").stdout == whole.stdout

    local_report = json.loads(hawk_env.run("status", "watched-api").stdout)
    remote_report = json.loads(remote(hawk_env, api_url, "status", "watched-api").stdout)
    for report in (local_report, remote_report):
        report.pop("generated_at")
    assert remote_report == local_report and remote_report["state"] == "succeeded"

    # An edit through the API is reported to the deployment's Dagster instance: a materialisation of the eval set's
    # warehouse partition, which `hawk status` shows as its last import.
    samples = json.loads(
        remote(hawk_env, api_url, "list", "samples", "watched-api", "--format", "json").stdout
    )
    request = tmp_path / "edit.jsonl"
    request.write_text(
        json.dumps({"sample_uuid": samples[0]["uuid"], "type": "invalidate_sample", "reason": "api"}) + "\n"
    )
    edited = remote(hawk_env, api_url, "edit-samples", str(request), "--yes")
    assert edited.returncode == 0 and ": 1 applied," in edited.stdout, edited.stdout + edited.stderr
    after_edit = json.loads(remote(hawk_env, api_url, "status", "watched-api").stdout)
    assert after_edit["warehouse"]["last_import"] > remote_report["warehouse"]["last_import"]
    (edit,) = json.loads(remote(hawk_env, api_url, "list", "edits", "watched-api", "--format", "json").stdout)
    assert (edit["author"], edit["type"]) == ("local", "invalidate_sample")


def test_deleting_a_running_eval_set_through_the_api(
    hawk_env: HawkEnv,  # noqa: F811
    api_url: str,
    tmp_path: Path,
) -> None:
    config = write_gated_grid(tmp_path / "cfg", "doomed-api", tmp_path / "never")
    run = hawk_env.popen("local", "eval-set", str(config), "--skip-confirm")
    try:
        report = wait_for(
            "the eval set running",
            lambda: live_report(hawk_env, "doomed-api", {"HAWK_API_URL": api_url}),
            240,
        )
        run_id = report["runs"][0]["run_id"]
        shown = remote(hawk_env, api_url, "delete", "doomed-api")  # no terminal, no --yes: the plan only
        assert shown.returncode == 2 and f"  will stop run {run_id} (STARTED)" in shown.stdout, shown.stdout
        assert json.loads(remote(hawk_env, api_url, "status", "doomed-api").stdout)["state"] == "running"

        deleted = remote(hawk_env, api_url, "delete", "doomed-api", "--yes")
        assert deleted.returncode == 0, deleted.stdout + deleted.stderr
        assert f"stopped run {run_id}" in deleted.stdout and "deleted eval set doomed-api" in deleted.stdout
        run.communicate(timeout=120)  # the run's own process ends: it was told to stop
    finally:
        if run.poll() is None:
            run.kill()

    after = json.loads(remote(hawk_env, api_url, "status", "doomed-api").stdout)
    assert after["state"] == "canceled" and after["runs"][0]["status"] == "CANCELED"
    assert list((hawk_env.root / "evals" / "doomed-api").glob("*.eval")), "its logs are kept"
    listed = json.loads(remote(hawk_env, api_url, "list", "eval-sets", "--format", "json").stdout)
    assert [row["eval_set_id"] for row in listed] == []
    (hidden,) = json.loads(hawk_env.run("list", "eval-sets", "--include-deleted", "--format", "json").stdout)
    assert hidden["eval_set_id"] == "doomed-api" and hidden["deleted_by"] == "local"
    assert os.environ.get("HAWK_API_URL") is None
