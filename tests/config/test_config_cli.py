"""``hawk validate`` and ``hawk schema``: output formats, streams and exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from hawk_dagster.cli.config_commands import schema
from hawk_dagster.config.schema import eval_set_json_schema

FIXTURES = Path(__file__).parent / "fixtures"

GRID = """
tasks:
  - package: inspect-evals
    name: inspect_evals
    items: [{name: mbpp}, {name: gsm8k}]
agents:
  - package: inspect-ai
    items: [{name: react}]
models:
  - items: [{name: hawk-mock/model-a}, {name: mockllm/model}]
runner:
  secrets: [{name: HF_TOKEN}]
"""


def test_validate_prints_the_grid_as_a_table(
    write_config: Callable[..., Path], run_validate: Callable[..., Result]
) -> None:
    result = run_validate(write_config(GRID))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["#", "task", "name", "task", "solver/agent", "model"]
    rows = [line.split() for line in lines[2:6]]
    assert rows == [
        ["1", "mbpp", "inspect_evals/mbpp", "react", "hawk-mock/model-a"],
        ["2", "mbpp", "inspect_evals/mbpp", "react", "mockllm/model"],
        ["3", "gsm8k", "inspect_evals/gsm8k", "react", "hawk-mock/model-a"],
        ["4", "gsm8k", "inspect_evals/gsm8k", "react", "mockllm/model"],
    ]
    assert "4 cells; eval_set_id: (generated at submission)" in result.stdout
    assert "required secrets: HF_TOKEN" in result.stdout
    assert "packages to install: inspect-evals" in result.stdout
    assert result.stderr == ""


def test_validate_shows_a_fixed_eval_set_id(run_validate: Callable[..., Result]) -> None:
    result = run_validate(FIXTURES / "simple.eval-set.yaml")
    assert result.exit_code == 0, result.output
    assert "1 cell; eval_set_id: mbpp-smoke-1" in result.stdout


def test_validate_writes_warnings_to_stderr(
    write_config: Callable[..., Path], run_validate: Callable[..., Result]
) -> None:
    result = run_validate(write_config(GRID + "max_samples: 2\n"))
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: top-level key 'max_samples'")
    assert "max_samples" not in result.stdout


def test_validate_json_is_one_object_per_cell(
    write_config: Callable[..., Path], run_validate: Callable[..., Result]
) -> None:
    result = run_validate(write_config(GRID), "--format", "json")
    assert result.exit_code == 0, result.output
    cells = json.loads(result.stdout)
    assert isinstance(cells, list) and len(cells) == 4
    first = cells[0]
    assert first["index"] == 1
    assert (first["name"], first["task"], first["solver"], first["model"]) == (
        "mbpp",
        "inspect_evals/mbpp",
        "react",
        "hawk-mock/model-a",
    )
    assert first["task_source"] == {
        "kind": "registry",
        "ref": "inspect_evals/mbpp",
        "args": {},
        "sample_ids": None,
        "eval_names": None,
        "variant_names": None,
    }
    assert first["solver_spec"] == {"kind": "agent", "name": "react", "args": {}}
    assert first["model_spec"]["name"] == "hawk-mock/model-a"


def test_validate_json_includes_local_task_sources(run_validate: Callable[..., Result]) -> None:
    result = run_validate(FIXTURES / "local_tasks.yaml", "--format", "json")
    assert result.exit_code == 0, result.output
    cells = json.loads(result.stdout)
    assert cells[0]["task_source"]["kind"] == "file"
    assert cells[0]["task_source"]["ref"] == f"{(FIXTURES / 'tasks' / 'arith.py').resolve()}@addition"
    assert cells[0]["task_source"]["sample_ids"] == [1]
    assert cells[0]["solver"] is None and cells[0]["solver_spec"] is None


def test_validate_invalid_config_exits_2_with_the_message_on_stderr(
    write_config: Callable[..., Path], run_validate: Callable[..., Result]
) -> None:
    path = write_config("tasks:\n  - package: inspect-ai\n    items: [{name: t}]\nepochs: 0\n")
    result = run_validate(path, "--format", "json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}: invalid config (1 problem):")
    assert f"{path}:4:9: epochs: must be at least 1 (found: 0)" in result.stderr


def test_validate_missing_file_is_a_usage_error(tmp_path: Path, run_validate: Callable[..., Result]) -> None:
    result = run_validate(tmp_path / "nope.yaml")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_validate_writes_nothing(workdir: Path, run_validate: Callable[..., Result]) -> None:
    before = sorted(p.relative_to(workdir) for p in workdir.rglob("*"))
    assert run_validate(workdir / "cyber.yaml").exit_code == 0
    assert sorted(p.relative_to(workdir) for p in workdir.rglob("*")) == before


def test_schema_command_prints_the_json_schema() -> None:
    result = CliRunner().invoke(schema, ["eval-set"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == eval_set_json_schema()


def test_schema_command_knows_eval_set_and_scan_only() -> None:
    result = CliRunner().invoke(schema, ["scan"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["title"] == "Hawk scan"
    result = CliRunner().invoke(schema, ["task"])
    assert result.exit_code == 2
    assert "eval-set" in result.stderr and "scan" in result.stderr
