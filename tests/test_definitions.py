"""The code location loads as Dagster tooling sees it: assets, checks, sensors, the job, and the CLI validators."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest

from hawk_dagster.definitions import build_definitions, defs
from hawk_dagster.deployment.kind import deployment_from_env
from hawk_dagster.execution.runner import EvalRunnerResource
from tests.dagster_servers import BIN, REPO, WORKSPACE, dagster_home

EVAL_LOGS = dg.AssetKey("eval_logs")
EVAL_WAREHOUSE = dg.AssetKey("eval_warehouse")
SCAN_RESULTS = dg.AssetKey("scan_results")


def _spec(key: dg.AssetKey) -> dg.AssetSpec:
    (spec,) = [s for s in defs.resolve_assets_def(key).specs if s.key == key]
    return spec


def test_assets_are_partitioned_by_eval_sets() -> None:
    assert set(defs.resolve_asset_graph().get_all_asset_keys()) == {
        EVAL_LOGS,
        EVAL_WAREHOUSE,
        SCAN_RESULTS,
        dg.AssetKey("scan_warehouse"),
    }
    for key in (EVAL_LOGS, EVAL_WAREHOUSE):
        partitions = _spec(key).partitions_def
        assert isinstance(partitions, dg.DynamicPartitionsDefinition), key
        assert partitions.name == "eval_sets"


def test_scan_cells_map_to_the_eval_set_partition_they_read() -> None:
    spec = _spec(SCAN_RESULTS)
    partitions = spec.partitions_def
    assert isinstance(partitions, dg.MultiPartitionsDefinition)
    assert {d.name: d.partitions_def.name for d in partitions.partitions_defs} == {  # type: ignore[attr-defined]
        "scan": "scans",
        "eval_set": "eval_sets",
    }
    (dep,) = spec.deps
    assert dep.asset_key == EVAL_LOGS
    assert isinstance(dep.partition_mapping, dg.MultiToSingleDimensionPartitionMapping)
    assert dep.partition_mapping.partition_dimension_name == "eval_set"

    # Read through Dagster's own mapping: the cell (scan s1, eval set es-a) reads eval_logs partition es-a.
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("scans", ["s1"])
    instance.add_dynamic_partitions("eval_sets", ["es-a", "es-b"])
    upstream = dep.partition_mapping.get_upstream_mapped_partitions_result_for_partitions(
        partitions.subset_with_partition_keys([dg.MultiPartitionKey({"scan": "s1", "eval_set": "es-a"})]),
        partitions,
        _spec(EVAL_LOGS).partitions_def,
        dynamic_partitions_store=instance,
    )
    assert set(upstream.partitions_subset.get_partition_keys()) == {"es-a"}


def test_scan_cells_automation_standing_and_warehouse_eager() -> None:
    results = _spec(SCAN_RESULTS).automation_condition
    assert results is not None
    names = []
    pending = [results]
    while pending:
        condition = pending.pop()
        names.append(condition.name)
        pending.extend(condition.children)
    assert "standing_scan_cell" in names and results.children[0].get_label() == "eager"
    warehouse = _spec(dg.AssetKey("scan_warehouse"))
    assert [dep.asset_key for dep in warehouse.deps] == [SCAN_RESULTS]
    assert (
        warehouse.automation_condition is not None and warehouse.automation_condition.get_label() == "eager"
    )


def test_warehouse_follows_logs_eagerly() -> None:
    spec = _spec(EVAL_WAREHOUSE)
    assert [dep.asset_key for dep in spec.deps] == [EVAL_LOGS]
    assert spec.automation_condition is not None
    assert spec.automation_condition.get_label() == "eager"
    assert spec.automation_condition == dg.AutomationCondition.eager()
    assert _spec(EVAL_LOGS).automation_condition is None  # launched by the configs sensor, not by automation


def test_asset_checks() -> None:
    checks = {
        (spec.asset_key, spec.name): spec
        for key in (EVAL_LOGS, EVAL_WAREHOUSE)
        for spec in defs.resolve_assets_def(key).check_specs
    }
    assert set(checks) == {(EVAL_LOGS, "all_cells_succeeded"), (EVAL_WAREHOUSE, "warehouse_matches_logs")}
    assert checks[(EVAL_WAREHOUSE, "warehouse_matches_logs")].blocking
    assert not checks[(EVAL_LOGS, "all_cells_succeeded")].blocking


def test_sensors_run_by_default() -> None:
    sensors = {s.name: s for s in defs.sensors or []}
    assert set(sensors) == {
        "eval_set_configs",
        "scan_configs",
        "scheduled_scans",
        "hawk_automation",
        "model_groups_refresh",
    }
    for name in sensors:
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING, name
    assert isinstance(sensors["hawk_automation"], dg.AutomationConditionSensorDefinition)
    configs = defs.resolve_sensor_def("eval_set_configs")
    assert configs.asset_selection is not None
    assert configs.asset_selection.resolve(defs.resolve_asset_graph()) == {EVAL_LOGS}
    assert defs.resolve_sensor_def("scan_configs").job_name == "scan_pipeline"
    assert defs.resolve_sensor_def("scheduled_scans").job_name == "scan_pipeline"
    assert not defs.schedules  # cron re-runs are a sensor (see docs/ARCHITECTURE.md)


def test_pipeline_job_selects_both_assets() -> None:
    job = defs.resolve_job_def("eval_set_pipeline")
    assert job.asset_layer.selected_asset_keys == {EVAL_LOGS, EVAL_WAREHOUSE}
    assert isinstance(job.partitions_def, dg.DynamicPartitionsDefinition)
    assert job.partitions_def.name == "eval_sets"


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL
    )


@pytest.mark.slow
def test_dagster_cli_validators_accept_the_code_location(tmp_path: Path) -> None:
    """``dg check defs`` and ``dagster definitions validate`` (each ~10 s of imports, so run side by side)."""
    env = {
        **os.environ,
        "HAWK_STORAGE_ROOT": str(tmp_path / "root"),
        # Without DAGSTER_HOME `dagster definitions validate` makes a .tmp_dagster_home_* in the working directory.
        "DAGSTER_HOME": str(dagster_home(tmp_path / "dagster")),
        "VIRTUAL_ENV": str(BIN.parent),  # dg warns when the active venv is not the project's
    }
    commands = {
        "dg check defs": [str(BIN / "dg"), "check", "defs"],
        "dagster definitions validate": [
            str(BIN / "dagster"),
            "definitions",
            "validate",
            "-w",
            str(WORKSPACE),
        ],
    }
    with ThreadPoolExecutor(len(commands)) as pool:
        results = dict(zip(commands, pool.map(lambda argv: _run(argv, env), commands.values()), strict=True))

    for name, result in results.items():
        assert result.returncode == 0, f"{name} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    dg_output = results["dg check defs"].stdout + results["dg check defs"].stderr
    assert "All definitions loaded successfully" in dg_output, dg_output
    validate_output = (
        results["dagster definitions validate"].stdout + results["dagster definitions validate"].stderr
    )
    assert "Validation successful for code location hawk" in validate_output, validate_output
    assert not list(REPO.glob(".tmp_dagster_home_*"))


def test_the_kubernetes_deployment_runs_the_same_eval_sets_and_cleans_up_sandboxes(tmp_path: Path) -> None:
    root = str(tmp_path / "root")
    local = build_definitions(storage_root=root, deployment="local")
    kubernetes = build_definitions(storage_root=root, deployment="kubernetes")
    assert {s.name for s in kubernetes.sensors or []} - {s.name for s in local.sensors or []} == {
        "sandbox_cleanup"
    }
    assert kubernetes.resolve_sensor_def("sandbox_cleanup").default_status == dg.DefaultSensorStatus.RUNNING
    for job in ("eval_set_pipeline", "scan_pipeline"):
        assert (
            kubernetes.resolve_job_def(job).asset_layer.selected_asset_keys
            == local.resolve_job_def(job).asset_layer.selected_asset_keys
        )
    runners = [d.resources["eval_runner"] for d in (local, kubernetes) if d.resources]
    assert [r.output_dir for r in runners] == [
        str(Path(root) / "runner-logs"),
        None,
    ]  # on Kubernetes: the pod's log
    assert {type(r) for r in runners} == {EvalRunnerResource}


def test_the_deployment_comes_from_hawk_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAWK_DEPLOYMENT", raising=False)
    assert deployment_from_env() == "local"
    monkeypatch.setenv("HAWK_DEPLOYMENT", "Kubernetes")
    assert deployment_from_env() == "kubernetes"
    monkeypatch.setenv("HAWK_DEPLOYMENT", "k8s")
    with pytest.raises(
        ValueError,
        match="HAWK_DEPLOYMENT='k8s' is not a deployment hawk knows; use one of: local, kubernetes",
    ):
        deployment_from_env()
