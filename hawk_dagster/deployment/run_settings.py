"""What a run's pod gets from the submitted config: the ``dagster-k8s/config`` run tag, derived from ``runner:``.

A researcher's ``runner.cpu``, ``runner.memory`` and ``runner.image_tag`` belong to the eval set (or scan), not to
whoever asked for a run. So they are read from the partition's stored submission when the run is launched, and
whatever entry point created the run (a configs sensor, the automation sensor, a schedule, a UI re-execution or
backfill) gets the same pod. Plain functions over tag dictionaries; ``k8s_launcher`` calls them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hawk_dagster.config.ids import validate_eval_set_id, validate_scan_id
from hawk_dagster.config.runner_settings import RunnerConfig
from hawk_dagster.deployment.sandboxes import EVAL_SET_LABEL
from hawk_dagster.names import (
    EVAL_LOGS,
    K8S_CONFIG_TAG,
    PARTITION_TAG,
    SCAN_RESULTS,
)
from hawk_dagster.partitions import EVAL_SET_DIMENSION, SCAN_DIMENSION
from hawk_dagster.storage.root import STORAGE_ROOT_ENV

SANDBOX_NAMESPACE_ENV = "INSPECT_K8S_DEFAULT_NAMESPACE"
"""Where Inspect's Kubernetes sandbox (k8s_sandbox >= 0.5) installs sandboxes when a task names no namespace."""
SCAN_BUFFER_ENV = "SCOUT_SCANBUFFER_DIR"
"""Scout's local buffer of a scan's finished transcripts (``inspect_scout._recorder.buffer``)."""
OWNED_ENV = frozenset({SANDBOX_NAMESPACE_ENV, SCAN_BUFFER_ENV, STORAGE_ROOT_ENV})
"""Environment variables the launcher decides; the same names in a run's own tag are replaced."""
OWNED_CONTAINER_KEYS = ("image", "resources")
"""Container settings that come from ``runner:`` (or the launcher's defaults), never from a copied tag."""

SCAN_ID_LABEL = "hawk/scan-id"
SCAN_EVAL_SET_LABEL = "hawk/scan-eval-set-id"


@dataclass(frozen=True)
class RunTarget:
    """The eval set, or scan cell, whose runner a run starts."""

    kind: Literal["eval_set", "scan_cell"]
    eval_set_id: str
    scan_id: str | None = None


def run_target(tags: Mapping[str, str], asset_selection: Collection[str] | None) -> RunTarget | None:
    """What the run's runner works on, from its partition tags; None for a run without a partition, or one that
    does not run a runner (a warehouse import alone). ``asset_selection``: the run's asset keys as strings, None
    when the run executes its whole job (then it may run the runner)."""
    scan_id = tags.get(f"{PARTITION_TAG}/{SCAN_DIMENSION}")
    cell_eval_set = tags.get(f"{PARTITION_TAG}/{EVAL_SET_DIMENSION}")
    try:
        if scan_id is not None and cell_eval_set is not None:
            if asset_selection is not None and SCAN_RESULTS not in asset_selection:
                return None
            return RunTarget("scan_cell", validate_eval_set_id(cell_eval_set), validate_scan_id(scan_id))
        eval_set_id = tags.get(PARTITION_TAG)
        if eval_set_id is None or (asset_selection is not None and EVAL_LOGS not in asset_selection):
            return None
        return RunTarget("eval_set", validate_eval_set_id(eval_set_id))
    except ValueError:  # a partition key of some other partitions definition
        return None


def retag_image(image: str, tag: str) -> str:
    """``image`` with its tag (and any digest) replaced by ``tag``: ``registry:5000/hawk/runner:1.0`` with ``2.1``
    is ``registry:5000/hawk/runner:2.1`` (a ':' before the last '/' is a registry port, not a tag)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    return f"{name}:{tag}"


def runner_resources(runner: RunnerConfig, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The container's resources: the launcher's defaults, with ``runner.cpu`` as the CPU request and
    ``runner.memory`` as the memory request and limit.

    Memory's limit equals its request so a runner that outgrows it is stopped in its own pod instead of starving
    its node's other pods; CPU gets no limit of its own (throttling only slows an eval), but a default CPU limit is
    raised to the request so the pod stays valid."""
    resources: dict[str, Any] = copy.deepcopy(dict(defaults or {}))
    requests: dict[str, Any] = dict(resources.get("requests") or {})
    limits: dict[str, Any] = dict(resources.get("limits") or {})
    if runner.cpu is not None:
        requests["cpu"] = runner.cpu
        if "cpu" in limits:
            limits["cpu"] = runner.cpu
    if runner.memory is not None:
        requests["memory"] = runner.memory
        limits["memory"] = runner.memory
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return resources


def derived_k8s_config(
    target: RunTarget,
    runner: RunnerConfig | None,
    *,
    base_image: str | None,
    default_resources: Mapping[str, Any],
    env: Mapping[str, str],
) -> dict[str, Any]:
    """The part of the run's ``dagster-k8s/config`` the launcher owns: image and resources from ``runner:`` (None:
    the config could not be read, so the launcher's defaults), the environment the launcher decides, and labels
    naming the eval set or scan cell (the sandbox's NetworkPolicy admits the eval set's pods by them)."""
    container: dict[str, Any] = {"env": [{"name": k, "value": v} for k, v in env.items()]}
    if runner is not None:
        if runner.image_tag is not None:
            if not base_image:
                raise ValueError(
                    f"runner.image_tag {runner.image_tag!r} needs an image to retag: set the launcher's job_image "
                    "or the code location's container image"
                )
            container["image"] = retag_image(base_image, runner.image_tag)
        resources = runner_resources(runner, default_resources)
        if resources:
            container["resources"] = resources
    if target.kind == "eval_set":
        labels = {EVAL_SET_LABEL: target.eval_set_id}
    else:
        labels = {SCAN_ID_LABEL: str(target.scan_id), SCAN_EVAL_SET_LABEL: target.eval_set_id}
    return {
        "container_config": container,
        "pod_template_spec_metadata": {"labels": labels},
        "job_metadata": {"labels": dict(labels)},
    }


def merge_k8s_config(existing: str | None, derived: Mapping[str, Any]) -> dict[str, Any]:
    """The run's new ``dagster-k8s/config``: its existing tag (an operator's settings, or a tag copied from the run
    it re-executes) without what the launcher owns, then the derived settings on top. Dropping the owned keys first
    keeps a stale image or memory from a re-executed run's copied tag from outliving a config that no longer sets
    it."""
    config: dict[str, Any] = json.loads(existing) if existing else {}
    if not isinstance(config, dict):
        raise ValueError(f"the run's {K8S_CONFIG_TAG} tag is not a JSON object")
    merged = copy.deepcopy(config)
    container = dict(merged.get("container_config") or {})
    for key in OWNED_CONTAINER_KEYS:
        container.pop(key, None)
    container["env"] = [
        entry
        for entry in container.get("env") or []
        if not (isinstance(entry, Mapping) and entry.get("name") in OWNED_ENV)
    ]
    merged["container_config"] = container
    return _deep_merge(merged, derived)


def _deep_merge(onto: dict[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in new.items():
        current = onto.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            onto[key] = _deep_merge(current, value)
        elif isinstance(value, list) and isinstance(current, list):
            onto[key] = [*current, *value]
        else:
            onto[key] = copy.deepcopy(value)
    return onto
