"""The Kubernetes launcher against kmock's Kubernetes emulator: a real Dagster instance launches real runs of hawk's
jobs (created as the daemon creates them), and the objects they leave in the emulator are read back, compared field by
field and validated strictly against Kubernetes' own schemas.

The launcher's config is the one the Helm chart renders into dagster.yaml (deploy/helm/hawk, rendered by Helm's engine
as in test_chart.py), with only the cluster connection swapped for the emulator's, so the chart and the launcher
cannot drift apart: the instance validates it against HawkK8sRunLauncher's schema when it loads the launcher."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes.client
import kubernetes_validate
import pytest
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.execution.plan.resume_retry import ReexecutionStrategy
from dagster._core.remote_representation.code_location import CodeLocation
from dagster._core.remote_representation.external import RemoteRepository
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceRequestContext
from kmock._internal import parsing

from hawk_dagster.definitions import build_definitions
from hawk_dagster.deployment.k8s_launcher import HawkK8sRunLauncher
from hawk_dagster.deployment.sandbox_sensor import sandbox_cleanup_sensor
from hawk_dagster.deployment.sandboxes import SandboxError
from hawk_dagster.evals.sensor import SENSOR_NAME as EVAL_SENSOR
from hawk_dagster.monitoring.pods import state_from_instance
from hawk_dagster.names import EVAL_LOGS, EVAL_WAREHOUSE, K8S_CONFIG_TAG, SCAN_PIPELINE
from hawk_dagster.partitions import EVAL_SETS, SCANS, scan_cell_key, scan_cells_partitions
from hawk_dagster.storage.root import StorageRoot
from tests.deployment.k8s_emulator import Emulator, kubernetes_emulator, patched_parse_path
from tests.deployment.test_chart import API_VALUES, instance_yaml, render
from tests.scans.submitted import submitted_scan

RUNS_NAMESPACE = "hawk-runs"
BASE_IMAGE = "registry.example:5000/hawk/runner:1.0"
SCAN_BUFFER = "/var/lib/hawk/scanbuffer"
ASSET_JOB = "__ASSET_JOB"
K8S_VERSIONS = ("1.30.0", "1.33.0")

EVAL_SET_CONFIG = """\
eval_set_id: {eval_set_id}
name: demo
tasks:
  - package: inspect-ai
    items: [{{name: some_task}}]
models:
  - items: [{{name: mockllm/model}}]
runner:
{runner}
"""
RUNNER = "  cpu: 2\n  memory: 16Gi\n  image_tag: '2.1'\n  environment: {NOT_FOR_THE_POD: 'x'}\n"


CHART_VALUES: dict[str, Any] = {
    "postgresql": {"existingSecret": "hawk-postgres"},
    "runLauncher": {
        "config": {
            "k8sRunLauncher": {
                "jobNamespace": RUNS_NAMESPACE,
                "resources": {
                    "requests": {"cpu": "500m", "memory": "1Gi"},
                    "limits": {"cpu": "4", "memory": "2Gi"},
                },
            }
        }
    },
    "scanBuffer": {"enabled": True, "existingClaim": "hawk-scanbuffer", "mountPath": SCAN_BUFFER},
    "sandbox": {
        "namespacePrefix": "hawk-sbx-",
        "namespaceLabels": {"team": "evals"},
        "namespaceAnnotations": {"owner": "evals@example.org"},
        "cleanupGraceSeconds": 600,
        "networkPolicy": {
            "egress": [
                {
                    "name": "internal",
                    "cidrs": ["10.20.0.0/16", "192.0.2.0/24"],
                    "except": ["10.20.99.0/24"],
                    "ports": [{"port": 443}, {"port": 8443, "protocol": "TCP"}],
                }
            ]
        },
    },
}
"""The chart's values for these tests (release hawk: service account hawk-runner, ClusterRole hawk-sandbox-runner)."""


