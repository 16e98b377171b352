"""The Helm chart deploy/helm/hawk, rendered in-process by Helm's own engine (helm-python-sdk): lint, the values
schema, every manifest validated strictly against Kubernetes' schemas, and what the manifests must say (the
launcher's config in dagster.yaml, PostgreSQL storage, RBAC, hardening, NetworkPolicies, Secrets, the hook).

No cluster: the run pod the launcher would create is built by dagster_k8s itself from the rendered config.
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
import shutil
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "hawk"
PRODUCTION_VALUES = CHART / "ci" / "production-values.yaml"
RELEASE = "hawk"
NAMESPACE = "evals"
KUBERNETES_VERSIONS = ("1.30.0", "1.33.0")

# Kinds outside Kubernetes' own schemas (CRDs); anything else that does not validate fails.
CRD_KINDS = {"CiliumNetworkPolicy"}

VARIANTS = {
    "default": {},
    "production": yaml.safe_load(PRODUCTION_VALUES.read_text()),
}


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART) as loaded:
        yield loaded


@cache
def _render_cached(values_json: str) -> tuple[dict[str, str], tuple[str, ...]]:
    with helm.Chart.load(CHART) as loaded:
        files = loaded.render(json.loads(values_json), name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs = tuple(
        yaml.safe_dump(doc)
        for path, text in sorted(files.items())
        if not path.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(text)
        if doc
    )
    return files, docs


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every manifest the chart renders with these values (fresh copies: tests may change them)."""
    _, docs = _render_cached(json.dumps(values or {}, sort_keys=True))
    return [yaml.safe_load(doc) for doc in docs]


def render_files(values: dict[str, Any] | None = None) -> dict[str, str]:
    files, _ = _render_cached(json.dumps(values or {}, sort_keys=True))
    return dict(files)


def find(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} rendered"
    return matches[0]


def of_kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == kind]


