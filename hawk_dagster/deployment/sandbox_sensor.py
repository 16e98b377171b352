"""The ``sandbox_cleanup`` sensor (Kubernetes deployment only): deletes the sandbox namespaces of eval sets whose last
run ended a grace period ago.

Thin: the launcher the instance is configured with knows the namespaces' prefix, the grace and the cluster, and does
the work (``HawkK8sRunLauncher.cleanup_finished_sandboxes``); the sensor only calls it on a schedule and logs.
"""

from __future__ import annotations

import dagster as dg

SENSOR_NAME = "sandbox_cleanup"
INTERVAL_SECONDS = 300


def sandbox_cleanup_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Every 5 minutes: deletes each eval set's sandbox namespace once no run of the eval set is "
        "unfinished and its last run ended sandbox.cleanup_grace_seconds ago (HawkK8sRunLauncher's settings; "
        "none with sandbox.enabled or sandbox.delete_namespace_on_finish false).",
    )
    def sandbox_cleanup(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        # Imported here: the Kubernetes client is no cost the code location pays at load.
        from hawk_dagster.deployment.k8s_launcher import HawkK8sRunLauncher

        launcher = context.instance.run_launcher
        if not isinstance(launcher, HawkK8sRunLauncher):
            return dg.SkipReason(
                f"the instance's run launcher is {type(launcher).__name__}, not HawkK8sRunLauncher: "
                "there are no sandbox namespaces to clean up"
            )
        result = launcher.cleanup_finished_sandboxes()
        for name in result.deleted:
            context.log.info(f"deleted sandbox namespace {name}")
        for kept in result.kept:
            context.log.debug(f"kept sandbox namespace {kept.namespace}: {kept.reason}")
        deleted = ", ".join(result.deleted) or "none"
        return dg.SkipReason(f"deleted: {deleted}; kept: {len(result.kept)}")

    return sandbox_cleanup