def _merge(base: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in more.items():
        merged[key] = (
            _merge(merged[key], value)
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    return merged


def chart_instance(values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dagster.yaml the chart renders for CHART_VALUES (and ``values``)."""
    return instance_yaml(render(_merge(CHART_VALUES, values or {})))


def launcher_config(kubeconfig: Path, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run_launcher config the chart renders for CHART_VALUES (and ``values``), on the emulator."""
    rendered = chart_instance(values)["run_launcher"]
    assert (rendered["module"], rendered["class"]) == (
        "hawk_dagster.deployment.k8s_launcher",
        "HawkK8sRunLauncher",
    )
    return {**rendered["config"], "load_incluster_config": False, "kubeconfig_file": str(kubeconfig)}


@dataclass
class Deployment:
    """An instance whose run launcher is ``HawkK8sRunLauncher`` on the emulator, hawk's code location loaded in
    process (its image the deployment's), and the storage root the launcher reads."""

    instance: dg.DagsterInstance
    workspace: WorkspaceRequestContext
    emulator: Emulator
    storage: StorageRoot

    @property
    def launcher(self) -> HawkK8sRunLauncher:
        launcher = self.instance.run_launcher
        assert isinstance(launcher, HawkK8sRunLauncher)
        return launcher

    @property
    def location(self) -> CodeLocation:
        (entry,) = self.workspace.get_code_location_entries().values()
        assert entry.code_location is not None, entry.load_error
        return entry.code_location

    @property
    def repository(self) -> RemoteRepository:
        (repository,) = self.location.get_repositories().values()
        return repository

    def create_run(
        self, job_name: str, tags: dict[str, str], asset_selection: list[str] | None = None
    ) -> DagsterRun:
        """A run created as the daemon creates a sensor's or backfill's (``_create_sensor_run``)."""
        selection = [dg.AssetKey(key) for key in asset_selection] if asset_selection is not None else None
        remote_job = self.location.get_job(
            JobSubsetSelector(
                location_name=self.location.name,
                repository_name=self.repository.name,
                job_name=job_name,
                op_selection=None,
                asset_selection=selection,
            )
        )
        plan = self.location.get_execution_plan(
            remote_job, {}, step_keys_to_execute=None, known_state=None, instance=self.instance
        )
        return self.instance.create_run(
            job_name=job_name,
            run_id=None,
            run_config={},
            status=DagsterRunStatus.NOT_STARTED,
            tags={**(remote_job.run_tags or {}), **tags},
            root_run_id=None,
            parent_run_id=None,
            step_keys_to_execute=None,
            execution_plan_snapshot=plan.execution_plan_snapshot,
            job_snapshot=remote_job.job_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot,
            asset_selection=frozenset(selection) if selection is not None else None,
            asset_check_selection=None,
            resolved_op_selection=remote_job.resolved_op_selection,
            op_selection=None,
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            asset_graph=self.repository.asset_graph,
        )

    def launch(self, run: DagsterRun) -> DagsterRun:
        self.instance.launch_run(run.run_id, self.workspace)
        launched = self.instance.get_run_by_id(run.run_id)
        assert launched is not None
        return launched

    def submit_eval_set(self, eval_set_id: str, runner: str = RUNNER) -> DagsterRun:
        """Drop a config into the configs folder and tick the real eval-set sensor: the run it requests."""
        folder = self.storage.eval_set_configs
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{eval_set_id}.yaml").write_text(
            EVAL_SET_CONFIG.format(eval_set_id=eval_set_id, runner=runner)
        )
        defs = build_definitions(storage_root=self.storage.uri)
        sensor = defs.resolve_sensor_def(EVAL_SENSOR)
        with dg.build_sensor_context(
            instance=self.instance, instance_ref=self.instance.get_ref(), definitions=defs
        ) as context:
            result = sensor.evaluate_tick(context)
        for request in result.dynamic_partitions_requests or []:
            assert isinstance(request, dg.AddDynamicPartitionsRequest)
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        (request,) = [r for r in result.run_requests or [] if r.partition_key == eval_set_id]
        tags = {**request.tags, "dagster/partition": eval_set_id, "dagster/sensor_name": sensor.name}
        return self.create_run(ASSET_JOB, tags, asset_selection=[EVAL_LOGS])

    def job(self, run: DagsterRun) -> dict[str, Any]:
        job = self.emulator.read(f"/apis/batch/v1/namespaces/{RUNS_NAMESPACE}/jobs/dagster-run-{run.run_id}")
        assert job is not None, "the launcher created no Job"
        return job


@pytest.fixture
def deployment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    dagster_storage: dict[str, Any],
) -> Iterator[Deployment]:
    """The deployment; parametrized indirectly, the parameter is more chart values. The storage root comes from
    HAWK_STORAGE_ROOT, as in the chart's pods."""
    monkeypatch.setattr(parsing, "parse_path", patched_parse_path)
    root = str(tmp_path / "root")
    monkeypatch.setenv("HAWK_STORAGE_ROOT", root)  # for hawk's definitions, loaded as the code location
    with kubernetes_emulator() as emulator:
        kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
        overrides = {
            "storage": dagster_storage,  # PostgreSQL through dagster-postgres, as the chart's instance
            "run_coordinator": chart_instance(getattr(request, "param", {}))["run_coordinator"],
            "run_launcher": {
                "module": "hawk_dagster.deployment.k8s_launcher",
                "class": "HawkK8sRunLauncher",
                "config": launcher_config(kubeconfig, getattr(request, "param", {})),
            },
        }
        with (
            dg.instance_for_test(overrides=overrides) as instance,
            in_process_test_workspace(
                instance,
                LoadableTargetOrigin(
                    executable_path=sys.executable, module_name="hawk_dagster.definitions", attribute="defs"
                ),
                container_image=BASE_IMAGE,
            ) as workspace,
        ):
            yield Deployment(instance, workspace, emulator, StorageRoot(root))


def validate_strictly(obj: dict[str, Any]) -> None:
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)