def instance_yaml(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    config_map = find(manifests, "ConfigMap", f"{RELEASE}-instance")
    assert config_map["metadata"]["namespace"] == NAMESPACE
    parsed: dict[str, Any] = yaml.safe_load(config_map["data"]["dagster.yaml"])
    return parsed


def pod_specs(manifests: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for m in manifests:
        if m["kind"] in ("Deployment", "Job"):
            yield f"{m['kind']}/{m['metadata']['name']}", m["spec"]["template"]["spec"]


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


# --- lint and the values schema -------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
def test_lint_passes_strictly(variant: str, kube_version: str) -> None:
    report = helm.lint(CHART, VARIANTS[variant], strict=True, kube_version=f"v{kube_version}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


def test_lint_reports_a_broken_template(tmp_path: Path) -> None:
    """The lint call above can fail: a copy of the chart with a template error does."""
    import shutil

    broken = tmp_path / "hawk"
    shutil.copytree(CHART, broken)
    (broken / "templates" / "broken.yaml").write_text("{{ .Values.nothing.here }}\n")
    report = helm.lint(broken, {}, strict=True)
    assert report["errors"] or any(m["severity"] == 3 for m in report["messages"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_schema_accepts_the_default_and_production_values(chart: helm.Chart, variant: str) -> None:
    chart.validate_schema(VARIANTS[variant])


BAD_VALUES = [
    pytest.param({"storage": {"root": "/data/hawk"}}, "/storage/root", id="local-storage-root"),
    pytest.param(
        {"storage": {"endpointUrl": "minio:9000"}}, "/storage/endpointUrl", id="endpoint-without-scheme"
    ),
    pytest.param({"warehouse": {"existingSecret": "", "url": ""}}, "/warehouse", id="no-warehouse"),
    pytest.param({"warehouse": {"url": "mysql://x@db/hawk"}}, "/warehouse/url", id="warehouse-not-postgres"),
    pytest.param(
        {"postgresql": {"existingSecret": "", "postgresqlPassword": ""}}, "/postgresql", id="no-pg-password"
    ),
    pytest.param({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy", id="pull-policy"),
    pytest.param(
        {"dagsterWebserver": {"resources": {"limits": {"memory": None}}}},
        "/dagsterWebserver/resources/limits",
        id="no-memory-limit",
    ),
    pytest.param({"dagsterDaemon": {"resources": None}}, "/dagsterDaemon", id="no-daemon-resources"),
    pytest.param(
        {"dagster-user-deployments": {"deployments": [{"name": "hawk", "port": 3030}]}},
        "/dagster-user-deployments/deployments/0",
        id="code-location-without-resources",
    ),
    pytest.param(
        {
            "dagster-user-deployments": {
                "deployments": [
                    {
                        "name": "Hawk_1",
                        "resources": {"requests": {"cpu": 1, "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
                    }
                ]
            }
        },
        "/dagster-user-deployments/deployments/0/name",
        id="code-location-name",
    ),
    pytest.param(
        {"sandbox": {"namespacePrefix": "a-very-long-sandbox-prefix-"}},
        "/sandbox/namespacePrefix",
        id="prefix-too-long",
    ),
    pytest.param(
        {"sandbox": {"extraRules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}]}},
        "/sandbox/extraRules/0/resources/0",
        id="wildcard-resource",
    ),
    pytest.param(
        {"sandbox": {"extraRules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}]}},
        "/sandbox/extraRules/0/verbs/0",
        id="wildcard-verb",
    ),
    pytest.param(
        {"sandbox": {"networkPolicy": {"egress": [{"name": "pypi", "fqdns": ["pypi.org"]}]}}},
        "/sandbox/networkPolicy/egress/0",
        id="sandbox-egress-by-dns-name",  # sandbox policies are plain NetworkPolicies, also under Cilium
    ),
    pytest.param(
        {
            "sandbox": {
                "networkPolicy": {
                    "egress": [{"name": "db", "cidrs": ["10.0.0.0/8"], "ports": [{"port": "db"}]}]
                }
            }
        },
        "/sandbox/networkPolicy/egress/0/ports/0/port",
        id="sandbox-egress-named-port",
    ),
    pytest.param(
        {"sandbox": {"namespaceLabels": {"app.kubernetes.io/managed-by": "me"}}},
        "invalid propertyName 'app.kubernetes.io/managed-by'",  # Helm's validator names the key, not the path
        id="sandbox-label-the-sweep-trusts",
    ),
    pytest.param(
        {"sandbox": {"namespaceLabels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
        "invalid propertyName 'pod-security.kubernetes.io/enforce'",
        id="sandbox-pod-security-label",
    ),
    pytest.param(
        {"sandbox": {"cleanupGraceSeconds": -1}}, "/sandbox/cleanupGraceSeconds", id="negative-grace"
    ),
    pytest.param(
        {"scanBuffer": {"mountPath": "scanbuffer"}}, "/scanBuffer/mountPath", id="relative-scan-buffer"
    ),
    pytest.param({"networkPolicy": {"provider": "calico"}}, "/networkPolicy/provider", id="provider"),
    pytest.param(
        {"networkPolicy": {"runnerEgress": [{"name": "everything", "ports": [{"port": 443}]}]}},
        "/networkPolicy/runnerEgress/0",
        id="egress-without-destination",
    ),
    pytest.param(
        {"networkPolicy": {"runnerEgress": [{"name": "db", "cidrs": ["10.0.0.0"]}]}},
        "/networkPolicy/runnerEgress/0/cidrs/0",
        id="cidr-without-length",
    ),
    pytest.param({"runLauncher": {"type": "CeleryK8sRunLauncher"}}, "/runLauncher/type", id="launcher-class"),
    pytest.param(
        {"runLauncher": {"config": {"k8sRunLauncher": {"jobNamespace": "Runs"}}}},
        "/runLauncher/config/k8sRunLauncher/jobNamespace",
        id="job-namespace",
    ),
    pytest.param({"apiServer": {"enabled": True}}, "/apiServer/oidc", id="api-without-issuer"),
    pytest.param(
        {"apiServer": {"enabled": True, "oidc": {"issuer": "https://id.example", "audience": ""}}},
        "/apiServer/oidc/audience",
        id="api-without-audience",
    ),
    pytest.param(
        {"apiServer": {"corsOrigins": ["https://hawk.example/"]}},
        "/apiServer/corsOrigins/0",
        id="cors-origin-path",
    ),
    pytest.param({"dagsterWebserver": {"replicas": 2}}, "/dagsterWebserver", id="unknown-key"),
    pytest.param(
        {"telemetry": {"enabled": True}}, "additional properties 'telemetry'", id="telemetry-is-not-a-choice"
    ),
]


@pytest.mark.parametrize(("values", "field"), BAD_VALUES)
def test_bad_values_fail_install_naming_the_field(
    chart: helm.Chart, values: dict[str, Any], field: str
) -> None:
    # Rendering is what `helm install` does first: it validates the values against the schema.
    with pytest.raises(helm.HelmValuesError) as error:
        chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    assert field in str(error.value), str(error.value)


# --- every manifest, validated strictly -----------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_strictly(variant: str, kube_version: str) -> None:
    manifests = render(VARIANTS[variant])
    assert len(manifests) > 20
    unvalidated = set()
    for manifest in manifests:
        try:
            kubernetes_validate.validate(manifest, kube_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unvalidated.add(manifest["kind"])
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            pytest.fail(f"{manifest['kind']}/{manifest['metadata']['name']} at {where}: {error.message}")
    assert unvalidated <= CRD_KINDS


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The validation above can fail: a field Kubernetes does not know is rejected in strict mode."""
    deployment = find(render(), "Deployment", f"{RELEASE}-webserver")
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


# --- dagster.yaml: the launcher, storage, queue, compute logs --------------------------------------------------

HAWK_LAUNCHER_KEYS = {"sandbox", "scan_buffer_dir"}
"""Keys of HawkK8sRunLauncher beside dagster-k8s's (scan_buffer_dir with scanBuffer.enabled only)."""
SANDBOX_KEYS = {
    "status_reader",
    "enabled",
    "namespace_prefix",
    "namespace_labels",
    "namespace_annotations",
    "pod_security_standard",
    "delete_namespace_on_finish",
    "cleanup_grace_seconds",
    "runner_cluster_role",
    "runner_service_account",
    "allow_intra_namespace",
    "network_policy",
}


def _process(config_type: Any, config: Any) -> Any:
    from dagster._config import process_config, resolve_to_config_type

    result = process_config(resolve_to_config_type(config_type), config)
    assert result.success, [e.message for e in result.errors or []]
    return result.value


@pytest.mark.parametrize("variant", VARIANTS)
def test_dagster_yaml_is_a_valid_instance_config(
    variant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.instance.config import dagster_instance_config

    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "x")
    instance = instance_yaml(render(VARIANTS[variant]))
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    validated, _ = dagster_instance_config(str(tmp_path))
    assert validated["telemetry"] == {"enabled": False} and validated["nux"] == {"enabled": False}
    assert validated["run_monitoring"]["enabled"] is True


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_launcher_is_ours_with_dagster_k8s_config(variant: str) -> None:
    from dagster_k8s import K8sRunLauncher

    launcher = instance_yaml(render(VARIANTS[variant]))["run_launcher"]
    assert (launcher["module"], launcher["class"]) == (
        "hawk_dagster.deployment.k8s_launcher",
        "HawkK8sRunLauncher",
    )
    config = dict(launcher["config"])
    k8s_keys = set(K8sRunLauncher.config_type())
    assert "sandbox" in config and set(config) - k8s_keys <= HAWK_LAUNCHER_KEYS
    assert set(config["sandbox"]) == SANDBOX_KEYS
    standard = {k: v for k, v in config.items() if k not in HAWK_LAUNCHER_KEYS}
    processed = _process(K8sRunLauncher.config_type(), standard)
    assert processed["instance_config_map"] == f"{RELEASE}-instance"
    assert processed["service_account_name"] == f"{RELEASE}-runner"
    assert processed["dagster_home"] == VARIANTS["default"].get("global", {}).get(
        "dagsterHome", "/opt/dagster/dagster_home"
    )
    assert f"{RELEASE}-env" in processed["env_config_maps"]


def test_launcher_settings_follow_values() -> None:
    production = instance_yaml(render(VARIANTS["production"]))["run_launcher"]["config"]
    assert production["job_namespace"] == "hawk-runs"
    assert production["postgres_password_secret"] == "dagster-postgresql"
    assert production["only_allow_user_defined_k8s_config_fields"]["container_config"] == {"resources": True}
    assert production["labels"]["team"] == "evals" and production["labels"]["hawk/role"] == "runner"
    sandbox = production["sandbox"]
    assert sandbox["namespace_prefix"] == "hawk-sb-"
    assert sandbox["namespace_labels"] == {"app.kubernetes.io/instance": RELEASE}
    assert sandbox["runner_cluster_role"] == f"{RELEASE}-sandbox-runner"
    assert sandbox["runner_service_account"] == production["service_account_name"] == f"{RELEASE}-runner"
    assert sandbox["cleanup_grace_seconds"] == 7200 and sandbox["allow_intra_namespace"] is True
    assert sandbox["status_reader"] == {  # `hawk status` in the code location and the API list sandbox pods
        "cluster_role": f"{RELEASE}-sandbox-status",
        "service_accounts": [f"{RELEASE}-code-location", f"{RELEASE}-api"],
        "namespace": NAMESPACE,
    }
    no_api = instance_yaml(render())["run_launcher"]["config"]["sandbox"]["status_reader"]
    assert no_api["service_accounts"] == [f"{RELEASE}-code-location"]
    no_rbac = instance_yaml(render({"rbac": {"create": False}}))["run_launcher"]["config"]["sandbox"]
    assert "status_reader" not in no_rbac  # the operator's RBAC: nothing to bind
    # Cilium for the chart's pods; sandboxes still get a plain NetworkPolicy (Cilium enforces it).
    assert sandbox["network_policy"]["provider"] == "kubernetes"
    assert sandbox["network_policy"]["egress"] == [
        {
            "name": "package-mirror",
            "cidrs": ["10.0.48.0/24"],
            "except": ["10.0.48.128/25"],
            "ports": [{"port": 443, "protocol": "TCP"}],
        }
    ]
    assert sandbox["network_policy"]["dns"] == {
        "namespace": "kube-system",
        "pod_labels": {"k8s-app": "kube-dns"},
        "port": 53,
    }
    off = instance_yaml(render({"sandbox": {"enabled": False, "networkPolicy": {"enabled": False}}}))
    assert off["run_launcher"]["config"]["sandbox"]["enabled"] is False
    assert off["run_launcher"]["config"]["sandbox"]["network_policy"]["enabled"] is False


SANDBOX_OFF = {
    "sandbox": {"enabled": False, "deleteNamespaceOnFinish": False, "networkPolicy": {"enabled": False}}
}


@pytest.mark.parametrize("values", [*VARIANTS.values(), SANDBOX_OFF], ids=[*VARIANTS, "sandbox-off"])
def test_the_launcher_config_fits_the_hawk_launcher(values: dict[str, Any]) -> None:
    """HawkK8sRunLauncher's own schema takes the whole rendered config, and its settings are the values'
    (tests/deployment/test_k8s_launcher.py launches runs with this config on the Kubernetes emulator)."""
    from hawk_dagster.deployment.k8s_launcher import HawkK8sRunLauncher, SandboxSettings

    rendered = instance_yaml(render(values))["run_launcher"]["config"]
    processed = _process(HawkK8sRunLauncher.config_type(), rendered)
    settings = SandboxSettings.from_config(processed["sandbox"])
    sandbox = {**VARIANTS["default"], **values}.get("sandbox", {})
    assert settings.enabled is sandbox.get("enabled", True)
    assert settings.policy.prefix == sandbox.get("namespacePrefix", "hawk-sandbox-")
    assert settings.policy.network_policy is sandbox.get("networkPolicy", {}).get("enabled", True)
    assert settings.policy.pod_security_standard == "baseline"
    assert settings.runner_service_account == f"{RELEASE}-runner"


@pytest.mark.parametrize("variant", VARIANTS)
def test_instance_storage_is_postgresql_with_the_password_from_the_environment(
    variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster_postgres import DagsterPostgresStorage

    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "from-the-secret")
    storage = instance_yaml(render(VARIANTS[variant]))["storage"]
    assert set(storage) == {"postgres"}
    db = storage["postgres"]["postgres_db"]
    assert db["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    assert db["scheme"] == "postgresql+psycopg2"
    processed = _process(DagsterPostgresStorage.config_type(), storage["postgres"])
    assert processed["postgres_db"]["password"] == "from-the-secret"


def test_production_storage_settings() -> None:
    db = instance_yaml(render(VARIANTS["production"]))["storage"]["postgres"]["postgres_db"]
    assert db["hostname"] == "dagster.cluster-abc123.eu-west-2.rds.amazonaws.com"
    assert db["params"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    ("values", "bucket", "prefix", "endpoint"),
    [
        ({}, "hawk", "dagster/compute-logs", None),
        ({"storage": {"root": "s3://acme-evals/prod/"}}, "acme-evals", "prod/dagster/compute-logs", None),
        (
            {"storage": {"root": "s3://evals/a/b", "endpointUrl": "http://minio:9000"}},
            "evals",
            "a/b/dagster/compute-logs",
            "http://minio:9000",
        ),
        (
            {
                "computeLogManager": {
                    "config": {"s3ComputeLogManager": {"bucket": "logs", "prefix": "dagster"}}
                }
            },
            "logs",
            "dagster",
            None,
        ),
    ],
)
def test_compute_logs_are_kept_in_the_bucket(
    values: dict[str, Any], bucket: str, prefix: str, endpoint: str | None
) -> None:
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

    logs = instance_yaml(render(values))["compute_logs"]
    assert (logs["module"], logs["class"]) == ("dagster_aws.s3.compute_log_manager", "S3ComputeLogManager")
    processed = _process(S3ComputeLogManager.config_type(), logs["config"])
    assert (processed["bucket"], processed["prefix"], processed.get("endpoint_url")) == (
        bucket,
        prefix,
        endpoint,
    )
    assert processed["local_dir"].startswith("/tmp/")  # the read-only root filesystem's writable place


def test_the_queue_runs_one_run_per_eval_set_and_optionally_per_user() -> None:
    from dagster._core.run_coordinator import QueuedRunCoordinator

    default = instance_yaml(render())["run_coordinator"]
    assert (default["module"], default["class"]) == ("dagster.core.run_coordinator", "QueuedRunCoordinator")
    processed = _process(QueuedRunCoordinator.config_type(), default["config"])
    assert processed["max_concurrent_runs"] == 10
    assert processed["tag_concurrency_limits"] == [
        {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    ]
    production = instance_yaml(render(VARIANTS["production"]))["run_coordinator"]["config"]
    _process(QueuedRunCoordinator.config_type(), production)
    assert production["max_concurrent_runs"] == 50
    assert production["tag_concurrency_limits"] == [
        {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
        {"key": "hawk/created_by", "value": {"applyLimitPerUniqueValue": True}, "limit": 10},
        {"key": "hawk/source", "value": "schedule", "limit": 5},
    ]


def test_the_local_instance_and_the_chart_limit_partitions_alike() -> None:
    from hawk_dagster.deployment.local_instance import DAGSTER_YAML

    local = yaml.safe_load(DAGSTER_YAML)["run_coordinator"]["config"]["tag_concurrency_limits"]
    chart = instance_yaml(render())["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert local == chart


def test_the_workspace_points_at_each_code_location_service() -> None:
    manifests = render()
    workspace = yaml.safe_load(find(manifests, "ConfigMap", f"{RELEASE}-workspace")["data"]["workspace.yaml"])
    [server] = [entry["grpc_server"] for entry in workspace["load_from"]]
    service = find(manifests, "Service", server["host"])
    assert server["port"] == service["spec"]["ports"][0]["port"] and server["location_name"] == "hawk"
    deployment = find(manifests, "Deployment", server["host"])
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["dagster", "api", "grpc"]
    assert container["args"][:4] == ["-m", "hawk_dagster.definitions", "-a", "defs"]
    assert importlib.util.find_spec("hawk_dagster.definitions") is not None


# --- the run pod the launcher would create --------------------------------------------------------------------


def _run_pod_job(manifests: list[dict[str, Any]], tags: dict[str, str], tmp_path: Path) -> Any:
    """The Job dagster_k8s builds for a run from the rendered launcher config (as K8sRunLauncher.launch_run)."""
    import kubernetes
    from dagster import DagsterRun
    from dagster_k8s import K8sRunLauncher
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import construct_dagster_k8s_job, get_job_name_from_run_id

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    config = {
        k: v
        for k, v in instance_yaml(manifests)["run_launcher"]["config"].items()
        if k not in HAWK_LAUNCHER_KEYS
    }
    processed = _process(
        K8sRunLauncher.config_type(),
        {**config, "load_incluster_config": False, "kubeconfig_file": str(kubeconfig)},
    )
    launcher = K8sRunLauncher(**processed)
    run = DagsterRun(job_name="eval_set_pipeline", run_id="0123abcd-0000-0000-0000-000000000000", tags=tags)
    context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=True)
    job = construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(job_image="registry/hawk-dagster:0.1.0", run_launcher=launcher),
        args=["dagster", "api", "execute_run", "{}"],
        job_name=get_job_name_from_run_id(run.run_id),
        user_defined_k8s_config=context.run_k8s_config,
        component="run_worker",
        labels={"dagster/job": run.job_name, "dagster/run-id": run.run_id},
    )
    return kubernetes.client.ApiClient().sanitize_for_serialization(job), context.namespace


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_run_pod_is_valid_hardened_and_selected_by_the_runner_policy(
    variant: str, tmp_path: Path
) -> None:
    values = VARIANTS[variant]
    namespace = "hawk-runs" if variant == "production" else NAMESPACE
    manifests = render(values)
    per_run = {
        "container_config": {
            "resources": {"requests": {"cpu": "3", "memory": "12Gi"}, "limits": {"memory": "12Gi"}}
        }
    }
    job, job_namespace = _run_pod_job(manifests, {"dagster-k8s/config": json.dumps(per_run)}, tmp_path)
    assert job_namespace == namespace
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(job, version, strict=True)
    pod = job["spec"]["template"]
    spec = pod["spec"]
    [container] = spec["containers"]
    assert spec["serviceAccountName"] == f"{RELEASE}-runner"
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # An eval set's runner: settings win; what they leave out keeps the launcher's default (dagster-k8s deep-merges).
    default_cpu_limit = "8" if variant == "production" else "4"
    assert container["resources"] == {
        "requests": {"cpu": "3", "memory": "12Gi"},
        "limits": {"cpu": default_cpu_limit, "memory": "12Gi"},
    }
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/tmp", "/var/lib/hawk"} <= mounts
    assert container["workingDir"] == "/var/lib/hawk"
    env = {e["name"]: e for e in container["env"]}
    assert env["DAGSTER_HOME"]["value"] == "/opt/dagster/dagster_home"
    assert env["HAWK_WAREHOUSE_URL"]["valueFrom"]["secretKeyRef"]["name"] in ("hawk-warehouse",)
    assert env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "postgresql-password"
    assert [e["name"] for e in container["env"]].count("DAGSTER_PG_PASSWORD") == 1
    assert {"configMapRef": {"name": f"{RELEASE}-env"}} in container["envFrom"]
    policy = find(manifests, "NetworkPolicy", f"{RELEASE}-runner")
    assert policy["metadata"]["namespace"] == namespace
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()


def test_run_pods_get_the_default_resources_without_a_run_tag(tmp_path: Path) -> None:
    job, _ = _run_pod_job(render(), {}, tmp_path)
    assert job["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "1", "memory": "4Gi"},
        "limits": {"cpu": "4", "memory": "16Gi"},
    }


def test_production_forbids_run_tags_other_k8s_fields(tmp_path: Path) -> None:
    tag = {"pod_spec_config": {"host_network": True}}
    with pytest.raises(Exception, match=r"violated the allowed list: pod_spec_config\.host_network"):
        _run_pod_job(render(VARIANTS["production"]), {"dagster-k8s/config": json.dumps(tag)}, tmp_path)


def test_the_scan_buffer_is_off_by_default(tmp_path: Path) -> None:
    manifests = render()
    assert not of_kind(manifests, "PersistentVolumeClaim")
    assert "scan_buffer_dir" not in instance_yaml(manifests)["run_launcher"]["config"]
    job, _ = _run_pod_job(manifests, {}, tmp_path)
    assert "scanbuffer" not in {v["name"] for v in job["spec"]["template"]["spec"]["volumes"]}


@pytest.mark.parametrize(
    ("values", "claim"),
    [
        ({"scanBuffer": {"enabled": True, "storageClass": "efs", "size": "200Gi"}}, "hawk-scanbuffer"),
        ({"scanBuffer": {"enabled": True, "existingClaim": "shared-rwx"}}, "shared-rwx"),
    ],
    ids=["chart-claim", "existing-claim"],
)
def test_the_scan_buffer_is_a_shared_volume_in_every_run_pod(
    values: dict[str, Any], claim: str, tmp_path: Path
) -> None:
    values = {**values, "runLauncher": {"config": {"k8sRunLauncher": {"jobNamespace": "hawk-runs"}}}}
    manifests = render(values)
    claims = of_kind(manifests, "PersistentVolumeClaim")
    if claim == "hawk-scanbuffer":
        [pvc] = claims
        assert (pvc["metadata"]["name"], pvc["metadata"]["namespace"]) == (claim, "hawk-runs")
        assert pvc["spec"]["accessModes"] == ["ReadWriteMany"] and pvc["spec"]["storageClassName"] == "efs"
        assert pvc["spec"]["resources"]["requests"]["storage"] == "200Gi"
        assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(pvc, version, strict=True)
    else:
        assert claims == []
    assert instance_yaml(manifests)["run_launcher"]["config"]["scan_buffer_dir"] == "/var/lib/hawk-scanbuffer"
    job, _ = _run_pod_job(manifests, {}, tmp_path)
    kubernetes_validate.validate(job, KUBERNETES_VERSIONS[-1], strict=True)
    spec = job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["scanbuffer"]["persistentVolumeClaim"] == {"claimName": claim}
    mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["scanbuffer"] == "/var/lib/hawk-scanbuffer"


def test_hawk_knows_it_runs_on_kubernetes_and_the_code_location_has_the_instance() -> None:
    """definitions.py reads HAWK_DEPLOYMENT (the sandbox_cleanup sensor exists only with kubernetes); the sensor
    loads the instance's launcher from DAGSTER_HOME/dagster.yaml in the code location pod."""
    manifests = render(PLANTED)
    for namespace in (
        NAMESPACE,
        "hawk-runs",
    ):  # the run pods' namespace has its copy (run pods load definitions)
        env = next(m for m in of_kind(manifests, "ConfigMap") if m["metadata"]["namespace"] == namespace)
        assert env["metadata"]["name"] == "hawk-env" and env["data"]["HAWK_DEPLOYMENT"] == "kubernetes"
    spec = find(manifests, "Deployment", "hawk-code-hawk")["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == "hawk-code-location"
    [container] = spec["containers"]
    assert {"configMapRef": {"name": "hawk-env"}} in container["envFrom"]
    env = {e["name"]: e for e in container["env"]}
    assert env["DAGSTER_HOME"]["value"] == "/opt/dagster/dagster_home"
    assert "DAGSTER_PG_PASSWORD" in env  # the sensor reads run records from Dagster's storage
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert mounts["instance"] == "/opt/dagster/dagster_home"
    assert volumes["instance"]["configMap"]["name"] == "hawk-instance"


# --- containers: resources, security, probes -------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_container_is_limited_hardened_and_probed(variant: str) -> None:
    manifests = render(VARIANTS[variant])
    seen = 0
    for where, spec in pod_specs(manifests):
        pod_security = spec.get("securityContext", {})
        assert pod_security.get("runAsNonRoot") is True, where
        assert pod_security.get("seccompProfile") == {"type": "RuntimeDefault"}, where
        for container in containers(spec):
            seen += 1
            name = f"{where}/{container['name']}"
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"], name
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["runAsNonRoot"] is True, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name
            assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}, name
            if where.startswith("Deployment/"):
                assert "livenessProbe" in container, name
                if container.get("ports"):
                    assert "readinessProbe" in container, name
    assert seen >= 5


def test_the_code_location_is_probed_over_grpc_health() -> None:
    deployment = find(render(), "Deployment", f"{RELEASE}-code-hawk")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"] == {"port": 3030, "service": "DagsterApi"}


@pytest.mark.parametrize(
    ("variant", "path"), [("default", "/server_info"), ("production", "/dagster/server_info")]
)
def test_webserver_probes_follow_the_path_prefix(variant: str, path: str) -> None:
    """Under --path-prefix the webserver serves /server_info only below the prefix."""
    deployment = find(render(VARIANTS[variant]), "Deployment", f"{RELEASE}-webserver")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert {container[p]["httpGet"]["path"] for p in ("startupProbe", "readinessProbe", "livenessProbe")} == {
        path
    }
    if variant == "production":
        assert "--path-prefix=/dagster" in container["args"]


# --- RBAC -------------------------------------------------------------------------------------------------------

ROLE_RULES = {
    ("Role", "hawk-webserver"): {
        ("batch", "jobs"): {"get", "list", "watch"},
        ("", "pods"): {"get", "list", "watch"},
        ("", "pods/log"): {"get"},
    },
    # hawk_dagster.monitoring.pods (`hawk status` in the code location): list_namespaced_pod, list_namespaced_event.
    ("Role", "hawk-status"): {("", "pods"): {"list"}, ("", "events"): {"list"}},
    ("ClusterRole", "hawk-sandbox-status"): {("", "pods"): {"list"}, ("", "events"): {"list"}},
    ("Role", "hawk-daemon"): {
        ("batch", "jobs"): {"create", "get", "list", "watch", "delete"},
        ("batch", "jobs/status"): {"get"},
        ("", "pods"): {"get", "list", "watch", "delete"},
        ("", "pods/log"): {"get"},
        ("", "events"): {"list"},
    },
    # hawk_dagster.deployment.sandboxes.ensure_sandbox: create_namespace, read_namespace and patch_namespace
    # when it exists; create (409: patch) of the RoleBinding and the NetworkPolicy; bind for the runner role.
    ("ClusterRole", "hawk-sandbox-launcher"): {
        ("", "namespaces"): {"create", "get", "patch"},
        ("rbac.authorization.k8s.io", "rolebindings"): {"create", "patch"},
        ("networking.k8s.io", "networkpolicies"): {"create", "patch"},
        ("rbac.authorization.k8s.io", "clusterroles"): {"bind"},
    },
    # sweep_sandboxes (the code location's sandbox_cleanup sensor): list_namespace, delete_namespace.
    ("ClusterRole", "hawk-sandbox-cleanup"): {("", "namespaces"): {"list", "delete"}},
    ("ClusterRole", "hawk-sandbox-runner"): {
        ("", "pods"): {"get", "list", "watch", "create", "delete"},
        ("", "pods/exec"): {"get", "create"},
        ("", "pods/log"): {"get"},
        ("", "services"): {"get", "list", "create", "delete"},
        ("", "configmaps"): {"get", "list", "create", "delete"},
    },
}


def _rules(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    rules: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                rules.setdefault((group, resource), set()).update(rule["verbs"])
    return rules


def test_rbac_grants_exactly_the_intended_verbs() -> None:
    manifests = render()
    roles = {(m["kind"], m["metadata"]["name"]): m for m in manifests if m["kind"] in ("Role", "ClusterRole")}
    assert set(roles) == set(ROLE_RULES)
    for key, expected in ROLE_RULES.items():
        assert _rules(roles[key]) == expected, key
    bind = next(r for r in roles[("ClusterRole", "hawk-sandbox-launcher")]["rules"] if r["verbs"] == ["bind"])
    assert bind["resourceNames"] == ["hawk-sandbox-runner", "hawk-sandbox-status"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_rbac_has_no_wildcards_and_no_cluster_admin(variant: str) -> None:
    manifests = render(VARIANTS[variant])
    for role in [m for m in manifests if m["kind"] in ("Role", "ClusterRole")]:
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert not any("*" in item for item in rule.get(field, [])), (role["metadata"]["name"], rule)
    chart_roles = {m["metadata"]["name"] for m in manifests if m["kind"] in ("Role", "ClusterRole")}
    for binding in [m for m in manifests if m["kind"] in ("RoleBinding", "ClusterRoleBinding")]:
        assert binding["roleRef"]["name"] in chart_roles, binding["metadata"]["name"]
        assert binding["roleRef"]["name"] not in ("cluster-admin", "admin", "edit")


def test_each_role_has_its_own_service_account_and_bindings_match() -> None:
    manifests = render(VARIANTS["production"])
    accounts = {
        (m["metadata"]["namespace"], m["metadata"]["name"]) for m in of_kind(manifests, "ServiceAccount")
    }
    assert {
        (NAMESPACE, "hawk-webserver"),
        (NAMESPACE, "hawk-daemon"),
        (NAMESPACE, "hawk-code-location"),
        ("hawk-runs", "hawk-runner"),
        (NAMESPACE, "hawk-migrate"),
        (NAMESPACE, "hawk-api"),
    } == accounts
    bound = {
        (b["roleRef"]["name"], s["namespace"], s["name"])
        for b in manifests
        if b["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for s in b["subjects"]
    }
    assert bound == {
        ("hawk-webserver", NAMESPACE, "hawk-webserver"),
        ("hawk-daemon", NAMESPACE, "hawk-daemon"),
        ("hawk-sandbox-launcher", NAMESPACE, "hawk-daemon"),
        ("hawk-sandbox-cleanup", NAMESPACE, "hawk-code-location"),
        ("hawk-status", NAMESPACE, "hawk-code-location"),
        ("hawk-status", NAMESPACE, "hawk-api"),
        ("hawk-api", NAMESPACE, "hawk-api"),
        ("hawk-api-sandbox", NAMESPACE, "hawk-api"),
    }
    # The run Roles live where the runs are; the sandbox runner and status roles are bound by the launcher, never here.
    assert find(manifests, "Role", "hawk-daemon")["metadata"]["namespace"] == "hawk-runs"
    assert find(manifests, "Role", "hawk-status")["metadata"]["namespace"] == "hawk-runs"
    assert find(manifests, "Role", "hawk-api")["metadata"]["namespace"] == "hawk-runs"
    irsa = "arn:aws:iam::123456789012:role/hawk-dagster"
    for account in of_kind(manifests, "ServiceAccount"):
        assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == irsa


def test_run_termination_from_the_ui_is_an_explicit_choice() -> None:
    webserver = find(render(VARIANTS["production"]), "Role", "hawk-webserver")
    assert _rules(webserver)[("batch", "jobs")] == {"get", "list", "watch", "delete"}


def test_sandbox_rights_exist_only_with_sandboxes() -> None:
    manifests = render({"sandbox": {"enabled": False}})
    assert not of_kind(manifests, "ClusterRole") and not of_kind(manifests, "ClusterRoleBinding")
    assert not of_kind(manifests, "ValidatingAdmissionPolicy")


def test_under_cilium_sandboxes_still_get_plain_policies_and_the_runner_its_extra_rules() -> None:
    launcher = find(render(VARIANTS["production"]), "ClusterRole", "hawk-sandbox-launcher")
    assert _rules(launcher) == ROLE_RULES[("ClusterRole", "hawk-sandbox-launcher")]  # no cilium.io
    runner = find(render(VARIANTS["production"]), "ClusterRole", "hawk-sandbox-runner")
    assert _rules(runner)[("apps", "statefulsets")] == {"get", "list", "watch", "create", "patch", "delete"}


def test_the_sandbox_guard_holds_the_launcher_to_sandbox_namespaces() -> None:
    manifests = render(VARIANTS["production"])
    policy = find(manifests, "ValidatingAdmissionPolicy", "hawk-sandbox-guard")
    [condition] = policy["spec"]["matchConditions"]
    assert condition["expression"] == (
        "request.userInfo.username in ['system:serviceaccount:evals:hawk-daemon', "
        "'system:serviceaccount:evals:hawk-code-location', 'system:serviceaccount:evals:hawk-api']"
    )
    expressions = [v["expression"] for v in policy["spec"]["validations"]]
    assert "request.name.startsWith('hawk-sb-')" in expressions[0]
    assert "request.namespace.startsWith('hawk-sb-')" in expressions[0]
    assert "object.roleRef.name == 'hawk-sandbox-runner'" in expressions[2]
    assert "s.name == 'hawk-runner' && s.namespace == 'hawk-runs'" in expressions[2]
    assert "s.name in ['hawk-code-location', 'hawk-api'] && s.namespace == 'evals'" in expressions[2]
    resources = {r["resources"][0] for r in policy["spec"]["matchConstraints"]["resourceRules"]}
    assert resources == {"namespaces", "rolebindings", "networkpolicies"}
    binding = find(manifests, "ValidatingAdmissionPolicyBinding", "hawk-sandbox-guard")
    assert binding["spec"] == {"policyName": "hawk-sandbox-guard", "validationActions": ["Deny"]}


def _admits(policy: dict[str, Any], request: dict[str, Any], obj: dict[str, Any] | None) -> bool | None:
    """What the policy decides for a request, by evaluating its CEL as the API server would: None when the
    request does not concern it (match condition false), else whether every validation holds."""
    import celpy

    env = celpy.Environment()
    activation = {"request": celpy.json_to_cel(request), "object": celpy.json_to_cel(obj)}

    def holds(expression: str) -> bool:
        return bool(env.program(env.compile(expression)).evaluate(activation))

    if not all(holds(c["expression"]) for c in policy["spec"]["matchConditions"]):
        return None
    return all(holds(v["expression"]) for v in policy["spec"]["validations"])


DAEMON = "system:serviceaccount:evals:hawk-daemon"


def _request(
    resource: str, operation: str, name: str, namespace: str = "", user: str = DAEMON
) -> dict[str, Any]:
    return {
        "userInfo": {"username": user},
        "resource": {"resource": resource},
        "operation": operation,
        "name": name,
        "namespace": namespace,
    }


CLEANUP = "system:serviceaccount:evals:hawk-code-location"
API = "system:serviceaccount:evals:hawk-api"


def _binding(
    role_kind: str, role: str, subject: tuple[str, str, str] = ("ServiceAccount", "hawk-runner", "evals")
) -> dict[str, Any]:
    kind, name, namespace = subject
    return {
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"kind": kind, "name": name, "namespace": namespace}],
    }


@pytest.mark.parametrize(
    ("request_", "obj", "decision"),
    [
        (_request("namespaces", "CREATE", "hawk-sandbox-abc"), {}, True),
        (_request("namespaces", "DELETE", "hawk-sandbox-abc"), None, True),
        (_request("namespaces", "DELETE", "kube-system"), None, False),
        (_request("namespaces", "CREATE", "evals-2"), {}, False),
        (_request("namespaces", "CREATE", ""), {}, False),  # generateName: no name to check
        (
            _request("rolebindings", "CREATE", "runner", "hawk-sandbox-abc"),
            _binding("ClusterRole", "hawk-sandbox-runner"),
            True,
        ),
        (
            _request("rolebindings", "CREATE", "runner", "hawk-sandbox-abc"),
            _binding("ClusterRole", "cluster-admin"),
            False,
        ),
        (
            _request("rolebindings", "CREATE", "runner", "hawk-sandbox-abc"),
            _binding("Role", "hawk-sandbox-runner"),
            False,
        ),
        (
            _request("rolebindings", "CREATE", "runner", "evals"),
            _binding("ClusterRole", "hawk-sandbox-runner"),
            False,
        ),
        (
            _request("rolebindings", "CREATE", "runner", "hawk-sandbox-abc"),
            _binding("ClusterRole", "hawk-sandbox-runner", ("ServiceAccount", "default", "kube-system")),
            False,
        ),
        (
            _request("rolebindings", "CREATE", "runner", "hawk-sandbox-abc"),
            _binding("ClusterRole", "hawk-sandbox-runner", ("Group", "system:authenticated", "")),
            False,
        ),
        (
            _request("rolebindings", "CREATE", "hawk-status", "hawk-sandbox-abc"),
            _binding("ClusterRole", "hawk-sandbox-status", ("ServiceAccount", "hawk-code-location", "evals")),
            True,
        ),
        (  # the status role to anyone else, or the runner role to the status reader
            _request("rolebindings", "CREATE", "hawk-status", "hawk-sandbox-abc"),
            _binding("ClusterRole", "hawk-sandbox-status"),
            False,
        ),
        (
            _request("rolebindings", "CREATE", "hawk-status", "hawk-sandbox-abc"),
            _binding("ClusterRole", "hawk-sandbox-runner", ("ServiceAccount", "hawk-code-location", "evals")),
            False,
        ),
        (
            _request("rolebindings", "CREATE", "hawk-status", "hawk-sandbox-abc"),
            _binding(
                "ClusterRole", "hawk-sandbox-status", ("ServiceAccount", "hawk-code-location", "kube-system")
            ),
            False,
        ),
        (_request("rolebindings", "DELETE", "runner", "hawk-sandbox-abc"), None, True),
        (_request("namespaces", "UPDATE", "hawk-sandbox-abc"), {}, True),  # the launcher's patch of labels
        (_request("namespaces", "DELETE", "hawk-sandbox-abc", user=CLEANUP), None, True),
        (_request("namespaces", "DELETE", "evals", user=CLEANUP), None, False),
        (_request("namespaces", "CREATE", "hawk-sandbox-abc", user=CLEANUP), {}, False),
        (
            _request("networkpolicies", "DELETE", "hawk-sandbox", "hawk-sandbox-abc", user=CLEANUP),
            None,
            False,
        ),
        (_request("networkpolicies", "CREATE", "sandbox", "hawk-sandbox-abc"), {}, True),
        (_request("networkpolicies", "DELETE", "hawk-runner", "evals"), None, False),
        (_request("namespaces", "DELETE", "kube-system", user="system:serviceaccount:ops:admin"), None, None),
        # Deleting an eval set through the API: its sandbox namespace, and nothing else.
        (_request("namespaces", "DELETE", "hawk-sandbox-abc", user=API), None, True),
        (_request("namespaces", "DELETE", "evals", user=API), None, False),
        (_request("namespaces", "DELETE", "kube-system", user=API), None, False),
        (_request("namespaces", "CREATE", "hawk-sandbox-abc", user=API), {}, False),
        (_request("namespaces", "UPDATE", "hawk-sandbox-abc", user=API), {}, False),
        (_request("rolebindings", "DELETE", "hawk-status", "hawk-sandbox-abc", user=API), None, False),
        (_request("networkpolicies", "DELETE", "hawk-sandbox", "hawk-sandbox-abc", user=API), None, False),
        # The launcher may bind the status role to the API's account too (and still to no one else).
        (
            _request("rolebindings", "CREATE", "hawk-status", "hawk-sandbox-abc"),
            {
                "roleRef": {"kind": "ClusterRole", "name": "hawk-sandbox-status"},
                "subjects": [
                    {"kind": "ServiceAccount", "name": "hawk-code-location", "namespace": "evals"},
                    {"kind": "ServiceAccount", "name": "hawk-api", "namespace": "evals"},
                ],
            },
            True,
        ),
        (
            _request("rolebindings", "CREATE", "hawk-status", "hawk-sandbox-abc"),
            _binding("ClusterRole", "hawk-sandbox-status", ("ServiceAccount", "hawk-api", "kube-system")),
            False,
        ),
        (
            _request("rolebindings", "CREATE", "runner", "hawk-sandbox-abc"),
            _binding("ClusterRole", "hawk-sandbox-runner", ("ServiceAccount", "hawk-api", "evals")),
            False,
        ),
    ],
)
def test_the_sandbox_guard_admits_only_sandbox_work(
    request_: dict[str, Any], obj: dict[str, Any] | None, decision: bool | None
) -> None:
    """Each request against the guard with and without the API service: without it, the API's account is no
    sandbox account at all (the guard does not concern its requests) and the launcher may bind nothing to it."""
    with_api = find(render(API_VALUES), "ValidatingAdmissionPolicy", "hawk-sandbox-guard")
    assert _admits(with_api, request_, obj) is decision
    without_api = find(render(), "ValidatingAdmissionPolicy", "hawk-sandbox-guard")
    names_the_api = any(s["name"] == "hawk-api" for s in (obj or {}).get("subjects", []))
    expected = None if request_["userInfo"]["username"] == API else decision and not names_the_api
    assert _admits(without_api, request_, obj) is expected


# --- NetworkPolicies --------------------------------------------------------------------------------------------


def test_network_policies_isolate_runners_and_the_code_location() -> None:
    manifests = render()
    policies = {m["metadata"]["name"]: m["spec"] for m in of_kind(manifests, "NetworkPolicy")}
    assert set(policies) == {"hawk-runner", "hawk-code-location", "hawk-webserver", "hawk-daemon"}
    runner = policies["hawk-runner"]
    assert runner["policyTypes"] == ["Ingress", "Egress"] and runner["ingress"] == []
    for rule in runner["egress"]:
        assert rule.get("to"), f"an egress rule without destinations allows everything: {rule}"
    dns = runner["egress"][0]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
    public = runner["egress"][-1]
    assert public["to"][0]["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert "169.254.0.0/16" in public["to"][0]["ipBlock"]["except"]  # no cloud metadata service
    code = policies["hawk-code-location"]
    sources = [
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for peer in code["ingress"][0]["from"]
    ]
    assert sources == ["webserver", "daemon"]
    assert policies["hawk-daemon"]["ingress"] == []


def test_runner_egress_allow_list_comes_from_values() -> None:
    manifests = render(VARIANTS["production"])
    runner = find(manifests, "NetworkPolicy", "hawk-runner")
    assert runner["metadata"]["namespace"] == "hawk-runs"
    destinations = [
        [peer.get("ipBlock", {}).get("cidr") for peer in rule["to"]] for rule in runner["spec"]["egress"]
    ]
    # DNS, the API server, PostgreSQL, public HTTPS; the fqdns-only entry is Cilium's alone.
    assert destinations[1:] == [["10.0.0.10/32", "10.0.1.10/32"], ["10.0.32.0/20"], ["0.0.0.0/0"]]
    cilium = find(manifests, "CiliumNetworkPolicy", "hawk-runner")["spec"]
    assert {"toEntities": ["kube-apiserver"]} in cilium["egress"]
    fqdns = [rule for rule in cilium["egress"] if "toFQDNs" in rule]
    assert [n["matchName"] for n in fqdns[0]["toFQDNs"]] == ["api.openai.com", "api.anthropic.com"]
    assert cilium["egress"][0]["toPorts"][0]["rules"]["dns"] == [{"matchPattern": "*"}]


def test_network_policies_can_be_left_to_the_operator() -> None:
    manifests = render({"networkPolicy": {"enabled": False}})
    assert not of_kind(manifests, "NetworkPolicy") and not of_kind(manifests, "CiliumNetworkPolicy")


# --- Secrets never in ConfigMaps ----------------------------------------------------------------------------------

PLANTED = {
    "postgresql": {"postgresqlPassword": "pg-Planted-Passw0rd"},
    "warehouse": {"url": "postgresql://hawk:wh-Planted-Passw0rd@warehouse:5432/hawk"},
    "storage": {"credentials": {"accessKeyId": "AKIAPLANTED", "secretAccessKey": "s3-Planted-Secret"}},
    "runLauncher": {"config": {"k8sRunLauncher": {"jobNamespace": "hawk-runs"}}},
}
SECRETS = ["pg-Planted-Passw0rd", "wh-Planted-Passw0rd", "s3-Planted-Secret"]


def test_literal_secrets_appear_only_in_secrets() -> None:
    manifests = render(PLANTED)
    files = render_files(PLANTED)
    for path, text in files.items():
        for secret in SECRETS:
            encoded = base64.b64encode(secret.encode()).decode()
            assert secret not in text, f"{secret} in {path}"
            if not path.endswith(("secrets.yaml", "migrate-hook.yaml")):
                assert encoded[:16] not in text, f"{secret} (base64) in {path}"
    decoded: dict[tuple[str, str], dict[str, str]] = {
        (s["metadata"]["namespace"], s["metadata"]["name"]): {
            k: base64.b64decode(v).decode() for k, v in s["data"].items()
        }
        for s in of_kind(manifests, "Secret")
    }
    for namespace in (NAMESPACE, "hawk-runs"):  # the run pods' namespace gets its own copies
        assert decoded[(namespace, "hawk-postgresql")] == {"postgresql-password": "pg-Planted-Passw0rd"}
        assert decoded[(namespace, "hawk-warehouse")] == {"HAWK_WAREHOUSE_URL": PLANTED["warehouse"]["url"]}
        assert decoded[(namespace, "hawk-storage")]["AWS_SECRET_ACCESS_KEY"] == "s3-Planted-Secret"
    assert decoded[(NAMESPACE, "hawk-migrate")] == {
        "postgresql-password": "pg-Planted-Passw0rd",
        "HAWK_WAREHOUSE_URL": PLANTED["warehouse"]["url"],
    }
    for config_map in of_kind(manifests, "ConfigMap"):
        text = yaml.safe_dump(config_map)
        assert not any(s in text for s in SECRETS), config_map["metadata"]["name"]
    launcher = instance_yaml(manifests)["run_launcher"]["config"]
    env = {e["name"]: e for e in launcher["run_k8s_config"]["container_config"]["env"]}
    assert env["HAWK_WAREHOUSE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "hawk-warehouse",
        "key": "HAWK_WAREHOUSE_URL",
    }
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "hawk-storage"


def test_existing_secrets_render_no_secret() -> None:
    manifests = render(VARIANTS["production"])
    assert not of_kind(manifests, "Secret")
    code = find(manifests, "Deployment", "hawk-code-hawk")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("valueFrom") for e in code["env"]}
    assert env["HAWK_WAREHOUSE_URL"] == {"secretKeyRef": {"name": "hawk-warehouse", "key": "url"}}
    assert env["DAGSTER_PG_PASSWORD"] == {
        "secretKeyRef": {"name": "dagster-postgresql", "key": "postgresql-password"}
    }


def test_only_the_processes_that_use_the_warehouse_get_its_url() -> None:
    manifests = render()
    for name, expected in (("hawk-webserver", False), ("hawk-daemon", False), ("hawk-code-hawk", True)):
        container = find(manifests, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        assert ("HAWK_WAREHOUSE_URL" in {e["name"] for e in container["env"]}) is expected, name


# --- the migration hook -----------------------------------------------------------------------------------------


def test_the_migration_job_is_a_pre_install_and_pre_upgrade_hook() -> None:
    manifests = render(PLANTED)
    job = find(manifests, "Job", "hawk-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"
    weight = int(annotations["helm.sh/hook-weight"])
    spec = job["spec"]["template"]["spec"]
    steps = [c["command"] for c in containers(spec)]
    assert steps == [
        ["python", "-m", "hawk_dagster.warehouse.schema.migrate"],
        ["dagster", "instance", "migrate"],
    ]
    assert spec["automountServiceAccountToken"] is False
    # What the hook reads exists before it: hooks of a lower weight, since the release's objects do not yet.
    for kind, name in (
        ("ServiceAccount", "hawk-migrate"),
        ("ConfigMap", "hawk-migrate-instance"),
        ("Secret", "hawk-migrate"),
    ):
        dependency = find(manifests, kind, name)["metadata"]["annotations"]
        assert dependency["helm.sh/hook"] == "pre-install,pre-upgrade", name
        assert int(dependency["helm.sh/hook-weight"]) < weight, name
    secret_policy = find(manifests, "Secret", "hawk-migrate")["metadata"]["annotations"][
        "helm.sh/hook-delete-policy"
    ]
    assert "hook-succeeded" in secret_policy and "hook-failed" in secret_policy
    env = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in spec["initContainers"][0]["env"]
        if "valueFrom" in e
    }
    assert env == {"HAWK_WAREHOUSE_URL": "hawk-migrate", "DAGSTER_PG_PASSWORD": "hawk-migrate"}
    instance = yaml.safe_load(find(manifests, "ConfigMap", "hawk-migrate-instance")["data"]["dagster.yaml"])
    assert "run_launcher" not in instance and instance["storage"]["postgres"]["postgres_db"]["password"] == {
        "env": "DAGSTER_PG_PASSWORD"
    }


def test_with_existing_secrets_the_hook_reads_them_directly() -> None:
    manifests = render(VARIANTS["production"])
    spec = find(manifests, "Job", "hawk-migrate")["spec"]["template"]["spec"]
    env = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in spec["initContainers"][0]["env"]
        if "valueFrom" in e
    }
    assert env["HAWK_WAREHOUSE_URL"] == {"name": "hawk-warehouse", "key": "url"}
    assert env["DAGSTER_PG_PASSWORD"] == {"name": "dagster-postgresql", "key": "postgresql-password"}


def test_the_hook_can_migrate_the_warehouse_only() -> None:
    spec = find(render({"migrate": {"dagsterInstance": False}}), "Job", "hawk-migrate")["spec"]["template"][
        "spec"
    ]
    assert "initContainers" not in spec
    assert [c["command"] for c in spec["containers"]] == [
        ["python", "-m", "hawk_dagster.warehouse.schema.migrate"]
    ]


def test_the_hooks_command_exists() -> None:
    from hawk_dagster.warehouse.schema import migrate

    assert callable(migrate.main)


# --- docs ---------------------------------------------------------------------------------------------------------


def test_notes_tell_how_to_reach_the_ui_and_what_is_missing() -> None:
    notes = render_files()["hawk/templates/NOTES.txt"]
    assert "kubectl -n evals port-forward svc/hawk-webserver 3000:80" in notes
    assert "authenticating proxy" in notes
    assert "networkPolicy.kubernetesApi.cidrs" in notes and "storage.root is the chart's default" in notes
    production = render_files(VARIANTS["production"])["hawk/templates/NOTES.txt"]
    assert "WARNING" not in production and "dagster-postgresql: key postgresql-password" in production


def test_the_readme_values_reference_is_generated_from_the_schema() -> None:
    sys.path.insert(0, str(ROOT / "deploy" / "helm"))
    try:
        import values_reference
    finally:
        sys.path.pop(0)
    readme = (ROOT / "deploy" / "helm" / "README.md").read_text()
    assert values_reference.readme_block(readme) == values_reference.render_reference(), (
        "deploy/helm/README.md's values reference is stale: run `uv run python deploy/helm/values_reference.py`"
    )


def test_every_value_is_in_the_schema_and_the_reference() -> None:
    """values.yaml and the schema name the same fields (additionalProperties false does the converse)."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def walk(value: Any, node: dict[str, Any], path: str) -> None:
        node = copy.deepcopy(node)
        while "$ref" in node or ("allOf" in node and len(node["allOf"]) == 1):
            target = node.pop("$ref", None) or node.pop("allOf")[0].get("$ref")
            node = {**schema["definitions"][target.rsplit("/", 1)[1]], **node}
        if isinstance(value, dict) and "properties" in node:
            for key, child in value.items():
                assert key in node["properties"], f"{path}.{key} is not in values.schema.json"
                walk(child, node["properties"][key], f"{path}.{key}")

    walk(values, schema, "")


# --- the API service ----------------------------------------------------------------------------------------------

API_VALUES: dict[str, Any] = {
    "apiServer": {
        "enabled": True,
        "oidc": {"issuer": "https://id.example/", "audience": "https://hawk.example", "clientId": "hawk-cli"},
        "replicaCount": 1,
    }
}


def test_the_api_service_is_off_until_an_issuer_is_given() -> None:
    assert not [m for m in render() if m["metadata"]["name"].endswith("-api")]


def test_the_template_refuses_an_api_without_an_issuer_even_without_the_schema(tmp_path: Path) -> None:
    # The schema names the field; the template's own guard holds when a schema-less tool renders the chart.
    stripped = tmp_path / "hawk"
    shutil.copytree(CHART, stripped)
    (stripped / "values.schema.json").unlink()
    with helm.Chart.load(stripped) as loaded, pytest.raises(helm.HelmError) as error:
        loaded.render({"apiServer": {"enabled": True}}, name=RELEASE, namespace=NAMESPACE, is_install=True)
    assert "apiServer.oidc.issuer is required" in str(error.value)


def test_the_api_service_runs_hawk_serve_with_sign_in_and_access_settings() -> None:
    manifests = render(VARIANTS["production"])
    deployment = find(manifests, "Deployment", f"{RELEASE}-api")
    spec = deployment["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == f"{RELEASE}-api"
    (container,) = spec["containers"]
    assert container["command"] == ["hawk", "serve"]
    assert container["args"] == ["--host=0.0.0.0", "--port=8080"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["HAWK_OIDC_ISSUER"] == "https://acme.eu.auth0.com/"
    assert env["HAWK_OIDC_AUDIENCE"] == "https://hawk.acme.example"
    assert env["HAWK_OIDC_CLIENT_ID"] == "hawk-cli"
    assert env["HAWK_OIDC_PERMISSIONS_CLAIM"] == "permissions"
    assert env["HAWK_MODEL_GROUPS_FILE"] == "s3://acme-evals/prod/model-groups.yaml"
    assert env["HAWK_MODEL_ACCESS_PREFIX"] == "model-access-"
    assert env["HAWK_EDIT_PERMISSION"] == "hawk:edit"
    assert env["HAWK_ADMIN_PERMISSION"] == "hawk:admin"
    assert env["HAWK_DEFAULT_MODEL_GROUP"] == "restricted"
    assert env["HAWK_API_CORS_ORIGINS"] == "https://hawk.acme.example"
    assert env["HAWK_API_MAX_BODY_BYTES"] == "2097152"
    assert env["HAWK_WAREHOUSE_URL"] == {"secretKeyRef": {"name": "hawk-warehouse", "key": "url"}}
    # browser sign-in: the web client, the URL browsers use (the Ingress's TLS host), the shared session secret
    assert env["HAWK_OIDC_WEB_CLIENT_ID"] == "hawk-web"
    assert env["HAWK_PUBLIC_URL"] == "https://hawk.acme.example"
    assert env["HAWK_SESSION_SECRET"] == {
        "secretKeyRef": {"name": "hawk-web-signin", "key": "HAWK_SESSION_SECRET"}
    }
    assert env["HAWK_OIDC_WEB_CLIENT_SECRET"] == {
        "secretKeyRef": {"name": "hawk-web-signin", "key": "HAWK_OIDC_WEB_CLIENT_SECRET", "optional": True}
    }
    # The deployment's Dagster instance, as the code location has it: dagster.yaml, the PostgreSQL password.
    assert env["DAGSTER_HOME"] == "/opt/dagster/dagster_home"
    assert env["DAGSTER_PG_PASSWORD"] == {
        "secretKeyRef": {"name": "dagster-postgresql", "key": "postgresql-password"}
    }
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["instance"] == {
        "name": "instance",
        "mountPath": "/opt/dagster/dagster_home",
        "readOnly": True,
    }
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["instance"]["configMap"] == {"name": f"{RELEASE}-instance"}
    assert "checksum/instance" in deployment["spec"]["template"]["metadata"]["annotations"]
    assert container["envFrom"] == [{"configMapRef": {"name": f"{RELEASE}-env"}}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    service = find(manifests, "Service", f"{RELEASE}-api")
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    ingress = find(manifests, "Ingress", f"{RELEASE}-api")
    assert ingress["spec"]["ingressClassName"] == "alb"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "hawk.acme.example"
    assert rule["http"]["paths"][0]["backend"]["service"] == {
        "name": f"{RELEASE}-api",
        "port": {"name": "http"},
    }
    policy = find(manifests, "NetworkPolicy", f"{RELEASE}-api")
    assert policy["spec"]["ingress"][0]["from"] == VARIANTS["production"]["apiServer"]["ingressFrom"]
    account = find(manifests, "ServiceAccount", f"{RELEASE}-api")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("role/hawk-dagster")


def test_several_api_replicas_need_a_shared_session_secret() -> None:
    with pytest.raises(helm.HelmError, match=r"apiServer\.webSignIn\.existingSecret is required"):
        render({"apiServer": {**API_VALUES["apiServer"], "replicaCount": 2}})
    values = {"apiServer": {**API_VALUES["apiServer"], "publicUrl": "https://hawk.example/"}}
    container = find(render(values), "Deployment", f"{RELEASE}-api")["spec"]["template"]["spec"][
        "containers"
    ][0]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["HAWK_PUBLIC_URL"] == "https://hawk.example" and "HAWK_SESSION_SECRET" not in env


API_ROLE_RULES = {
    # Status: the code location's status Role (run pods and events), and the sandbox status role the launcher binds.
    ("Role", "hawk-status"): {("", "pods"): {"list"}, ("", "events"): {"list"}},
    # Deletion: K8sRunLauncher.terminate (list the Job's pods, delete the Job and them); delete_sandbox.
    ("Role", "hawk-api"): {("batch", "jobs"): {"delete"}, ("", "pods"): {"delete"}},
    ("ClusterRole", "hawk-api-sandbox"): {("", "namespaces"): {"delete"}},
}


def test_the_api_service_holds_only_the_rights_its_routes_use() -> None:
    """Status, logs and deletion (tests/deployment/test_k8s_launcher.py records the calls they make)."""
    manifests = render(API_VALUES)
    roles = {(m["kind"], m["metadata"]["name"]): m for m in manifests if m["kind"] in ("Role", "ClusterRole")}
    held = {
        (binding["roleRef"]["kind"], binding["roleRef"]["name"])
        for binding in of_kind(manifests, "RoleBinding") + of_kind(manifests, "ClusterRoleBinding")
        if any(s["name"] == f"{RELEASE}-api" for s in binding["subjects"])
    }
    assert held == set(API_ROLE_RULES)
    for key, expected in API_ROLE_RULES.items():
        assert _rules(roles[key]) == expected, key
    assert find(manifests, "Role", "hawk-api")["metadata"]["namespace"] == NAMESPACE  # the runs' namespace
    sandbox = instance_yaml(manifests)["run_launcher"]["config"]["sandbox"]
    assert sandbox["status_reader"]["service_accounts"] == ["hawk-code-location", "hawk-api"]
    # Without sandboxes there is no namespace to delete; without RBAC, the operator's.
    no_sandbox = render({**API_VALUES, "sandbox": {"enabled": False}})
    assert not of_kind(no_sandbox, "ClusterRole") and find(no_sandbox, "Role", "hawk-api")
    no_rbac = render({**API_VALUES, "rbac": {"create": False}})
    assert not of_kind(no_rbac, "Role") and not of_kind(no_rbac, "ClusterRoleBinding")
    container = find(manifests, "Deployment", f"{RELEASE}-api")["spec"]["template"]["spec"]["containers"][0]
    names = {e["name"] for e in container["env"]}
    assert {"HAWK_OIDC_ISSUER", "HAWK_OIDC_AUDIENCE", "HAWK_OIDC_CLIENT_ID"} <= names
    assert "HAWK_API_CORS_ORIGINS" not in names and "HAWK_MODEL_GROUPS_FILE" not in names
    assert not of_kind(manifests, "Ingress")


@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
def test_the_api_manifests_validate_strictly(kube_version: str) -> None:
    for manifest in render(API_VALUES):
        if manifest["metadata"]["name"].endswith("-api"):
            kubernetes_validate.validate(manifest, kube_version, strict=True)


def test_the_chart_and_the_launcher_name_sandbox_namespaces_alike_by_default() -> None:
    from hawk_dagster.deployment.sandboxes import DEFAULT_SANDBOX_PREFIX

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["sandbox"]["namespacePrefix"] == DEFAULT_SANDBOX_PREFIX


def test_every_setting_the_api_service_gets_is_one_hawk_reads() -> None:
    container = find(render(VARIANTS["production"]), "Deployment", f"{RELEASE}-api")["spec"]["template"][
        "spec"
    ]["containers"][0]
    source = "\n".join(path.read_text() for path in (ROOT / "hawk_dagster").rglob("*.py"))
    names = [e["name"] for e in container["env"] if e["name"].startswith("HAWK_")]
    assert len(names) >= 10
    for name in names:
        assert f'"{name}"' in source, f"the chart sets {name}, which no hawk_dagster module reads"


def _pod_environment(manifests: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The environment a container starts with, resolved against the rendered ConfigMaps and Secrets as the kubelet
    resolves it: envFrom first, then env (literal values and Secret keys; a missing required key fails)."""

    def named(kind: str, name: str) -> dict[str, Any] | None:
        return next(
            (
                m
                for m in of_kind(manifests, kind)
                if m["metadata"]["name"] == name and m["metadata"]["namespace"] == NAMESPACE
            ),
            None,
        )

    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        config_map = named("ConfigMap", source["configMapRef"]["name"])
        assert config_map is not None, source
        env.update(config_map["data"])
    for entry in container["env"]:
        if "value" in entry:
            env[entry["name"]] = entry["value"]
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        secret = named("Secret", ref["name"])
        if secret is None or ref["key"] not in secret["data"]:
            assert ref.get("optional"), (
                f"{entry['name']}: Secret {ref['name']} key {ref['key']} is not rendered"
            )
            continue
        env[entry["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
    return env


def test_the_api_pod_loads_the_deployments_instance(
    dagster_storage: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the API Deployment gives its container (env, envFrom, the instance volume) is enough for hawk serve's
    instance (``existing_instance``, as ``deps.dagster_instance`` calls it) to load: dagster.yaml from the mounted
    ConfigMap, Dagster's PostgreSQL with the password from the Secret, the launcher on the in-cluster config that
    Kubernetes gives every pod (its service account token), the queue and the S3 compute logs."""
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
    from kubernetes.config import incluster_config
    from sqlalchemy.engine import make_url

    from hawk_dagster.api.settings import server_settings_from_env
    from hawk_dagster.deployment.k8s_launcher import HawkK8sRunLauncher
    from hawk_dagster.deployment.local_instance import existing_instance
    from hawk_dagster.storage.root import StorageRoot

    db = make_url(dagster_storage["postgres"]["postgres_url"])
    postgresql: dict[str, Any] = {
        "postgresqlHost": db.host or "localhost",
        "postgresqlUsername": db.username,
        "postgresqlPassword": db.password or "trusted-socket",  # rendered into the chart's Secret
        "postgresqlDatabase": db.database,
        "service": {"port": db.port or 5432},
        "postgresqlParams": {k: v for k, v in db.query.items() if isinstance(v, str)},
    }
    values = {
        **API_VALUES,
        "postgresql": postgresql,
        "warehouse": {"url": "postgresql://hawk@warehouse/hawk"},
        "storage": {"root": "s3://acme-evals/prod", "region": "eu-west-2"},
    }
    manifests = render(values)
    spec = find(manifests, "Deployment", f"{RELEASE}-api")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = _pod_environment(manifests, container)
    # The instance volume, mounted where DAGSTER_HOME points: its files go to a folder standing in for the mount.
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == env["DAGSTER_HOME"]]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    config_map = find(manifests, "ConfigMap", volume["configMap"]["name"])
    home = tmp_path / "dagster_home"
    home.mkdir()
    for name, text in config_map["data"].items():
        (home / name).write_text(text)
    # What Kubernetes gives every pod: the API server's address and the service account's token and CA.
    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("service-account-token")
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    for name, value in {
        **env,
        "DAGSTER_HOME": str(home),
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
    }.items():
        monkeypatch.setenv(name, value)

    storage = StorageRoot(env["HAWK_STORAGE_ROOT"])
    instance = existing_instance(storage)
    assert instance is not None
    try:
        launcher = instance.run_launcher
        assert isinstance(launcher, HawkK8sRunLauncher)
        assert launcher.job_namespace == NAMESPACE
        reader = launcher.sandbox_policy.status_reader
        assert reader is not None and reader.service_accounts == ("hawk-code-location", "hawk-api")
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert isinstance(instance.compute_log_manager, S3ComputeLogManager)
        assert instance.get_runs() == []  # Dagster's PostgreSQL, reached with the Secret's password
    finally:
        instance.dispose()
    settings = server_settings_from_env(storage, "", env)
    assert settings.kubernetes is True  # status reports include the pods
