"""The CLI in remote mode (``HAWK_API_URL``): ``hawk list ...``, ``hawk transcript``, ``hawk eval-set``, ``hawk scan
run`` and ``hawk scan export`` through a running server, signed in with a real device-flow login where the server
has an issuer."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hawk_dagster.api.app import create_app
from hawk_dagster.cli.main import cli
from hawk_dagster.storage.root import StorageRoot
from tests.api.conftest import (
    EVAL_SETS,
    SAMPLES_PER_EVAL_SET,
    SCAN_ID,
    Deployment,
    MakeSettings,
    eval_set_config,
    scan_config,
    serving,
    sign_in,
    signed_in_server,
)


def hawk(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def local_server(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    with serving(create_app(make_settings())) as base_url:
        monkeypatch.setenv("HAWK_API_URL", base_url)
        for name in ("HAWK_OIDC_ISSUER", "HAWK_WAREHOUSE_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HAWK_STORAGE_ROOT", str(tmp_path / "not-used"))  # nothing local is read
        yield base_url


def test_lists_and_transcripts_through_the_api(
    local_server: str, deployment: Deployment, tmp_path: Path
) -> None:
    listing = hawk("list", "eval-sets", "--format", "json")
    assert listing.exit_code == 0, listing.output
    assert {r["eval_set_id"] for r in json.loads(listing.output)} == set(EVAL_SETS)
    table = hawk("list", "eval-sets")
    assert table.exit_code == 0 and "es-gamma" in table.output and "Eval sets (3 of 3)" in table.output
    (ev,) = json.loads(hawk("list", "evals", "es-alpha", "--format", "json").output)
    assert (ev["model"], ev["headline_metric"]) == ("hawk-mock/alpha", "match/accuracy")
    samples = json.loads(hawk("list", "samples", "es-alpha", "--sort", "id", "--format", "json").output)
    assert [s["id"] for s in samples] == ["+1", "+2", "+3"]
    page = hawk("list", "samples", "es-alpha", "--sort", "id", "--limit", "2", "--offset", "1")
    assert "Samples 2-3 of 3" in page.output
    everything = hawk("list", "samples", "es-alpha", "es-beta", "--all", "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(everything.output)))) == 2 * SAMPLES_PER_EVAL_SET
    assert "No samples" in hawk("list", "samples", "es-alpha", "--status", "error").output
    scans = json.loads(hawk("list", "scans", "--format", "json").output)
    assert [s["scan_id"] for s in scans] == [SCAN_ID]

    uuid = deployment.sample_uuids["es-beta"][0]
    markdown = hawk("transcript", uuid)
    assert (
        markdown.exit_code == 0
        and markdown.output.startswith("# Sample ")
        and "hawk-mock/beta" in markdown.output
    )
    assert json.loads(hawk("transcript", uuid, "--raw").output)["uuid"] == uuid

    exported = hawk("scan", "export", SCAN_ID, "-o", "-")
    assert exported.exit_code == 0 and {
        r["scan_id"] for r in csv.DictReader(io.StringIO(exported.output))
    } == {SCAN_ID}

    for args in (
        ("list", "evals", "es-nope"),
        ("transcript", "NoSuchSample00"),
        ("list", "samples", "es-x", "--sort", "pk"),
    ):
        failed = hawk(*args)
        assert failed.exit_code == 2, (args, failed.output)
        assert failed.output.startswith("error: ")


def test_submissions_through_the_api(local_server: str, storage: StorageRoot, tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(eval_set_config("remote grid", "hawk-mock/alpha") + "eval_set_id: remote-grid\n")
    submitted = hawk("eval-set", str(grid))
    assert submitted.exit_code == 0, submitted.output
    assert submitted.stdout.strip() == "remote-grid"
    assert (storage.local_path / "configs" / "eval-sets" / "remote-grid.yaml").exists()  # the server's root

    scan = tmp_path / "scan.yaml"
    scan.write_text(scan_config("es-alpha") + "scan_id: remote-scan\n")
    assert hawk("scan", "run", str(scan)).exit_code == 0
    assert (storage.local_path / "configs" / "scans" / "remote-scan.yaml").exists()

    local_task = tmp_path / "local.yaml"
    local_task.write_text("name: x\ntasks:\n  - path: tasks.py\n    items: [{name: t}]\n")
    (tmp_path / "tasks.py").write_text(
        "from inspect_ai import Task, task\n\n\n@task\ndef t() -> Task:\n    return Task()\n"
    )
    refused = hawk("eval-set", str(local_task))
    assert refused.exit_code == 2 and "tasks[0].path" in refused.output and "HAWK_API_URL" in refused.output


def test_signed_in_through_a_real_login(
    make_settings: MakeSettings, oidc_provider: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with signed_in_server(make_settings, oidc_provider, monkeypatch, tmp_path):
        not_signed_in = hawk("list", "eval-sets")
        assert not_signed_in.exit_code != 0 and "hawk login" in not_signed_in.output

        sign_in(oidc_provider, "remote-bob", ["model-access-beta"])

        listing = hawk("list", "eval-sets", "--format", "json")
        assert listing.exit_code == 0, listing.output
        assert [r["eval_set_id"] for r in json.loads(listing.output)] == ["es-beta"]
        hidden = hawk("list", "evals", "es-alpha")
        assert hidden.exit_code == 2 and "no such eval set" in hidden.output
