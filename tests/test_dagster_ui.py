"""The code location as the Dagster UI and daemon see it, through real servers and their GraphQL API.

- A headless ``dagster-webserver``: assets, partitions, lineage, automation and sensor state as the UI shows them,
  and a partition added through the UI's mutation.
- ``hawk dev`` (the Dagster webserver + daemon): a YAML dropped into ``<root>/configs/eval-sets/`` is picked up by the
  configs sensor, runs ``eval_logs``, and the automation sensor then materialises ``eval_warehouse`` by itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from hawk_dagster.warehouse.engine import normalize_url
from tests.dagster_servers import BIN, DagsterServer, dagster_home, dagster_server
from tests.grids import write_grid

pytestmark = pytest.mark.slow

EVAL_SETS = "eval_sets"
SCANS = "scans"

ASSETS_QUERY = """
{
  assetNodes {
    assetKey { path }
    dependencyKeys { path }
    automationCondition { label }
    partitionDefinition { type dimensionTypes { name dynamicPartitionsDefinitionName } }
  }
}
"""

REPOSITORIES_QUERY = """
{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes { name location { name } sensors { name sensorState { status } } }
    }
    ... on PythonError { message }
  }
}
"""

ADD_PARTITION = """
mutation Add($repo: RepositorySelector!, $def: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $repo, partitionsDefName: $def, partitionKey: $key) {
    __typename
    ... on AddDynamicPartitionSuccess { partitionsDefName partitionKey }
    ... on PythonError { message }
    ... on DuplicateDynamicPartitionError { partitionName }
  }
}
"""

PARTITION_KEYS = """
query Keys($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode { partitionKeys partitionKeysByDimension { name partitionKeys } }
  }
}
"""


def _server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,  # keeps the session's isolated XDG_* dirs and INSPECT_DISPLAY=none
        "DAGSTER_HOME": str(dagster_home(tmp_path / "dagster-home")),
        "HAWK_STORAGE_ROOT": str(tmp_path / "root"),
        **extra,
    }


def _repository(server: DagsterServer) -> dict[str, Any]:
    repos = server.graphql(REPOSITORIES_QUERY)["repositoriesOrError"]
    assert "nodes" in repos, repos
    (repo,) = repos["nodes"]
    return repo


def test_webserver_shows_assets_partitions_automation_and_running_sensors(tmp_path: Path) -> None:
    command = [str(BIN / "dagster-webserver")]
    with dagster_server(command, env=_server_env(tmp_path), log_path=tmp_path / "webserver.log") as server:
        nodes = {"/".join(n["assetKey"]["path"]): n for n in server.graphql(ASSETS_QUERY)["assetNodes"]}
        assert set(nodes) == {"eval_logs", "eval_warehouse", "scan_results", "scan_warehouse"}
        scan_warehouse_node = nodes.pop("scan_warehouse")
        assert {"/".join(k["path"]) for k in scan_warehouse_node["dependencyKeys"]} == {"scan_results"}
        scan_node = nodes.pop("scan_results")
        scan_partitions = scan_node["partitionDefinition"]
        assert scan_partitions["type"] == "MULTIPARTITIONED", scan_partitions
        assert {d["dynamicPartitionsDefinitionName"] for d in scan_partitions["dimensionTypes"]} == {
            EVAL_SETS,
            SCANS,
        }
        assert {"/".join(k["path"]) for k in scan_node["dependencyKeys"]} == {"eval_logs"}
        for name, node in nodes.items():
            partitions = node["partitionDefinition"]
            assert partitions is not None, name
            assert partitions["type"] == "DYNAMIC", (name, partitions)
            assert [d["dynamicPartitionsDefinitionName"] for d in partitions["dimensionTypes"]] == [EVAL_SETS]
        assert {"/".join(k["path"]) for k in nodes["eval_warehouse"]["dependencyKeys"]} == {"eval_logs"}
        assert nodes["eval_warehouse"]["automationCondition"] is not None
        assert nodes["eval_warehouse"]["automationCondition"]["label"] == "eager"
        assert nodes["eval_logs"]["automationCondition"] is None

        repo = _repository(server)
        assert repo["location"]["name"] == "hawk"
        sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
        assert sensors == {
            "eval_set_configs": "RUNNING",
            "scan_configs": "RUNNING",
            "scheduled_scans": "RUNNING",
            "hawk_automation": "RUNNING",
            "model_groups_refresh": "RUNNING",
        }

        selector = {"repositoryName": repo["name"], "repositoryLocationName": repo["location"]["name"]}
        added = server.graphql(ADD_PARTITION, {"repo": selector, "def": EVAL_SETS, "key": "ui-added"})
        assert added["addDynamicPartition"] == {
            "__typename": "AddDynamicPartitionSuccess",
            "partitionsDefName": EVAL_SETS,
            "partitionKey": "ui-added",
        }
        for asset in ("eval_logs", "eval_warehouse"):
            node = server.graphql(PARTITION_KEYS, {"key": {"path": [asset]}})["assetNodeOrError"]
            assert node["partitionKeys"] == ["ui-added"], (asset, node)
            assert node["partitionKeysByDimension"] == [{"name": "default", "partitionKeys": ["ui-added"]}]


RUNS_QUERY = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId status tags { key value } assetSelection { path } } }
    ... on PythonError { message }
  }
}
"""

