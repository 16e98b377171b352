"""The run's ``dagster-k8s/config`` from a submitted ``runner:`` section, without Dagster or a cluster."""

from __future__ import annotations

import json

import pytest

from hawk_dagster.config.runner_settings import RunnerConfig
from hawk_dagster.deployment.run_settings import (
    RunTarget,
    derived_k8s_config,
    merge_k8s_config,
    retag_image,
    run_target,
    runner_resources,
)

EVAL_SET = RunTarget("eval_set", "grid-1")
CELL_TAGS = {
    "dagster/partition": "grid-1|scan-1",
    "dagster/partition/eval_set": "grid-1",
    "dagster/partition/scan": "scan-1",
}


def test_the_target_is_the_partition_of_a_run_that_starts_a_runner() -> None:
    assert run_target({"dagster/partition": "grid-1"}, {"eval_logs"}) == EVAL_SET
    assert run_target({"dagster/partition": "grid-1"}, None) == EVAL_SET  # a whole job (eval_set_pipeline)
    assert run_target({"dagster/partition": "grid-1"}, {"eval_warehouse"}) is None
    assert run_target(CELL_TAGS, None) == RunTarget("scan_cell", "grid-1", "scan-1")
    assert run_target(CELL_TAGS, {"scan_results"}) == RunTarget("scan_cell", "grid-1", "scan-1")
    assert run_target(CELL_TAGS, {"scan_warehouse"}) is None
    assert run_target({}, None) is None
    assert run_target({"dagster/partition": "2026-01-01|x"}, None) is None  # not one of hawk's partitions


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("hawk", "hawk:2.1"),
        ("hawk:1.0", "hawk:2.1"),
        ("registry.example:5000/hawk/runner", "registry.example:5000/hawk/runner:2.1"),
        ("registry.example:5000/hawk/runner:1.0", "registry.example:5000/hawk/runner:2.1"),
        ("ghcr.io/org/hawk:1.0@sha256:" + "a" * 64, "ghcr.io/org/hawk:2.1"),
    ],
)
def test_image_tag_replaces_the_tag_and_keeps_the_registry(image: str, expected: str) -> None:
    assert retag_image(image, "2.1") == expected


def test_resources_request_what_the_config_asks_and_stay_valid_under_default_limits() -> None:
    defaults = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "4", "memory": "2Gi"}}
    assert runner_resources(RunnerConfig(cpu="8", memory="64Gi"), defaults) == {
        "requests": {"cpu": "8", "memory": "64Gi"},
        "limits": {"cpu": "8", "memory": "64Gi"},
    }
    assert runner_resources(RunnerConfig(memory="512Mi"), defaults) == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "4", "memory": "512Mi"},
    }
    assert runner_resources(RunnerConfig(cpu="2"), {}) == {
        "requests": {"cpu": "2"}
    }  # no CPU limit of its own
    assert runner_resources(RunnerConfig(), defaults) == defaults
    assert defaults["limits"] == {"cpu": "4", "memory": "2Gi"}  # not modified


def test_an_image_tag_without_an_image_to_retag_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs an image to retag"):
        derived_k8s_config(
            EVAL_SET, RunnerConfig(image_tag="2.1"), base_image=None, default_resources={}, env={}
        )


def test_a_runs_own_tag_keeps_its_other_settings_but_not_what_the_launcher_owns() -> None:
    existing = json.dumps(
        {
            "container_config": {
                "image": "stale:1",
                "resources": {"requests": {"memory": "99Gi"}},
                "env": [
                    {"name": "INSPECT_K8S_DEFAULT_NAMESPACE", "value": "stale"},
                    {"name": "KEEP", "value": "1"},
                ],
                "workingDir": "/work",
            },
            "pod_spec_config": {"nodeSelector": {"pool": "evals"}},
            "pod_template_spec_metadata": {"labels": {"team": "a"}},
        }
    )
    derived = derived_k8s_config(
        EVAL_SET,
        RunnerConfig(memory="4Gi"),
        base_image="hawk:1.0",
        default_resources={},
        env={"INSPECT_K8S_DEFAULT_NAMESPACE": "hawk-sbx-grid-1"},
    )
    merged = merge_k8s_config(existing, derived)
    assert merged["container_config"] == {
        "env": [
            {"name": "KEEP", "value": "1"},
            {"name": "INSPECT_K8S_DEFAULT_NAMESPACE", "value": "hawk-sbx-grid-1"},
        ],
        "workingDir": "/work",
        "resources": {"requests": {"memory": "4Gi"}, "limits": {"memory": "4Gi"}},
    }
    assert merged["pod_spec_config"] == {"nodeSelector": {"pool": "evals"}}
    assert merged["pod_template_spec_metadata"] == {"labels": {"team": "a", "hawk/eval-set-id": "grid-1"}}
    assert merge_k8s_config(None, derived) == derived


def test_settings_the_config_could_not_give_leave_the_launchers_defaults() -> None:
    derived = derived_k8s_config(
        EVAL_SET, None, base_image="hawk:1.0", default_resources={"x": 1}, env={"A": "b"}
    )
    assert derived["container_config"] == {"env": [{"name": "A", "value": "b"}]}