def container(job: dict[str, Any]) -> dict[str, Any]:
    (only,) = job["spec"]["template"]["spec"]["containers"]
    assert isinstance(only, dict)
    return only


def env_of(job: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(job)["env"]}


def test_an_eval_set_run_gets_its_runner_settings_and_a_sandbox_namespace(deployment: Deployment) -> None:
    run = deployment.launch(deployment.submit_eval_set("k8s-grid"))
    namespace = "hawk-sbx-k8s-grid"

    job = deployment.job(run)
    validate_strictly(job)
    pod = job["spec"]["template"]
    main = container(job)
    assert main["image"] == "registry.example:5000/hawk/runner:2.1"
    assert main["imagePullPolicy"] == "IfNotPresent"
    # runner.cpu / runner.memory over the launcher's defaults: memory's limit is its request, CPU's default limit
    # follows the request
    assert main["resources"] == {
        "requests": {"cpu": "2", "memory": "16Gi"},
        "limits": {"cpu": "2", "memory": "16Gi"},
    }
    assert pod["spec"]["serviceAccountName"] == "hawk-runner"
    env = env_of(job)
    assert env["INSPECT_K8S_DEFAULT_NAMESPACE"] == namespace
    assert env["HAWK_STORAGE_ROOT"] == deployment.storage.uri
    assert env["DAGSTER_RUN_JOB_NAME"] == ASSET_JOB
    assert env["DAGSTER_PG_PASSWORD"] == {
        "secretKeyRef": {"name": "hawk-postgres", "key": "postgresql-password"}
    }
    assert (
        "SCOUT_SCANBUFFER_DIR" not in env and "NOT_FOR_THE_POD" not in env
    )  # the runner's env is the plan's
    assert sorted(e["name"] for e in main["env"]) == sorted(
        set(e["name"] for e in main["env"])
    )  # no duplicates
    assert main["envFrom"] == [{"configMapRef": {"name": "hawk-env"}}]
    for labels in (pod["metadata"]["labels"], job["metadata"]["labels"]):
        assert labels["hawk/eval-set-id"] == "k8s-grid"
        assert labels["dagster/run-id"] == run.run_id
        assert labels["app.kubernetes.io/component"] == "run_worker"

    # The tag the UI shows is the one dagster-k8s built the Job from.
    tag = json.loads(run.tags[K8S_CONFIG_TAG])
    assert tag["container_config"]["image"] == main["image"]
    assert tag["container_config"]["resources"] == main["resources"]

    ns = deployment.emulator.read(f"/api/v1/namespaces/{namespace}")
    assert ns is not None
    validate_strictly(ns)
    assert ns["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "hawk-dagster",
        "app.kubernetes.io/instance": "hawk",
        "team": "evals",
        "hawk/eval-set-id": "k8s-grid",
        "hawk/runs-namespace": RUNS_NAMESPACE,
        "pod-security.kubernetes.io/enforce": "baseline",
    }
    assert ns["metadata"]["annotations"] == {"owner": "evals@example.org"}

    binding = deployment.emulator.read(
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/hawk-runner"
    )
    assert binding is not None
    validate_strictly(binding)
    assert binding["metadata"]["namespace"] == namespace
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "hawk-sandbox-runner",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "hawk-runner", "namespace": RUNS_NAMESPACE}
    ]

    policy = deployment.emulator.read(
        f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies/hawk-sandbox"
    )
    assert policy is not None
    validate_strictly(policy)
    spec = policy["spec"]
    assert spec["podSelector"] == {} and spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": RUNS_NAMESPACE}},
                    "podSelector": {"matchLabels": {"hawk/eval-set-id": "k8s-grid"}},
                }
            ]
        },
        {"from": [{"podSelector": {}}]},
    ]
    assert spec["egress"] == [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
        {"to": [{"podSelector": {}}]},
        {
            "to": [
                {"ipBlock": {"cidr": "10.20.0.0/16", "except": ["10.20.99.0/24"]}},
                {"ipBlock": {"cidr": "192.0.2.0/24"}},
            ],
            "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 8443}],
        },
    ]