RUN_ERRORS = """
query Errors($runId: ID!) {
  logsForRun(runId: $runId) {
    ... on EventConnection { events { __typename ... on MessageEvent { message level } } }
  }
}
"""

MATERIALIZATIONS = """
query Materializations($key: AssetKeyInput!, $partitions: [String!]) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode { assetMaterializations(partitions: $partitions) { runId partition } }
  }
}
"""

LINEAGE = """
query Lineage($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      dependencies { asset { assetKey { path } } partitionMapping { className description } }
      assetMaterializations { partition runId }
    }
  }
}
"""

E2E_ID = "e2e-daemon"
AUTOMATION_TAG = "dagster/from_automation_condition"


def _runs(server: DagsterServer, tags: dict[str, str] | None = None) -> list[dict[str, Any]]:
    run_filter = {"tags": [{"key": k, "value": v} for k, v in tags.items()]} if tags else {}
    runs = server.graphql(RUNS_QUERY, {"filter": run_filter})["runsOrError"]
    assert "results" in runs, runs
    return [
        {
            **r,
            "tags": {t["key"]: t["value"] for t in r["tags"]},
            "assets": ["/".join(a["path"]) for a in r["assetSelection"] or []],
        }
        for r in runs["results"]
    ]


def _run_errors(server: DagsterServer, run_id: str) -> list[str]:
    events = server.graphql(RUN_ERRORS, {"runId": run_id})["logsForRun"].get("events", [])
    return [e["message"] for e in events if e.get("level") in ("ERROR", "CRITICAL")]


