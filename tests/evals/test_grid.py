"""Grid expansion (order, counts, distinct task names) and the run plan built from a config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hawk_runner.plan import RunPlan

from hawk_dagster.config.loader import LoadedEvalSet, load_eval_set_config
from hawk_dagster.evals.grid import expand_grid
from hawk_dagster.evals.planning import build_run_plan


def _load(write_config: Callable[..., Path], text: str) -> LoadedEvalSet:
    return load_eval_set_config(write_config(text))


def test_two_tasks_one_agent_two_models_is_four_cells(write_config: Callable[..., Path]) -> None:
    loaded = _load(
        write_config,
        """
        tasks:
          - package: inspect-evals
            name: inspect_evals
            items: [{name: mbpp}, {name: gsm8k}]
        agents:
          - package: inspect-ai
            items: [{name: react}]
        models:
          - items: [{name: openai/gpt-4o}, {name: anthropic/claude-sonnet-4-0}]
        """,
    )
    cells = expand_grid(loaded)
    assert [(c.name, c.task_label, c.solver_label, c.model_label) for c in cells] == [
        ("mbpp", "inspect_evals/mbpp", "react", "openai/gpt-4o"),
        ("mbpp", "inspect_evals/mbpp", "react", "anthropic/claude-sonnet-4-0"),
        ("gsm8k", "inspect_evals/gsm8k", "react", "openai/gpt-4o"),
        ("gsm8k", "inspect_evals/gsm8k", "react", "anthropic/claude-sonnet-4-0"),
    ]
    assert all(c.solver is not None and c.solver.kind == "agent" for c in cells)


def test_solvers_come_before_agents_and_models_vary_fastest(write_config: Callable[..., Path]) -> None:
    loaded = _load(
        write_config,
        """
        tasks:
          - package: inspect-ai
            items: [{name: t1}, {name: t2}]
        agents:
          - package: inspect-ai
            items: [{name: react}]
        solvers:
          - package: inspect-ai
            items: [{name: generate}]
        models:
          - items: [{name: m/a}, {name: m/b}]
        """,
    )
    cells = expand_grid(loaded)
    assert len(cells) == 2 * 2 * 2
    assert [(c.task.ref, c.solver_label, c.model_label) for c in cells] == [
        ("t1", "generate", "m/a"),
        ("t1", "generate", "m/b"),
        ("t1", "react", "m/a"),
        ("t1", "react", "m/b"),
        ("t2", "generate", "m/a"),
        ("t2", "generate", "m/b"),
        ("t2", "react", "m/a"),
        ("t2", "react", "m/b"),
    ]
    assert [c.name for c in cells[:4]] == ["t1_generate", "t1_generate", "t1_react", "t1_react"]
    assert [c.solver.kind for c in cells[:4] if c.solver] == ["solver", "solver", "agent", "agent"]


def test_two_solvers_with_the_same_name_get_distinct_names(write_config: Callable[..., Path]) -> None:
    loaded = _load(
        write_config,
        """
        tasks:
          - package: inspect-ai
            items: [{name: ctf}]
        agents:
          - package: metr-agents
            name: metr_agents
            items:
              - {name: react, args: {max_attempts: 1}}
              - {name: react, args: {max_attempts: 5}}
        """,
    )
    cells = expand_grid(loaded)
    assert [(c.name, c.solver_label) for c in cells] == [("ctf_react", "react"), ("ctf_react_2", "react_2")]
    assert [c.solver.args for c in cells if c.solver] == [{"max_attempts": 1}, {"max_attempts": 5}]
    assert {c.solver.name for c in cells if c.solver} == {"metr_agents/react"}


def test_no_solvers_and_no_models_is_one_cell_per_task(write_config: Callable[..., Path]) -> None:
    loaded = _load(
        write_config,
        """
        tasks:
          - package: inspect-ai
            items: [{name: a}, {name: b}, {name: c}]
        """,
    )
    cells = expand_grid(loaded)
    assert [c.name for c in cells] == ["a", "b", "c"]
    assert all(c.solver is None and c.model is None and c.solver_label is None for c in cells)


def test_a_single_solver_does_not_rename_tasks(write_config: Callable[..., Path]) -> None:
    loaded = _load(
        write_config,
        """
        tasks:
          - package: inspect-ai
            items: [{name: a}]
        solvers:
          - package: inspect-ai
            items: [{name: generate}]
        """,
    )
    assert [c.name for c in expand_grid(loaded)] == ["a"]


def test_repeated_task_and_model_names_stay_unique_per_model(write_config: Callable[..., Path]) -> None:
    loaded = _load(
        write_config,
        """
        tasks:
          - package: inspect-ai
            items:
              - {name: mbpp, args: {shots: 0}}
              - {name: mbpp, args: {shots: 5}}
              - {name: mbpp_2}
        models:
          - items:
              - {name: openai/gpt-4o, args: {config: {temperature: 0}}}
              - {name: openai/gpt-4o, args: {config: {temperature: 1}}}
        """,
    )
    cells = expand_grid(loaded)
    assert len(cells) == 6
    pairs = [(c.name, c.model.name if c.model else None) for c in cells]
    assert len(set(pairs)) == len(pairs)
    # The second mbpp must not take the name of the task literally called mbpp_2.
    assert [c.name for c in cells] == ["mbpp", "mbpp_4", "mbpp_3", "mbpp_3_2", "mbpp_2", "mbpp_2_2"]
    assert [c.model_label for c in cells[:2]] == ["openai/gpt-4o", "openai/gpt-4o#2"]
    assert [c.task.args for c in cells[::2]] == [{"shots": 0}, {"shots": 5}, {}]


def test_run_plan_contents(write_config: Callable[..., Path], workdir: Path) -> None:
    (workdir / "my_pkg").mkdir()
    loaded = _load(
        write_config,
        """
        name: Big Grid
        tasks:
          - package: git+https://github.com/UKGovernmentBEIS/inspect_evals
            name: inspect_evals
            items:
              - name: mbpp
                secrets: [HF_TOKEN, {name: DATASET_KEY, description: dataset}]
          - package: git+https://github.com/UKGovernmentBEIS/inspect_evals
            name: inspect_evals
            items: [{name: gsm8k, secrets: [HF_TOKEN]}]
          - package: inspect-ai
            items: [{name: builtin_task}]
        solvers:
          - package: ./my_pkg
            name: my_pkg
            items: [{name: s}]
        agents:
          - package: git+https://github.com/METR/inspect-agents
            name: metr_agents
            items: [{name: react}]
        models:
          - package: openai
            name: openai
            items: [{name: gpt-4o}]
        model_roles:
          grader:
            package: anthropic
            name: anthropic
            items: [{name: claude-sonnet-4-0, args: {config: {temperature: 0}}}]
        packages: [openai, pandas>=2]
        runner:
          secrets: [{name: DATASET_KEY}, {name: OPENAI_API_KEY}]
          environment: {LOG_LEVEL: debug}
        secrets: [LEGACY_SECRET]
        limit: [10, 20]
        sample_shuffle: 42
        epochs: {epochs: 3, reducer: [mean, max]}
        token_limit: 10000
        working_limit: 600
        score: false
        tags: [nightly]
        metadata: {eval_set_id: user-value, name: user-name, team: safety}
        max_samples: 8
        """,
    )
    assert any("max_samples" in w for w in loaded.warnings)
    plan = build_run_plan(loaded, eval_set_id="big-grid-1", log_dir="s3://bucket/evals/big-grid-1")
    assert plan.eval_set_id == "big-grid-1"
    assert plan.log_dir == "s3://bucket/evals/big-grid-1"
    assert len(plan.cells) == 3 * 2 * 1
    assert plan.required_secrets == ["DATASET_KEY", "HF_TOKEN", "LEGACY_SECRET", "OPENAI_API_KEY"]
    assert plan.environment == {"LOG_LEVEL": "debug"}
    assert plan.packages == [
        "git+https://github.com/UKGovernmentBEIS/inspect_evals",
        str((workdir / "my_pkg").resolve()),
        "git+https://github.com/METR/inspect-agents",
        "openai",
        "anthropic",
        "pandas>=2",
    ]
    assert plan.model_roles["grader"].name == "anthropic/claude-sonnet-4-0"
    assert plan.model_roles["grader"].config == {"temperature": 0}
    assert plan.eval_set_args == {
        "limit": [10, 20],
        "sample_shuffle": 42,
        "epochs": {"epochs": 3, "reducer": ["mean", "max"]},
        "token_limit": 10000,
        "working_limit": 600,
        "score": False,
        "tags": ["nightly"],
        "metadata": {"eval_set_id": "big-grid-1", "name": "Big Grid", "team": "safety"},
        "max_samples": 8,
    }
    # The plan is plain JSON and survives a round trip (it is what the runner receives).
    assert RunPlan.model_validate_json(plan.model_dump_json()) == plan


def test_run_plan_without_name_or_optional_settings(write_config: Callable[..., Path]) -> None:
    loaded = _load(write_config, "tasks:\n  - package: inspect-ai\n    items: [{name: t}]\n")
    plan = build_run_plan(loaded, eval_set_id="plain", log_dir="/logs/plain")
    assert plan.eval_set_args == {"score": True, "metadata": {"eval_set_id": "plain"}}
    assert (plan.required_secrets, plan.packages, plan.environment, plan.model_roles) == ([], [], {}, {})


def test_run_plan_refuses_an_invalid_eval_set_id(write_config: Callable[..., Path]) -> None:
    loaded = _load(write_config, "tasks:\n  - package: inspect-ai\n    items: [{name: t}]\n")
    with pytest.raises(ValueError, match="uppercase"):
        build_run_plan(loaded, eval_set_id="Not-Valid", log_dir="/l")
