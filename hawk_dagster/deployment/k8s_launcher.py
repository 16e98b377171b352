"""The Kubernetes run launcher: dagster-k8s's ``K8sRunLauncher``, plus what hawk's runs need from the cluster.

At launch it reads the run's partition (``dagster/partition`` tags) and loads that eval set's or scan's submitted
config from the storage root, so every entry point (configs sensors, automation, schedules, UI re-execution and
backfills) gets the same pod:

- ``runner.cpu``, ``runner.memory`` and ``runner.image_tag`` become the run's ``dagster-k8s/config`` tag (written on
  the run, so the UI shows it), with the environment the launcher decides (``HAWK_STORAGE_ROOT``, the sandbox
  namespace as ``INSPECT_K8S_DEFAULT_NAMESPACE``, ``SCOUT_SCANBUFFER_DIR`` for scans);
- an eval set's sandbox namespace, its RoleBinding for the run's service account and its NetworkPolicy are created
  before the Job, here in the daemon, so run pods never hold cluster-wide rights.

Only runs that start a runner (``eval_logs``, ``scan_results``) get either; a warehouse import alone launches as
dagster-k8s would. ``cleanup_finished_sandboxes`` (called by the ``sandbox_cleanup`` sensor of the Kubernetes
deployment) and ``delete_sandbox`` (for deleting an eval set) remove sandbox namespaces. The pieces are plain modules:
``run_settings`` (the tag) and ``sandboxes`` (the namespace); this class wires them to Dagster.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dagster import Array, BoolSource, Enum, EnumValue, Field, IntSource, Map, Noneable, Shape, StringSource
from dagster._core.events import EngineEventData
from dagster._core.launcher import LaunchRunContext, ResumeRunContext
from dagster._core.storage.dagster_run import FINISHED_STATUSES, NOT_FINISHED_STATUSES, DagsterRun, RunsFilter
from dagster._serdes import ConfigurableClassData
from dagster._utils.merger import merge_dicts
from dagster_k8s import K8sRunLauncher

from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.runner_settings import RunnerConfig
from hawk_dagster.deployment.run_settings import (
    SANDBOX_NAMESPACE_ENV,
    SCAN_BUFFER_ENV,
    RunTarget,
    derived_k8s_config,
    merge_k8s_config,
    run_target,
)
from hawk_dagster.deployment.sandboxes import (
    DEFAULT_DNS_NAMESPACE,
    DEFAULT_DNS_POD_LABELS,
    DEFAULT_DNS_PORT,
    DEFAULT_SANDBOX_PREFIX,
    POD_SECURITY_STANDARDS,
    PROTOCOLS,
    PROVIDERS,
    DnsTarget,
    EgressRule,
    EvalSetActivity,
    SandboxError,
    SandboxPolicy,
    StatusReader,
    SweepResult,
    delete_sandbox,
    ensure_sandbox,
    sandbox_manifests,
    sandbox_namespace,
    sweep_sandboxes,
)
from hawk_dagster.names import K8S_CONFIG_TAG, PARTITION_TAG
from hawk_dagster.storage.root import STORAGE_ROOT_ENV, StorageRoot
from hawk_dagster.storage.submissions import SubmissionNotFoundError

DEFAULT_SANDBOX_CLUSTER_ROLE = "hawk-sandbox-runner"
DEFAULT_CLEANUP_GRACE_SECONDS = 3600
DEFAULT_POD_SECURITY_STANDARD = "baseline"


def _string_map(description: str) -> Field:
    return Field(Map(str, str), is_required=False, default_value={}, description=description)  # type: ignore[no-untyped-call]


def _enum(name: str, values: tuple[str, ...]) -> Enum:
    return Enum(name, [EnumValue(value) for value in values])


EGRESS_RULE = Shape(  # type: ignore[no-untyped-call]
    {
        "name": Field(
            StringSource, is_required=False, default_value="", description="What the destination is."
        ),
        "cidrs": Field(Array(StringSource), description="Addresses (ipBlock cidr), at least one."),
        "except": Field(
            Array(StringSource),
            is_required=False,
            default_value=[],
            description="Addresses inside cidrs kept closed.",
        ),
        "ports": Field(
            Array(
                Shape(  # type: ignore[no-untyped-call]
                    {
                        "port": Field(IntSource),
                        "protocol": Field(
                            _enum("HawkSandboxProtocol", PROTOCOLS), is_required=False, default_value="TCP"
                        ),
                    }
                )
            ),
            is_required=False,
            default_value=[],
            description="[] = every port.",
        ),
    }
)

SANDBOX_CONFIG = Shape(  # type: ignore[no-untyped-call]
    {
        "enabled": Field(
            BoolSource,
            is_required=False,
            default_value=True,
            description="A namespace per eval set for its Inspect sandboxes. False: no namespace, no "
            "INSPECT_K8S_DEFAULT_NAMESPACE (Inspect's k8s sandbox uses its own default; the runner needs rights there "
            "from the operator), and no cleanup.",
        ),
        "namespace_prefix": Field(
            StringSource,
            is_required=False,
            default_value=DEFAULT_SANDBOX_PREFIX,
            description="Sandbox namespaces are named <prefix><eval set id> (cut to 63 characters with a hash).",
        ),
        "namespace_labels": _string_map("More labels of sandbox namespaces (not the launcher's own)."),
        "namespace_annotations": _string_map("Annotations of sandbox namespaces."),
        "pod_security_standard": Field(
            Noneable(_enum("HawkPodSecurityStandard", POD_SECURITY_STANDARDS)),
            is_required=False,
            default_value=DEFAULT_POD_SECURITY_STANDARD,
            description="pod-security.kubernetes.io/enforce on sandbox namespaces; null: no label.",
        ),
        "delete_namespace_on_finish": Field(
            BoolSource,
            is_required=False,
            default_value=True,
            description="The sandbox_cleanup sensor deletes a namespace cleanup_grace_seconds after its eval set's "
            "last run ended; false: namespaces stay until deleted by hand (or with the eval set).",
        ),
        "cleanup_grace_seconds": Field(
            IntSource,
            is_required=False,
            default_value=DEFAULT_CLEANUP_GRACE_SECONDS,
            description="How long after the eval set's last run ended its namespace is deleted.",
        ),
        "runner_cluster_role": Field(
            StringSource,
            is_required=False,
            default_value=DEFAULT_SANDBOX_CLUSTER_ROLE,
            description="ClusterRole bound, in each sandbox namespace only, to the run pods' service account.",
        ),
        "runner_service_account": Field(
            Noneable(StringSource),
            is_required=False,
            default_value=None,
            description="The service account (in job_namespace) the RoleBinding names; a run whose pod would use "
            "another one is refused. Null: the run pod's own (service_account_name, or a run's tag).",
        ),
        "status_reader": Field(
            Noneable(
                Shape(  # type: ignore[no-untyped-call]
                    {
                        "cluster_role": Field(
                            StringSource, description="The ClusterRole to bind (list pods, events)."
                        ),
                        "service_accounts": Field(
                            Array(StringSource),
                            description="The readers' service accounts (the code location's; the API "
                            "service's when it runs).",
                        ),
                        "namespace": Field(StringSource, description="The service account's namespace."),
                    }
                )
            ),
            is_required=False,
            default_value=None,
            description="Bound in each sandbox namespace so `hawk status` (run in the code location, or the API "
            "service's status route) can list the sandbox pods and their events; null: no binding (the report says "
            "it cannot list them).",
        ),
        "allow_intra_namespace": Field(
            BoolSource,
            is_required=False,
            default_value=True,
            description="Let an eval set's sandbox pods reach each other (multi-service sandboxes).",
        ),
        "network_policy": Field(
            Shape(  # type: ignore[no-untyped-call]
                {
                    "enabled": Field(BoolSource, is_required=False, default_value=True),
                    "provider": Field(
                        _enum("HawkSandboxPolicyProvider", PROVIDERS),
                        is_required=False,
                        default_value="kubernetes",
                        description="networking.k8s.io/v1 NetworkPolicy (Cilium enforces it too).",
                    ),
                    "dns": Field(
                        Shape(  # type: ignore[no-untyped-call]
                            {
                                "namespace": Field(
                                    StringSource, is_required=False, default_value=DEFAULT_DNS_NAMESPACE
                                ),
                                "pod_labels": Field(
                                    Map(str, str),  # type: ignore[no-untyped-call]
                                    is_required=False,
                                    default_value=dict(DEFAULT_DNS_POD_LABELS),
                                ),
                                "port": Field(IntSource, is_required=False, default_value=DEFAULT_DNS_PORT),
                            }
                        ),
                        is_required=False,
                        description="The cluster DNS sandboxes may query (UDP and TCP).",
                    ),
                    "egress": Field(
                        Array(EGRESS_RULE),
                        is_required=False,
                        default_value=[],
                        description="Where sandboxes may connect besides DNS (and each other).",
                    ),
                }
            ),
            is_required=False,
            description="The NetworkPolicy in each sandbox namespace.",
        ),
    }
)

HAWK_CONFIG_FIELDS: dict[str, Field] = {
    "storage_root": Field(
        Noneable(StringSource),
        is_required=False,
        default_value=None,
        description="The storage root holding submitted configs (s3://bucket/prefix or a folder every pod mounts); "
        "default: HAWK_STORAGE_ROOT of the launching process. Passed to run pods as HAWK_STORAGE_ROOT.",
    ),
    "sandbox": Field(SANDBOX_CONFIG, is_required=False, description="Each eval set's sandbox namespace."),
    "scan_buffer_dir": Field(
        Noneable(StringSource),
        is_required=False,
        default_value=None,
        description="Absolute path, in run pods, of a volume that outlives them (mount it with volumes/"
        "volume_mounts); scan runs get it as SCOUT_SCANBUFFER_DIR, so a rerun skips transcripts already scanned.",
    ),
}


@dataclass(frozen=True)
class SandboxSettings:
    """The launcher's ``sandbox`` block, checked: the policy plus what the launcher itself does with it."""

    enabled: bool
    policy: SandboxPolicy
    delete_on_finish: bool
    cleanup_grace: dt.timedelta
    runner_service_account: str | None

    @classmethod
    def from_config(cls, value: Mapping[str, Any] | None) -> SandboxSettings:
        """From the processed config (Dagster filled the defaults); missing keys take the same defaults, so a
        launcher built in code gets what dagster.yaml would."""
        value = value or {}
        network = value.get("network_policy") or {}
        dns = network.get("dns") or {}
        grace = int(value.get("cleanup_grace_seconds", DEFAULT_CLEANUP_GRACE_SECONDS))
        reader = value.get("status_reader") or None
        if grace < 0:
            raise ValueError("sandbox.cleanup_grace_seconds must not be negative")
        provider = network.get("provider", "kubernetes")
        if provider not in PROVIDERS:
            raise ValueError(f"sandbox.network_policy.provider {provider!r}: only {', '.join(PROVIDERS)}")
        policy = SandboxPolicy(
            prefix=value.get("namespace_prefix", DEFAULT_SANDBOX_PREFIX),
            runner_cluster_role=value.get("runner_cluster_role", DEFAULT_SANDBOX_CLUSTER_ROLE),
            egress_allow=tuple(EgressRule.from_config(rule) for rule in network.get("egress") or ()),
            allow_intra_namespace=bool(value.get("allow_intra_namespace", True)),
            namespace_labels=dict(value.get("namespace_labels") or {}),
            namespace_annotations=dict(value.get("namespace_annotations") or {}),
            pod_security_standard=value.get("pod_security_standard", DEFAULT_POD_SECURITY_STANDARD),
            network_policy=bool(network.get("enabled", True)),
            dns=DnsTarget(
                namespace=dns.get("namespace", DEFAULT_DNS_NAMESPACE),
                pod_labels=dict(dns.get("pod_labels", DEFAULT_DNS_POD_LABELS)),
                port=dns.get("port", DEFAULT_DNS_PORT),
            ),
            status_reader=StatusReader(
                cluster_role=reader["cluster_role"],
                service_accounts=tuple(reader["service_accounts"]),
                namespace=reader["namespace"],
            )
            if reader
            else None,
        )
        return cls(
            enabled=bool(value.get("enabled", True)),
            policy=policy,
            delete_on_finish=bool(value.get("delete_namespace_on_finish", True)),
            cleanup_grace=dt.timedelta(seconds=grace),
            runner_service_account=value.get("runner_service_account") or None,
        )