def test_dropped_config_runs_logs_then_warehouse_by_automation(
    tmp_path: Path, make_database: Callable[..., str]
) -> None:
    """``hawk dev``: the sensor runs eval_logs for a dropped YAML, automation follows with eval_warehouse."""
    url = make_database()
    configs = tmp_path / "root" / "configs" / "eval-sets"
    env = _server_env(tmp_path, HAWK_WAREHOUSE_URL=url)
    command = [str(BIN / "hawk"), "dev"]
    with dagster_server(command, env=env, log_path=tmp_path / "hawk-dev.log", hawk_dev=True) as server:
        t0 = time.monotonic()
        # Relative task paths resolve against the configs folder, so the grid's tasks/ goes there too; the file
        # takes its eval set id from its name.
        write_grid(configs, name=f"{E2E_ID}.yaml")
        (configs / "broken.yaml").write_text("name: broken\ntasks: 42\n")
        phases: dict[str, float] = {}

        def pipeline_done() -> tuple[dict[str, Any], dict[str, Any]] | None:
            runs = _runs(server, {"dagster/partition": E2E_ID})
            for run in runs:
                if run["status"] in ("FAILURE", "CANCELED"):
                    raise AssertionError(
                        f"run {run['runId']} for {run['assets']} ended {run['status']}: "
                        f"{_run_errors(server, run['runId'])}\n{server.log_tail()}"
                    )
            logs = [r for r in runs if r["assets"] == ["eval_logs"]]
            warehouse = [r for r in runs if r["assets"] == ["eval_warehouse"]]
            for phase, found in (("eval_logs launched", logs), ("eval_warehouse launched", warehouse)):
                if found:
                    phases.setdefault(phase, time.monotonic() - t0)
            if logs and logs[0]["status"] == "SUCCESS":
                phases.setdefault("eval_logs succeeded", time.monotonic() - t0)
            if logs and warehouse and logs[0]["status"] == warehouse[0]["status"] == "SUCCESS":
                phases["eval_warehouse succeeded"] = time.monotonic() - t0
                return logs[0], warehouse[0]
            return None

        try:
            logs_run, warehouse_run = server.wait_for("both runs to succeed", pipeline_done, 240, interval=2)
        finally:  # shown with -s, or on failure
            print(f"\nhawk dev e2e, seconds after the drop: {phases}")

        # eval_logs came from the configs sensor, eval_warehouse from the automation sensor, nothing by hand.
        assert logs_run["tags"]["dagster/sensor_name"] == "eval_set_configs"
        assert logs_run["tags"]["hawk/config"] == f"{E2E_ID}.yaml"
        assert logs_run["tags"]["hawk/source"] == "sensor"
        assert warehouse_run["tags"].get(AUTOMATION_TAG) == "true", warehouse_run["tags"]
        materializations = server.graphql(
            MATERIALIZATIONS, {"key": {"path": ["eval_warehouse"]}, "partitions": [E2E_ID]}
        )["assetNodeOrError"]["assetMaterializations"]
        assert [m["runId"] for m in materializations] == [warehouse_run["runId"]]

        # The broken file got an error note and launched nothing: the two runs above are all there is.
        all_runs = _runs(server)
        assert {r["runId"] for r in all_runs} == {logs_run["runId"], warehouse_run["runId"]}, all_runs
        error_file = configs / "broken.yaml.error"
        assert error_file.is_file()
        assert "nothing was launched" in error_file.read_text()
        assert not (configs / f"{E2E_ID}.yaml.error").exists()
        # The runner's own output is kept where `hawk local` keeps it, not only in Dagster's captured logs.
        runner_log = tmp_path / "root" / "runner-logs" / f"{E2E_ID}.log"
        assert runner_log.read_text().startswith("hawk-runner "), runner_log

        # A scan config dropped next: the scans sensor runs the cell (scan_pipeline: results, then their import),
        # and the webserver shows the cell's lineage to the eval set's eval_logs partition.
        scan_configs = tmp_path / "root" / "configs" / "scans"
        scan_configs.mkdir(parents=True)
        (scan_configs / "e2e-scan.yaml").write_text(
            f"scanners: [{{package: inspect-scout, items: [{{name: grep_scanner, key: sums, args: {{pattern: '+'}}}}]}}]\n"
            f"transcripts: {{sources: [{{eval_set_id: {E2E_ID}}}]}}\n"
        )
        cell = f"{E2E_ID}|e2e-scan"

        def scan_done() -> dict[str, Any] | None:
            for run in _runs(server, {"dagster/partition": cell}):
                if run["status"] in ("FAILURE", "CANCELED"):
                    raise AssertionError(
                        f"{run['assets']}: {_run_errors(server, run['runId'])}\n{server.log_tail()}"
                    )
                if run["status"] == "SUCCESS":
                    return run
            return None

        scan_run = server.wait_for("the scan cell's run to succeed", scan_done, 240, interval=2)
        assert scan_run["tags"]["dagster/sensor_name"] == "scan_configs"
        imported = server.graphql(
            MATERIALIZATIONS, {"key": {"path": ["scan_warehouse"]}, "partitions": [cell]}
        )
        assert [m["runId"] for m in imported["assetNodeOrError"]["assetMaterializations"]] == [
            scan_run["runId"]
        ]
        lineage = server.graphql(LINEAGE, {"key": {"path": ["scan_results"]}})["assetNodeOrError"]
        (dependency,) = lineage["dependencies"]
        assert dependency["asset"]["assetKey"]["path"] == ["eval_logs"]
        assert dependency["partitionMapping"]["className"] == "MultiToSingleDimensionPartitionMapping"
        assert (
            "multi-partition key with X in the matching dimension"
            in dependency["partitionMapping"]["description"]
        )
        assert [m["partition"] for m in lineage["assetMaterializations"]] == [cell]

    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            samples = conn.execute(
                text(
                    "SELECT count(*) FROM sample s JOIN eval e ON s.eval_pk = e.pk WHERE e.eval_set_id = :id"
                ),
                {"id": E2E_ID},
            ).scalar_one()
    finally:
        engine.dispose()
    assert samples == 12
    with engine.connect() as conn:
        scanned = conn.execute(
            text(
                "SELECT count(*), count(r.sample_pk) FROM scanner_result r JOIN scan s ON s.pk = r.scan_pk "
                "WHERE s.scan_id = 'e2e-scan'"
            )
        ).one()
    engine.dispose()
    assert tuple(scanned) == (12, 12)  # every transcript scanned once, each joined to its sample
