"""The scan configs sensor and ``hawk scan run``, through Dagster against a local folder and moto's S3 server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from hawk_dagster.intake.watch import WatchCursor, process_new_configs
from hawk_dagster.partitions import scan_cell_key
from hawk_dagster.scans.intake import SCAN_CONFIGS_KIND
from hawk_dagster.scans.planning import plan_for_scan_cell
from hawk_dagster.scans.sensor import scan_config_sensor
from hawk_dagster.scans.submission import load_submitted_scan
from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.storage.submissions import read_submission
from tests.grids import EXAMPLES
from tests.scans.submitted import grep_scan, submitted_eval_set


def _configs(root: str) -> Any:
    configs = StorageRoot(root).scan_configs
    configs.mkdir(parents=True, exist_ok=True)
    return configs


def _tick(root: str, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    with dg.build_sensor_context(instance=instance, cursor=cursor) as ctx:
        result = scan_config_sensor(root)(ctx)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def _added(result: dg.SensorResult) -> dict[str, list[str]]:
    added: dict[str, list[str]] = {}
    for request in result.dynamic_partitions_requests or []:
        assert isinstance(request, dg.AddDynamicPartitionsRequest)
        added.setdefault(request.partitions_def_name, []).extend(request.partition_keys)
    return added


def test_a_dropped_scan_becomes_partitions_and_one_run_per_eval_set(storage_root: str) -> None:
    submitted_eval_set(storage_root, "nightly-1", ["nightly"])
    submitted_eval_set(storage_root, "nightly-2", ["nightly"])
    submitted_eval_set(storage_root, "adhoc", [])
    configs = _configs(storage_root)
    (configs / "sudo-hunt.yaml").write_text(grep_scan("{eval_set_tag: nightly}"))
    instance = dg.DagsterInstance.ephemeral()

    result = _tick(storage_root, instance, None)
    assert isinstance(result, dg.SensorResult)
    assert _added(result) == {"scans": ["sudo-hunt"], "eval_sets": ["nightly-1", "nightly-2"]}
    requests = result.run_requests or []
    assert {r.partition_key for r in requests} == {
        str(scan_cell_key("sudo-hunt", "nightly-1")),
        str(scan_cell_key("sudo-hunt", "nightly-2")),
    }
    assert len({r.run_key for r in requests}) == 2 and all(
        r.tags["hawk/source"] == "sensor" for r in requests
    )
    submission = read_submission(StorageRoot(storage_root), "sudo-hunt", kind="scans")
    assert submission.config_text == grep_scan("{eval_set_tag: nightly}")

    # the next tick: nothing new
    again = _tick(storage_root, instance, result.cursor)
    assert isinstance(again, dg.SkipReason)


def test_submitting_returns_the_resolution_the_sensor_launches_from(storage_root: str) -> None:
    """The sensor launches from what submitting decided, not from a second read of the stored resolution."""
    submitted_eval_set(storage_root, "nightly-1", ["nightly"])
    (_configs(storage_root) / "hunt.yaml").write_text(grep_scan("{eval_set_tag: nightly}"))
    storage = StorageRoot(storage_root)
    (accepted,) = process_new_configs(storage, WatchCursor(), SCAN_CONFIGS_KIND).accepted
    assert accepted.outcome == load_submitted_scan(storage, "hunt").resolution
    assert accepted.outcome is not None and accepted.outcome.eval_set_ids == ["nightly-1"]


def test_a_scan_of_an_unknown_eval_set_gets_an_error_file_and_no_run(storage_root: str) -> None:
    configs = _configs(storage_root)
    (configs / "typo.yaml").write_text(grep_scan("{eval_set_id: no-such-set}"))
    result = _tick(storage_root, dg.DagsterInstance.ephemeral(), None)
    assert (
        isinstance(result, dg.SensorResult)
        and not result.run_requests
        and not result.dynamic_partitions_requests
    )
    error = (configs / "typo.yaml.error").read_text()
    assert "nothing was launched" in error and "unknown eval set 'no-such-set'" in error
    assert not StorageRoot(storage_root).path("scans", "typo").exists()


def test_a_scan_with_an_unknown_top_level_key_gets_an_error_file(tmp_path: Path) -> None:
    """Scans pass nothing through, so an unknown key is an error wherever the config comes from."""
    root = str(tmp_path / "root")
    submitted_eval_set(root, "nightly-1", ["nightly"])
    configs = _configs(root)
    (configs / "extra.yaml").write_text(grep_scan("{eval_set_tag: nightly}") + "max_tasks: 2\n")
    result = _tick(root, dg.DagsterInstance.ephemeral(), None)
    assert isinstance(result, dg.SensorResult) and not result.run_requests
    assert "max_tasks: unknown key 'max_tasks'" in (configs / "extra.yaml.error").read_text()


def hawk(root: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hawk_dagster.cli", *args],
        env={**os.environ, "HAWK_STORAGE_ROOT": root},
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_hawk_scan_run_submits_to_the_configs_folder(storage_root: str, tmp_path: Path) -> None:
    submitted_eval_set(storage_root, "nightly-1", ["nightly"])
    config = tmp_path / "hunt.yaml"
    config.write_text("name: Sudo Hunt\n" + grep_scan("{eval_set_id: nightly-1}"))
    proc = hawk(storage_root, "scan", "run", str(config))
    assert proc.returncode == 0, proc.stderr
    scan_id = proc.stdout.strip()
    assert scan_id.startswith("sudo-hunt-")
    submitted = StorageRoot(storage_root).scan_configs / f"{scan_id}.yaml"
    assert submitted.read_text().startswith(f"scan_id: {scan_id}\nname: Sudo Hunt\n")
    result = _tick(storage_root, dg.DagsterInstance.ephemeral(), None)
    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests or []] == [str(scan_cell_key(scan_id, "nightly-1"))]

    bad = tmp_path / "bad.yaml"
    bad.write_text(grep_scan("{eval_set_id: missing}"))
    refused = hawk(storage_root, "scan", "run", str(bad))
    assert refused.returncode == 2 and "unknown eval set 'missing'" in refused.stderr
    assert [p.name for p in StorageRoot(storage_root).scan_configs.iterdir()] == [f"{scan_id}.yaml"]


def test_hawk_scan_run_carries_a_local_scanner_package(
    storage_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """configs/examples/keyword.scan.yaml names `./packages/hawk-example-scanners`: it is uploaded with the config
    and the scan's cells install it from there (fetched to this machine first on S3)."""
    monkeypatch.chdir(tmp_path)
    submitted_eval_set(storage_root, "simple-1", ["example"])
    proc = hawk(storage_root, "scan", "run", str(EXAMPLES / "keyword.scan.yaml"))
    assert proc.returncode == 0, proc.stderr
    scan_id = proc.stdout.strip()
    storage = StorageRoot(storage_root)
    text = (storage.scan_configs / f"{scan_id}.yaml").read_text()
    assert text.startswith(f"scan_id: {scan_id}\ncarried_files: '")

    result = _tick(storage_root, dg.DagsterInstance.ephemeral(), None)

    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests or []] == [str(scan_cell_key(scan_id, "simple-1"))]
    assert [p.name for p in storage.scan_configs.iterdir()] == [f"{scan_id}.yaml"]  # no .error
    [package] = plan_for_scan_cell(storage, load_submitted_scan(storage, scan_id), "simple-1").packages
    assert Path(package).name == "hawk-example-scanners" and (Path(package) / "pyproject.toml").is_file()
    bundle = text.split("carried_files: '", 1)[1][:32]
    where = (
        storage.local_path / "configs" / ".carried" if storage.is_local else tmp_path / ".hawk" / "carried"
    )
    assert Path(package).is_relative_to(where / bundle)


def test_hawk_scan_run_refuses_an_absolute_scanner_package(storage_root: str, tmp_path: Path) -> None:
    submitted_eval_set(storage_root, "simple-1", ["example"])
    config = tmp_path / "scan.yaml"
    package = EXAMPLES / "packages" / "hawk-example-scanners"
    config.write_text(
        (EXAMPLES / "keyword.scan.yaml").read_text().replace("./packages/hawk-example-scanners", str(package))
    )
    proc = hawk(storage_root, "scan", "run", str(config))
    assert proc.returncode == 2
    assert "scanners[0].package: " in proc.stderr and "location on this machine only" in proc.stderr
    configs = StorageRoot(storage_root).path("configs")
    assert not configs.exists() or not [p for p in configs.rglob("*") if p.is_file()]