def test_a_scan_cell_run_gets_the_scans_settings_and_the_scan_buffer(
    deployment: Deployment, tmp_path: Path
) -> None:
    deployment.instance.add_dynamic_partitions(EVAL_SETS, ["es-a"])
    deployment.submit_eval_set("es-a")
    submitted_scan(
        deployment.storage.uri,
        tmp_path,
        "scan-k8s",
        "{eval_set_id: es-a}",
        extra="runner: {cpu: 500m, memory: 3Gi, image_tag: scan-2}\n",
    )
    deployment.instance.add_dynamic_partitions(SCANS, ["scan-k8s"])
    key = str(scan_cell_key("scan-k8s", "es-a"))
    tags = {**scan_cells_partitions.get_tags_for_partition_key(key), "hawk/source": "sensor"}
    run = deployment.launch(deployment.create_run(SCAN_PIPELINE, tags))

    job = deployment.job(run)
    validate_strictly(job)
    main = container(job)
    assert main["image"] == "registry.example:5000/hawk/runner:scan-2"
    assert main["resources"] == {
        "requests": {"cpu": "500m", "memory": "3Gi"},
        "limits": {"cpu": "500m", "memory": "3Gi"},
    }
    env = env_of(job)
    assert env["SCOUT_SCANBUFFER_DIR"] == SCAN_BUFFER
    assert env["HAWK_STORAGE_ROOT"] == deployment.storage.uri
    assert "INSPECT_K8S_DEFAULT_NAMESPACE" not in env  # scanners run no sandboxes
    assert {"name": "scanbuffer", "mountPath": SCAN_BUFFER} in main["volumeMounts"]
    assert {"name": "scanbuffer", "persistentVolumeClaim": {"claimName": "hawk-scanbuffer"}} in job["spec"][
        "template"
    ]["spec"]["volumes"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["hawk/scan-id"] == "scan-k8s" and labels["hawk/scan-eval-set-id"] == "es-a"
    assert "hawk/eval-set-id" not in labels  # the eval set's sandboxes do not admit scan pods
    assert (
        deployment.emulator.read("/api/v1/namespaces/hawk-sbx-es-a") is None
    )  # made by the eval set's runs only


def test_a_rerun_without_sensor_tags_and_a_reexecution_follow_the_submitted_config(
    deployment: Deployment,
) -> None:
    first = deployment.launch(deployment.submit_eval_set("rerun-me"))
    deployment.instance.report_run_failed(first)

    # A backfill or a "Materialize" of the partition: nothing but the partition tag.
    again = deployment.launch(
        deployment.create_run(ASSET_JOB, {"dagster/partition": "rerun-me"}, asset_selection=[EVAL_LOGS])
    )
    assert container(deployment.job(again)) | {"args": None} == container(deployment.job(first)) | {
        "args": None
    }
    deployment.instance.report_run_failed(again)

    # The config changes (no image_tag, more memory): the UI's re-execution copies the parent's tags, yet the pod
    # follows the config, and the sandbox's objects are updated in place.
    deployment.submit_eval_set("rerun-me", runner="  memory: 32Gi\n")
    parent = deployment.instance.get_run_by_id(again.run_id)
    assert parent is not None and parent.remote_job_origin is not None
    remote_job = deployment.location.get_job(
        JobSubsetSelector(
            location_name=deployment.location.name,
            repository_name=deployment.repository.name,
            job_name=ASSET_JOB,
            op_selection=None,
            asset_selection=[dg.AssetKey(EVAL_LOGS)],
        )
    )
    reexecution = deployment.instance.create_reexecuted_run(
        request_context=deployment.workspace,
        parent_run=parent,
        code_location=deployment.location,
        remote_job=remote_job,
        strategy=ReexecutionStrategy.ALL_STEPS,
        use_parent_run_tags=True,
    )
    assert json.loads(reexecution.tags[K8S_CONFIG_TAG])["container_config"]["image"].endswith(
        ":2.1"
    )  # copied
    job = deployment.job(deployment.launch(reexecution))
    validate_strictly(job)
    main = container(job)
    assert main["image"] == BASE_IMAGE
    assert main["resources"] == {
        "requests": {"cpu": "500m", "memory": "32Gi"},
        "limits": {"cpu": "4", "memory": "32Gi"},
    }
    assert env_of(job)["INSPECT_K8S_DEFAULT_NAMESPACE"] == "hawk-sbx-rerun-me"


def test_runs_that_start_no_runner_launch_as_dagster_k8s_would(deployment: Deployment) -> None:
    deployment.instance.add_dynamic_partitions(EVAL_SETS, ["imported"])
    run = deployment.launch(
        deployment.create_run(ASSET_JOB, {"dagster/partition": "imported"}, asset_selection=[EVAL_WAREHOUSE])
    )
    assert K8S_CONFIG_TAG not in run.tags
    job = deployment.job(run)
    assert container(job)["image"] == BASE_IMAGE
    assert container(job)["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "4", "memory": "2Gi"},
    }
    assert "INSPECT_K8S_DEFAULT_NAMESPACE" not in env_of(job)
    assert deployment.emulator.read("/api/v1/namespaces/hawk-sbx-imported") is None


def test_an_eval_set_without_a_submission_launches_with_defaults_and_says_why(deployment: Deployment) -> None:
    deployment.instance.add_dynamic_partitions(EVAL_SETS, ["never-submitted"])
    run = deployment.launch(
        deployment.create_run(
            ASSET_JOB, {"dagster/partition": "never-submitted"}, asset_selection=[EVAL_LOGS]
        )
    )
    job = deployment.job(run)
    assert container(job)["image"] == BASE_IMAGE
    assert container(job)["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert env_of(job)["INSPECT_K8S_DEFAULT_NAMESPACE"] == "hawk-sbx-never-submitted"
    messages = [e.message for e in deployment.instance.all_logs(run.run_id)]
    assert any("Runner settings not applied" in m and "has no submitted config" in m for m in messages), (
        messages
    )


def test_a_namespace_that_is_not_the_eval_sets_is_refused(deployment: Deployment) -> None:
    core = kubernetes.client.CoreV1Api(deployment.emulator.api_client())
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hawk-sbx-taken"}})
    run = deployment.submit_eval_set("taken")
    with pytest.raises(SandboxError, match="not the sandbox namespace of eval set 'taken'"):
        deployment.instance.launch_run(run.run_id, deployment.workspace)
    failed = deployment.instance.get_run_by_id(run.run_id)
    assert failed is not None and failed.status == DagsterRunStatus.FAILURE
    assert (
        deployment.emulator.read(f"/apis/batch/v1/namespaces/{RUNS_NAMESPACE}/jobs/dagster-run-{run.run_id}")
        is None
    )
    assert (
        deployment.emulator.read(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/hawk-sbx-taken/rolebindings/hawk-runner"
        )
        is None
    )


def test_sandboxes_are_removed_a_grace_period_after_the_last_run_and_on_delete(
    deployment: Deployment,
) -> None:
    launcher = deployment.launcher
    run = deployment.launch(deployment.submit_eval_set("short-lived"))
    namespace = "/api/v1/namespaces/hawk-sbx-short-lived"
    far_future = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)

    kept = launcher.cleanup_finished_sandboxes(now=far_future)
    assert kept.deleted == [] and [d.reason for d in kept.kept] == ["a run of the eval set has not finished"]
    assert deployment.emulator.read(namespace) is not None

    deployment.instance.report_run_failed(run)
    record = deployment.instance.get_run_record_by_id(run.run_id)
    assert record is not None and record.end_time is not None
    ended = dt.datetime.fromtimestamp(record.end_time, dt.UTC)
    assert launcher.cleanup_finished_sandboxes(now=ended + dt.timedelta(seconds=599)).deleted == []
    assert deployment.emulator.read(namespace) is not None
    assert launcher.cleanup_finished_sandboxes(now=ended + dt.timedelta(seconds=600)).deleted == [
        "hawk-sbx-short-lived"
    ]
    assert deployment.emulator.read(namespace) is None

    # Deleting an eval set deletes its sandbox namespace; a second delete finds none.
    deployment.launch(deployment.submit_eval_set("deleted-later"))
    assert launcher.delete_sandbox("deleted-later") is True
    assert deployment.emulator.read("/api/v1/namespaces/hawk-sbx-deleted-later") is None
    assert launcher.delete_sandbox("deleted-later") is False


@pytest.mark.parametrize("deployment", [{"sandbox": {"cleanupGraceSeconds": 0}}], indirect=True)
def test_the_kubernetes_deployments_sensor_cleans_up_through_the_instances_launcher(
    deployment: Deployment,
) -> None:
    run = deployment.launch(deployment.submit_eval_set("swept"))
    sensor = build_definitions(
        storage_root=deployment.storage.uri, deployment="kubernetes"
    ).resolve_sensor_def("sandbox_cleanup")

    def tick() -> str:
        with dg.build_sensor_context(instance=deployment.instance) as context:
            result = sensor.evaluate_tick(context)
        assert not result.run_requests
        return str(result.skip_message)

    assert tick() == "deleted: none; kept: 1"  # its run has not finished
    deployment.instance.report_run_failed(run)
    assert tick() == "deleted: hawk-sbx-swept; kept: 0"
    assert deployment.emulator.read("/api/v1/namespaces/hawk-sbx-swept") is None


def test_the_sensor_does_nothing_under_another_launcher() -> None:
    sensor = sandbox_cleanup_sensor()
    with dg.instance_for_test() as instance, dg.build_sensor_context(instance=instance) as context:
        result = sensor.evaluate_tick(context)
    assert "not HawkK8sRunLauncher" in str(result.skip_message)


def test_the_config_schema_extends_dagster_k8s_with_a_sandbox_block_and_checks_it(tmp_path: Path) -> None:
    from dagster_k8s import K8sRunLauncher

    schema = HawkK8sRunLauncher.config_type()
    assert set(schema) - set(K8sRunLauncher.config_type()) == {"storage_root", "sandbox", "scan_buffer_dir"}
    base = {"service_account_name": "sa", "instance_config_map": "cm", "load_incluster_config": False}
    kubeconfig = Kubeconfig(tmp_path)
    rule = {"name": "x", "cidrs": ["10.0.0.0/8"]}
    for bad, message in (
        ({"scan_buffer_dir": "s3://bucket/buffer"}, "must be an absolute path"),
        ({"sandbox": {"namespace_prefix": "Hawk_"}}, "sandbox namespace prefix"),
        ({"sandbox": {"network_policy": {"egress": [{"cidrs": ["10.0.0.1/8"]}]}}}, "not a CIDR block"),
        ({"sandbox": {"network_policy": {"egress": [{"cidrs": []}]}}}, "at least one CIDR"),
        (
            {"sandbox": {"network_policy": {"egress": [{**rule, "except": ["192.168.0.0/16"]}]}}},
            "inside none of its cidrs",
        ),
        (
            {"sandbox": {"network_policy": {"egress": [{**rule, "ports": [{"port": 70000}]}]}}},
            "not in 1..65535",
        ),
        ({"sandbox": {"namespace_labels": {"hawk/eval-set-id": "x"}}}, "the launcher's own"),
        ({"sandbox": {"namespace_labels": {"pod-security.kubernetes.io/warn": "x"}}}, "the launcher's own"),
        ({"sandbox": {"cleanup_grace_seconds": -1}}, "must not be negative"),
        ({"sandbox": {"network_policy": {"dns": {"namespace": "Kube_System"}}}}, "not a namespace name"),
    ):
        with pytest.raises(ValueError, match=message):
            HawkK8sRunLauncher(**base, kubeconfig_file=kubeconfig.path, **bad)
    # What Dagster refuses before the launcher sees it: providers other than plain NetworkPolicies, unknown keys.
    from dagster._config import process_config, resolve_to_config_type

    for bad_config in (
        {"sandbox": {"network_policy": {"provider": "cilium"}}},
        {"sandbox": {"pod_security_standard": "strict"}},
        {"sandbox": {"network_policy": {"egress": [{**rule, "fqdns": ["pypi.org"]}]}}},
        {"sandbox_namespace_prefix": "hawk-sbx-"},  # the flat fields of before
    ):
        assert not process_config(resolve_to_config_type(schema), {**base, **bad_config}).success, bad_config


@pytest.mark.parametrize(
    "deployment", [{"sandbox": {"enabled": False, "networkPolicy": {"enabled": False}}}], indirect=True
)
def test_with_sandboxes_off_an_eval_set_gets_no_namespace_and_nothing_is_swept(
    deployment: Deployment,
) -> None:
    run = deployment.launch(deployment.submit_eval_set("no-sandbox"))
    job = deployment.job(run)
    assert "INSPECT_K8S_DEFAULT_NAMESPACE" not in env_of(job)
    assert container(job)["resources"]["requests"] == {"cpu": "2", "memory": "16Gi"}  # settings still apply
    assert deployment.emulator.read("/api/v1/namespaces/hawk-sbx-no-sandbox") is None
    assert deployment.launcher.delete_sandbox("no-sandbox") is False
    far_future = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    assert deployment.launcher.cleanup_finished_sandboxes(now=far_future).deleted == []


@pytest.mark.parametrize(
    "deployment",
    [{"sandbox": {"deleteNamespaceOnFinish": False, "podSecurityStandard": "restricted"}}],
    indirect=True,
)
def test_namespaces_kept_on_finish_are_not_swept(deployment: Deployment) -> None:
    run = deployment.launch(deployment.submit_eval_set("kept"))
    deployment.instance.report_run_failed(run)
    far_future = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    result = deployment.launcher.cleanup_finished_sandboxes(now=far_future)
    assert result.deleted == [] and result.kept == []
    ns = deployment.emulator.read("/api/v1/namespaces/hawk-sbx-kept")
    assert ns is not None and ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("deployment", [{"sandbox": {"networkPolicy": {"enabled": False}}}], indirect=True)
def test_without_a_sandbox_policy_the_namespace_has_only_the_binding(deployment: Deployment) -> None:
    deployment.launch(deployment.submit_eval_set("open"))
    assert deployment.emulator.read("/api/v1/namespaces/hawk-sbx-open") is not None
    assert (
        deployment.emulator.read(
            "/apis/networking.k8s.io/v1/namespaces/hawk-sbx-open/networkpolicies/hawk-sandbox"
        )
        is None
    )
    assert (
        deployment.emulator.read(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/hawk-sbx-open/rolebindings/hawk-runner"
        )
        is not None
    )


def test_a_run_whose_pod_would_use_another_service_account_is_refused(deployment: Deployment) -> None:
    """sandbox.runner_service_account (the chart's runner account) is the only one granted sandbox rights; a run
    tag naming another account for the pod does not move the grant."""
    run = deployment.submit_eval_set("other-account")
    tag = json.dumps({"pod_spec_config": {"service_account_name": "someone-else"}})
    deployment.instance.add_run_tags(run.run_id, {K8S_CONFIG_TAG: tag})
    with pytest.raises(SandboxError, match="'someone-else', but sandbox rights are granted to 'hawk-runner'"):
        deployment.instance.launch_run(run.run_id, deployment.workspace)
    assert deployment.emulator.read("/api/v1/namespaces/hawk-sbx-other-account") is None


def _path(url: str) -> list[str]:
    return url.split("://", 1)[-1].split("/", 1)[1].split("?", 1)[0].strip("/").split("/")


def _namespace_of(url: str) -> str | None:
    """The namespace a request acts in (None: cluster-scoped, namespaces themselves included)."""
    path = _path(url)
    rest = path[2:] if path[0] == "api" else path[3:]
    return rest[1] if rest[0] == "namespaces" and len(rest) > 2 else None


def _verb(method: str, url: str) -> tuple[str, str, str]:
    """(apiGroup, resource, RBAC verb) of a request to the API, as the API server authorizes it."""
    path = _path(url)
    group = "" if path[0] == "api" else path[1]
    rest = path[2:] if path[0] == "api" else path[3:]
    if rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]  # namespaced: /namespaces/<ns>/<resource>[/<name>[/<sub>]]
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    named = len(rest) > 1
    verb = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(method)
    if verb is None:
        verb = "get" if named else "list"
    return group, resource, verb


