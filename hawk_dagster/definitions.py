"""Composes the code location from the domains' definitions, plus what they share: the automation sensor and the
resources of the chosen deployment.

Loaded by ``dagster dev -w workspace.yaml``, ``dg check defs`` and ``hawk`` itself (``defs``). Resources come from
environment variables with embedded defaults: ``HAWK_STORAGE_ROOT`` (default ``.hawk``), ``HAWK_WAREHOUSE_URL``
(default: embedded PostgreSQL under the root), ``HAWK_DEPLOYMENT`` (``local``, the default, or ``kubernetes``).

The deployments differ only around the runs: on Kubernetes the runner's output stays in the run pod's log (where the
cluster and Dagster's compute logs collect it) instead of a file under the root, and the ``sandbox_cleanup`` sensor
removes finished eval sets' sandbox namespaces. Pod sizes and sandboxes come from the instance's run launcher
(``deployment.k8s_launcher``), not from these definitions, so an eval set's assets, runner and plan are the same.
"""

from __future__ import annotations

import warnings

import dagster as dg

from hawk_dagster.access.sensor import model_groups_refresh_sensor
from hawk_dagster.deployment.kind import KUBERNETES, Deployment, deployment_from_env
from hawk_dagster.deployment.sandbox_sensor import sandbox_cleanup_sensor
from hawk_dagster.evals.definitions import evals_definitions
from hawk_dagster.execution.runner import EvalRunnerResource
from hawk_dagster.scans.definitions import scans_definitions
from hawk_dagster.storage.resource import StorageResource
from hawk_dagster.storage.root import StorageRoot, default_storage_root
from hawk_dagster.warehouse.resource import WarehouseResource

# Dagster's default automation sensor is stopped in OSS; ours runs so eval_warehouse follows eval_logs and standing
# scans follow new eval sets by themselves. In the code server, because the standing-scan condition is our own class;
# one run per partition rather than backfills, so each cell shows as its own run. Every minute: each tick in the code
# server builds a DagsterInstance there, and this sensor was the largest part of an idle `hawk dev`'s cost.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*use_user_code_server.*")
    hawk_automation = dg.AutomationConditionSensorDefinition(
        "hawk_automation",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=60,
        use_user_code_server=True,
        emit_backfills=False,
    )


def build_definitions(
    *,
    storage_root: str | None = None,
    direct: bool = False,
    runner_output_dir: str | None = None,
    deployment: Deployment | None = None,
) -> dg.Definitions:
    """The definitions for a storage root and deployment (default: ``HAWK_DEPLOYMENT``). Runners write their output
    to ``runner_output_dir``; by default, on a local root of a local deployment, its ``runner-logs/`` (elsewhere it
    stays in each run's captured logs, e.g. a pod's)."""
    root = storage_root or default_storage_root()
    storage = StorageRoot(root)
    deployment = deployment or deployment_from_env()
    on_kubernetes = deployment == KUBERNETES
    if runner_output_dir is None and storage.is_local and not direct and not on_kubernetes:
        runner_output_dir = str(storage.runner_logs_dir)
    shared = dg.Definitions(
        sensors=[
            hawk_automation,
            model_groups_refresh_sensor(root),
            *([sandbox_cleanup_sensor()] if on_kubernetes else []),
        ],
        resources={
            "storage": StorageResource(root=root),
            "warehouse": WarehouseResource(storage_root=root),
            "eval_runner": EvalRunnerResource(
                direct=direct,
                output_dir=None if direct else runner_output_dir,
                environments_dir=str(storage.state_dir / "runner-envs"),
            ),
        },
    )
    return dg.Definitions.merge(evals_definitions(root), scans_definitions(root), shared)


defs = build_definitions()
