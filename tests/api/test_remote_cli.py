"""The CLI in remote mode (``HAWK_API_URL``): ``hawk list ...``, ``hawk transcript``, ``hawk eval-set``, ``hawk scan
run`` and ``hawk scan export`` through a running server, signed in with a real device-flow login where the server
has an issuer."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hawk_dagster.api.app import create_app
from hawk_dagster.cli.main import cli
from hawk_dagster.config.loader import load_eval_set_config
from hawk_dagster.config.local_files import eval_set_references
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
    snapshot,
)
from tests.grids import EXAMPLES


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

    absolute = tmp_path / "absolute.yaml"
    absolute.write_text(
        f"name: x\ntasks:\n  - path: {EXAMPLES / 'tasks' / 'arithmetic.py'}\n    items: [{{name: addition}}]\n"
    )
    refused = hawk("eval-set", str(absolute))  # refused here, as for a storage root: nothing is sent
    assert (
        refused.exit_code == 2 and "tasks[0].path" in refused.output and "this machine only" in refused.output
    )


def _accepted_and_planned(storage: StorageRoot, eval_set_id: str) -> list[Path]:
    """The configs sensor accepts the submitted eval set; the local paths its plan names (in the bundle)."""
    from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND
    from hawk_dagster.evals.planning import load_submitted_eval_set, plan_for_eval_set
    from hawk_dagster.intake.watch import WatchCursor, process_new_configs
    from tests.cli.test_submit import local_paths

    result = process_new_configs(storage, WatchCursor.parse(None), EVAL_SET_CONFIGS_KIND)
    assert [a.eval_set_id for a in result.accepted] == [eval_set_id] and not result.rejected
    return local_paths(plan_for_eval_set(storage, load_submitted_eval_set(storage, eval_set_id)))


@pytest.mark.parametrize("example", ["simple", "ctf", "package"])
def test_local_files_are_carried_through_the_api(
    local_server: str, storage: StorageRoot, tmp_path: Path, example: str
) -> None:
    """What `hawk eval-set` carries to a storage root it carries through the API: the same bundle, which the
    server stores where a local submission would, and the sensor plans the eval set from its files."""
    from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND
    from hawk_dagster.intake.submit import submit_to_configs_folder
    from tests.cli.test_submit import carried_id

    config = EXAMPLES / f"{example}.eval-set.yaml"
    submitted = hawk("eval-set", str(config))
    assert submitted.exit_code == 0, submitted.output
    eval_set_id = submitted.stdout.strip()
    bundle = carried_id((storage.local_path / "configs" / "eval-sets" / f"{eval_set_id}.yaml").read_text())
    assert f"(bundle {bundle})" in submitted.stderr and "carried " in submitted.stderr

    elsewhere = StorageRoot(str(tmp_path / "local-root"))  # the same config submitted to a storage root
    loaded = load_eval_set_config(config)
    local = submit_to_configs_folder(elsewhere, EVAL_SET_CONFIGS_KIND, text=loaded.text, base_dir=config.parent,
                                     refs=eval_set_references(loaded.config), submission_id="x",
                                     already_carried=None)  # fmt: skip
    assert local.manifest is not None and local.manifest.bundle_id == bundle

    where = storage.local_path / "configs" / ".carried" / bundle
    paths = _accepted_and_planned(storage, eval_set_id)
    assert paths and all(p.exists() and p.is_relative_to(where) for p in paths), (paths, where)


def test_paths_above_the_config_folder_and_scanner_packages_through_the_api(
    local_server: str, storage: StorageRoot, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "tasks", repo / "tasks")
    shutil.copytree(EXAMPLES / "packages" / "hawk-example-scanners", repo / "packages" / "scanners")
    (repo / "configs").mkdir()
    grid = repo / "configs" / "grid.yaml"
    grid.write_text("tasks:\n  - path: ../tasks/arithmetic.py\n    items: [{name: addition}]\n"
                    "models:\n  - items: [{name: hawk-mock/alpha}]\neval_set_id: above\n")  # fmt: skip
    submitted = hawk("eval-set", str(grid))
    assert submitted.exit_code == 0, submitted.output
    (task_file,) = _accepted_and_planned(storage, "above")
    assert task_file.parts[-2:] == ("tasks", "arithmetic.py")

    scan = repo / "configs" / "scan.yaml"
    scan.write_text(
        scan_config("es-alpha").replace("package: hawk-example-scanners", "package: ../packages/scanners")
        + "scan_id: carried-scan\n"
    )
    scanned = hawk("scan", "run", str(scan))
    assert scanned.exit_code == 0, scanned.output
    assert scanned.stdout.strip() == "carried-scan" and "carried " in scanned.stderr
    text = (storage.local_path / "configs" / "scans" / "carried-scan.yaml").read_text()
    assert "carried_files: '" in text


def test_what_the_server_refuses_exits_2_with_its_message(
    make_settings: MakeSettings, storage: StorageRoot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The server's own carry limits apply whatever the CLI allows; nothing is written."""
    from hawk_dagster.intake.carry import CarryLimits

    before = snapshot(storage.local_path)
    app = create_app(make_settings(carry_limits=CarryLimits(max_files=1, max_bytes=10 * 2**20)))
    with serving(app) as base_url:
        monkeypatch.setenv("HAWK_API_URL", base_url)
        monkeypatch.delenv("HAWK_OIDC_ISSUER", raising=False)
        folder = tmp_path / "cfg"
        shutil.copytree(EXAMPLES / "tasks", folder / "tasks")
        (folder / "tasks" / "notes.txt").write_text("a second file in the task's folder\n")
        grid = folder / "grid.yaml"
        grid.write_text("tasks:\n  - path: tasks/arithmetic.py\n    items: [{name: addition}]\n")
        refused = hawk("eval-set", str(grid))
    assert refused.exit_code == 2, refused.output
    assert "exceed the server's limit of 1 files" in refused.output
    assert snapshot(storage.local_path) == before


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


@pytest.mark.slow
def test_an_eval_set_submitted_through_the_api_runs_with_its_carried_files(
    tmp_path: Path,
    make_database: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    dagster_instance: Any,
) -> None:
    """`hawk eval-set` of the simple example (a local task file) through a running server, then the sensor's tick
    and the run it requests, materialised by Dagster from the files the server stored."""
    from hawk_dagster.api.settings import ServerSettings
    from tests.cli.test_submit import run_the_submitted_eval_set

    root = str(tmp_path / "deployment")
    warehouse = make_database()
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", warehouse)
    app = create_app(ServerSettings(storage=StorageRoot(root), warehouse_url=warehouse, oidc=None))
    with serving(app) as base_url:
        monkeypatch.setenv("HAWK_API_URL", base_url)
        monkeypatch.delenv("HAWK_OIDC_ISSUER", raising=False)
        monkeypatch.setenv("HAWK_STORAGE_ROOT", str(tmp_path / "not-used"))
        submitted = hawk("eval-set", str(EXAMPLES / "simple.eval-set.yaml"))
    assert submitted.exit_code == 0, submitted.output
    eval_set_id = submitted.stdout.strip()
    assert not (tmp_path / "not-used").exists()  # everything went through the server

    run_the_submitted_eval_set(root, dagster_instance)
    assert len(list(Path(StorageRoot(root).eval_log_dir(eval_set_id)).glob("*.eval"))) == 4