@pytest.mark.parametrize("deployment", [{"sandbox": {"cleanupGraceSeconds": 0}}], indirect=True)
def test_the_charts_rbac_is_exactly_what_the_launcher_and_the_sweep_call(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every call the launcher (in the daemon) and the sandbox_cleanup sweep (in the code location) make to the API,
    recorded as RBAC verbs, against the chart's roles: sandbox objects need every verb the chart grants, no more."""
    from kubernetes.client import rest

    calls: list[tuple[str, str, str]] = []
    original = rest.RESTClientObject.request

    def record(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(_verb(method, url))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(rest.RESTClientObject, "request", record)
    manifests = render(CHART_VALUES)
    roles = {m["metadata"]["name"]: m for m in manifests if m["kind"] in ("Role", "ClusterRole")}

    def granted(*names: str) -> set[tuple[str, str, str]]:
        return {
            (group, resource, verb)
            for name in names
            for rule in roles[name]["rules"]
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            for verb in rule["verbs"]
            if verb != "bind"
        }

    # The daemon: a new sandbox, then a rerun that finds it (409: read, patch).
    first = deployment.launch(deployment.submit_eval_set("audited"))
    deployment.instance.report_run_failed(first)
    deployment.launch(deployment.create_run(ASSET_JOB, {"dagster/partition": "audited"}, [EVAL_LOGS]))
    daemon = set(calls)
    sandbox_kinds = {"namespaces", "rolebindings", "networkpolicies"}
    assert {c for c in daemon if c[1] in sandbox_kinds} == granted("hawk-sandbox-launcher")
    assert daemon <= granted("hawk-sandbox-launcher", "hawk-daemon")
    # `hawk status` in the code location: run pods and events in the runs' namespace, sandbox pods and events in the
    # sandbox namespace (through the RoleBinding the launcher just made there).
    calls.clear()
    state = state_from_instance(deployment.instance, "audited", deployment.instance.get_runs())
    assert state.run_pods_error is None and state.sandbox_pods_error is None
    assert set(calls) == granted("hawk-status") == granted("hawk-sandbox-status")
    status_binding = deployment.emulator.read(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/hawk-sbx-audited/rolebindings/hawk-status"
    )
    assert status_binding is not None
    assert (status_binding["roleRef"]["name"], status_binding["subjects"]) == (
        "hawk-sandbox-status",
        [{"kind": "ServiceAccount", "name": "hawk-code-location", "namespace": "evals"}],
    )
    # The code location's sweep.
    calls.clear()
    for run in deployment.instance.get_runs():
        if not run.is_finished:
            deployment.instance.report_run_failed(run)
    assert deployment.launcher.cleanup_finished_sandboxes().deleted == ["hawk-sbx-audited"]
    assert set(calls) == granted("hawk-sandbox-cleanup")


class Kubeconfig:
    """A kubeconfig naming a server nobody listens on: enough for the launcher to load its settings."""

    def __init__(self, folder: Path) -> None:
        self.path = str(Emulator("http://127.0.0.1:9").write_kubeconfig(folder / "kubeconfig"))


@pytest.mark.parametrize("deployment", [API_VALUES], indirect=True)
def test_the_charts_api_rights_are_exactly_what_its_status_and_deletion_call(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API service's calls (its status route's pod listing, then deleting the eval set through
    evals/deletion.py: the run terminated through the queue and dagster-k8s, the sandbox namespace deleted), recorded
    with the namespace each acts in, against the rights the chart binds to the API's service account there: the
    runs' namespace (Roles), the sandbox namespace (the status binding the launcher makes) and the cluster
    (ClusterRoles). Every call is allowed and every right granted is used."""
    from kubernetes.client import rest

    from hawk_dagster.access.principal import LOCAL_ADMIN
    from hawk_dagster.evals.deletion import delete_eval_set, plan_deletion

    api_account = "hawk-api"
    # The daemon launches the eval set's run: its Job, and its sandbox namespace whose status binding names the API.
    run = deployment.launch(deployment.submit_eval_set("doomed"))
    sandbox = "hawk-sbx-doomed"
    status_binding = deployment.emulator.read(
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{sandbox}/rolebindings/hawk-status"
    )
    assert status_binding is not None
    assert [s["name"] for s in status_binding["subjects"]] == ["hawk-code-location", api_account]
    # The run's pod, as the Job would make it (nothing schedules pods in the emulator).
    core = kubernetes.client.CoreV1Api(deployment.emulator.api_client())
    job_name = f"dagster-run-{run.run_id}"
    core.create_namespaced_pod(
        RUNS_NAMESPACE,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{job_name}-x7k2p",
                "labels": {"job-name": job_name, "dagster/run-id": run.run_id},
            },
            "spec": {"containers": [{"name": "dagster", "image": BASE_IMAGE}]},
        },
    )

    calls: list[tuple[str | None, tuple[str, str, str]]] = []
    original = rest.RESTClientObject.request

    def record(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        calls.append((_namespace_of(url), _verb(method, url)))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(rest.RESTClientObject, "request", record)

    # The status route (build_status with kubernetes: monitoring/pods.py through the instance's launcher).
    state = state_from_instance(deployment.instance, "doomed", deployment.instance.get_runs())
    assert state.run_pods_error is None and state.sandbox_pods_error is None
    assert [pod.run_id for pod in state.run_pods] == [run.run_id]
    # DELETE /api/v1/eval-sets/doomed: the plan, then its runs stopped and its sandbox removed.
    plan = plan_deletion(
        deployment.storage, "doomed", principal=LOCAL_ADMIN, instance=deployment.instance, engine=None
    )
    assert plan.active_runs == ((run.run_id, "STARTING"),) and plan.sandbox_namespace == sandbox
    result = delete_eval_set(plan, deleted_by="admin", instance=deployment.instance, engine=None)
    api_calls = list(calls)  # the test's own reads below are not the API's
    assert result.stopped == (run.run_id,) and result.not_stopped == () and result.sandbox_deleted
    stopped = deployment.instance.get_run_by_id(run.run_id)
    # dagster-k8s reports the run canceling; the daemon's run monitoring marks it canceled once its pod is gone.
    assert stopped is not None and stopped.status == DagsterRunStatus.CANCELING
    assert deployment.emulator.read(f"/apis/batch/v1/namespaces/{RUNS_NAMESPACE}/jobs/{job_name}") is None
    assert deployment.emulator.read(f"/api/v1/namespaces/{RUNS_NAMESPACE}/pods/{job_name}-x7k2p") is None
    assert deployment.emulator.read(f"/api/v1/namespaces/{sandbox}") is None

    manifests = render(_merge(CHART_VALUES, API_VALUES))
    roles = {(m["kind"], m["metadata"]["name"]): m for m in manifests if m["kind"] in ("Role", "ClusterRole")}

    def granted(kind: str, name: str) -> set[tuple[str, str, str]]:
        return {
            (group, resource, verb)
            for rule in roles[(kind, name)]["rules"]
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            for verb in rule["verbs"]
        }

    held: dict[str | None, set[tuple[str, str, str]]] = {}
    for binding in [m for m in manifests if m["kind"] in ("RoleBinding", "ClusterRoleBinding")] + [
        {**status_binding, "kind": "RoleBinding"}
    ]:
        if any(s["name"] == api_account for s in binding["subjects"]):
            scope = binding["metadata"]["namespace"] if binding["kind"] == "RoleBinding" else None
            role = binding["roleRef"]
            held.setdefault(scope, set()).update(granted(role["kind"], role["name"]))
    used: dict[str | None, set[tuple[str, str, str]]] = {}
    for scope, call in api_calls:
        used.setdefault(scope, set()).add(call)
    assert set(held) == {RUNS_NAMESPACE, sandbox, None}
    assert used == held