class HawkK8sRunLauncher(K8sRunLauncher):
    """``K8sRunLauncher`` that sizes each run's pod from its submitted config and prepares its sandbox namespace."""

    def __init__(
        self,
        *,
        storage_root: str | None = None,
        sandbox: Mapping[str, Any] | None = None,
        scan_buffer_dir: str | None = None,
        inst_data: ConfigurableClassData | None = None,
        **k8s_config: Any,
    ) -> None:
        self.sandbox = SandboxSettings.from_config(sandbox)
        if scan_buffer_dir is not None and ("://" in scan_buffer_dir or not scan_buffer_dir.startswith("/")):
            raise ValueError(
                f"scan_buffer_dir {scan_buffer_dir!r} must be an absolute path in the run pod (a mounted volume): "
                "Scout writes its scan buffer with local file operations only"
            )
        self.storage_root_setting = storage_root
        self.scan_buffer_dir = scan_buffer_dir
        self._sandbox_api_client: Any = None
        super().__init__(inst_data=inst_data, **k8s_config)

    @property
    def sandbox_policy(self) -> SandboxPolicy:
        return self.sandbox.policy

    @classmethod
    def config_type(cls) -> Any:
        """dagster-k8s's run launcher schema plus hawk's fields."""
        return merge_dicts(K8sRunLauncher.config_type(), HAWK_CONFIG_FIELDS)  # type: ignore[no-untyped-call]

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> HawkK8sRunLauncher:
        return cls(inst_data=inst_data, **config_value)

    @property
    def storage(self) -> StorageRoot:
        """The storage root submissions are read from (configured, else this process's ``HAWK_STORAGE_ROOT``)."""
        root = self.storage_root_setting or os.environ.get(STORAGE_ROOT_ENV, "").strip()
        if not root:
            raise ValueError(
                f"HawkK8sRunLauncher needs the storage root: set its storage_root or {STORAGE_ROOT_ENV}"
            )
        return StorageRoot(root)

    @property
    def sandbox_api_client(self) -> Any:
        """A Kubernetes API client on the configuration dagster-k8s loaded (in-cluster or kubeconfig)."""
        if self._sandbox_api_client is None:
            import kubernetes.client

            self._sandbox_api_client = kubernetes.client.ApiClient()
        return self._sandbox_api_client

    def launch_run(self, context: LaunchRunContext) -> None:
        run = self.prepare_run(context.dagster_run)
        super().launch_run(LaunchRunContext(dagster_run=run, workspace=context.workspace))

    def resume_run(self, context: ResumeRunContext) -> None:
        run = self.prepare_run(context.dagster_run)
        super().resume_run(
            ResumeRunContext(
                dagster_run=run,
                workspace=context.workspace,
                resume_attempt_number=context.resume_attempt_number,
            )
        )

    def prepare_run(self, run: DagsterRun) -> DagsterRun:
        """Write the run's ``dagster-k8s/config`` from its submitted config and, for an eval set, make its sandbox
        namespace ready; returns the run with its new tags. Runs that start no runner are returned unchanged."""
        asset_keys = (
            None if run.asset_selection is None else {k.to_user_string() for k in run.asset_selection}
        )
        target = run_target(run.tags, asset_keys)
        if target is None:
            return run
        storage = self.storage
        runner, problem = self._runner_settings(storage, target)
        env = {STORAGE_ROOT_ENV: storage.uri}
        namespace = None
        if target.kind == "eval_set" and self.sandbox.enabled:
            namespace = sandbox_namespace(self.sandbox_policy.prefix, target.eval_set_id)
            env[SANDBOX_NAMESPACE_ENV] = namespace
        elif self.scan_buffer_dir:
            env[SCAN_BUFFER_ENV] = self.scan_buffer_dir
        origin = run.job_code_origin
        derived = derived_k8s_config(
            target,
            runner,
            base_image=(origin.repository_origin.container_image if origin else None) or self.job_image,
            default_resources=self.resources,
            env=env,
        )
        tag = json.dumps(merge_k8s_config(run.tags.get(K8S_CONFIG_TAG), derived), sort_keys=True)
        self._instance.add_run_tags(run.run_id, {K8S_CONFIG_TAG: tag})
        updated = self._instance.get_run_by_id(run.run_id)
        assert updated is not None  # it was just tagged
        details = {
            "settings from": f"eval set {target.eval_set_id}"
            if target.scan_id is None
            else f"scan {target.scan_id} (cell of eval set {target.eval_set_id})"
        }
        if runner is not None:
            details.update(_runner_details(runner))
        if namespace is not None:
            container_context = self.get_container_context_for_run(updated)
            pod_account = str(
                container_context.run_k8s_config.pod_spec_config.get("service_account_name") or "default"
            )
            bound = self.sandbox.runner_service_account
            if bound is not None and bound != pod_account:
                raise SandboxError(
                    f"the run's pod would run as service account {pod_account!r}, but sandbox rights are granted "
                    f"to {bound!r} only (sandbox.runner_service_account); refusing to launch a runner that could "
                    "not use its sandbox namespace"
                )
            manifests = sandbox_manifests(
                self.sandbox_policy,
                target.eval_set_id,
                runs_namespace=str(container_context.namespace),
                runner_service_account=bound or pod_account,
            )
            ensure_sandbox(self.sandbox_api_client, manifests)
            details["sandbox namespace"] = namespace
        message = (
            "Runner settings applied from the submitted config"
            if problem is None
            else f"Runner settings not applied (the launcher's defaults are used): {problem}"
        )
        self._instance.report_engine_event(message, updated, EngineEventData(details), cls=self.__class__)
        return updated

    def _runner_settings(
        self, storage: StorageRoot, target: RunTarget
    ) -> tuple[RunnerConfig | None, str | None]:
        """The submitted ``runner:`` settings, or why there are none (the run's step will fail for the same
        reason, in its own words)."""
        try:
            if target.kind == "scan_cell":
                from hawk_dagster.scans.submission import load_submitted_scan

                return load_submitted_scan(storage, str(target.scan_id)).loaded.config.runner, None
            from hawk_dagster.evals.planning import load_submitted_eval_set

            return load_submitted_eval_set(storage, target.eval_set_id).loaded.config.runner, None
        except (ConfigError, SubmissionNotFoundError) as exc:
            return None, str(exc).splitlines()[0]

    def delete_sandbox(self, eval_set_id: str) -> bool:
        """Delete an eval set's sandbox namespace (for deleting the eval set); False when it had none (or
        sandboxes are off)."""
        if not self.sandbox.enabled:
            return False
        return delete_sandbox(
            self.sandbox_api_client, sandbox_namespace(self.sandbox_policy.prefix, eval_set_id)
        )

    def cleanup_finished_sandboxes(self, now: dt.datetime | None = None) -> SweepResult:
        """Delete the sandbox namespaces of eval sets with no unfinished run whose last run ended at least
        ``sandbox.cleanup_grace_seconds`` ago; nothing when sandboxes are off or kept after their runs."""
        if not (self.sandbox.enabled and self.sandbox.delete_on_finish):
            return SweepResult()
        return sweep_sandboxes(
            self.sandbox_api_client,
            runs_namespace=self.job_namespace,
            activity=self.eval_set_activity,
            grace=self.sandbox.cleanup_grace,
            now=now or dt.datetime.now(dt.UTC),
        )

    def eval_set_activity(self, eval_set_id: str) -> EvalSetActivity:
        """Whether a run of the eval set is unfinished, else when its latest finished run ended."""
        tags = {PARTITION_TAG: eval_set_id}
        if self._instance.get_run_records(RunsFilter(tags=tags, statuses=NOT_FINISHED_STATUSES), limit=1):
            return EvalSetActivity(running=True)
        records = self._instance.get_run_records(RunsFilter(tags=tags, statuses=FINISHED_STATUSES), limit=20)
        ends = [record.end_time for record in records if record.end_time is not None]
        return EvalSetActivity(
            running=False, last_finished=dt.datetime.fromtimestamp(max(ends), dt.UTC) if ends else None
        )


def _runner_details(runner: RunnerConfig) -> dict[str, str]:
    return {
        f"runner.{key}": str(value)
        for key, value in (("cpu", runner.cpu), ("memory", runner.memory), ("image_tag", runner.image_tag))
        if value is not None
    }
