"""A fresh runner environment gets the optional parts its plan needs: Scout for scans, S3 for an s3:// root."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hawk_runner.plan import RunPlan, ScanPlan

from hawk_dagster.execution.environments import runner_requirement
from hawk_dagster.execution.runner import runner_extras

ROOT = Path(__file__).resolve().parents[2]


def _run_plan(log_dir: str) -> RunPlan:
    return RunPlan(eval_set_id="es", log_dir=log_dir, cells=[])


def _scan_plan(log_dir: str, results_dir: str) -> ScanPlan:
    return ScanPlan(scan_id="sc", eval_set_id="es", log_dir=log_dir, results_dir=results_dir, scanners=[])


def test_extras_follow_the_plan_kind_and_where_it_writes() -> None:
    assert runner_extras(_run_plan("/data/evals/es")) == []
    assert runner_extras(_run_plan("s3://bucket/prefix/evals/es")) == ["s3"]
    assert runner_extras(_scan_plan("/data/evals/es", "/data/scans/sc/es")) == ["scan"]
    assert runner_extras(_scan_plan("s3://b/evals/es", "s3://b/scans/sc/es")) == ["scan", "s3"]


def test_the_s3_extra_is_the_runner_s_and_names_s3fs() -> None:
    extras = tomllib.loads((ROOT / "runner" / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(requirement.startswith("s3fs") for requirement in extras["s3"])
    assert runner_requirement(["scan", "s3"]).startswith("hawk-runner[scan,s3] @ ")
