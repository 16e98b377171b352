"""Valid configs: the reference README's snippets, local file tasks, Inspect Cyber, and what loading reports."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.eval_set import (
    BuiltinTaskGroup,
    CyberTaskGroup,
    FileTaskGroup,
    PackageRegistryGroup,
    PackageTaskGroup,
)
from hawk_dagster.config.loader import confirmed_pass_through, load_eval_set_config, with_pass_through
from hawk_dagster.config.model_groups import InstalledModelGroup, PackageModelGroup
from hawk_dagster.evals.grid import expand_grid
from hawk_dagster.evals.planning import build_run_plan

FIXTURES = Path(__file__).parent / "fixtures"


def test_seed_required_fields() -> None:
    loaded = load_eval_set_config(FIXTURES / "seed_required.yaml")
    group = loaded.config.tasks[0]
    assert isinstance(group, PackageTaskGroup)
    assert group.package == "git+https://github.com/UKGovernmentBEIS/inspect_evals"
    assert group.items[0].sample_ids == [1, 2, 3]
    assert isinstance(loaded.config.models[0], PackageModelGroup)  # type: ignore[index]
    [cell] = expand_grid(loaded)
    assert (cell.name, cell.task_label, cell.model_label) == (
        "mbpp",
        "inspect_evals/mbpp",
        "openai/gpt-4o-mini",
    )
    assert cell.task.kind == "registry"
    assert cell.task.ref == "inspect_evals/mbpp"
    assert cell.task.sample_ids == [1, 2, 3]
    assert cell.model is not None and cell.model.name == "openai/gpt-4o-mini"
    assert loaded.warnings == []


def test_seed_optional_agents() -> None:
    loaded = load_eval_set_config(FIXTURES / "seed_optional_agents.yaml")
    assert isinstance(loaded.config.agents[0], PackageRegistryGroup)
    [cell] = expand_grid(loaded)
    assert cell.solver is not None
    assert (cell.solver.kind, cell.solver.name, cell.solver.args) == (
        "agent",
        "metr_agents/react",
        {"max_attempts": 3},
    )
    assert cell.solver_label == "react"
    assert cell.model is None and cell.model_label is None  # no models: each task's default model


def test_seed_runner_configuration() -> None:
    loaded = load_eval_set_config(FIXTURES / "seed_runner.yaml")
    runner = loaded.config.runner
    assert [s.name for s in runner.secrets] == ["DATASET_ACCESS_KEY"]  # type: ignore[union-attr]
    assert runner.environment == {"FOO_BAR": "custom_value"}
    plan = build_run_plan(loaded, eval_set_id="runner-seed", log_dir="/logs/runner-seed")
    assert plan.required_secrets == ["DATASET_ACCESS_KEY"]
    assert plan.environment == {"FOO_BAR": "custom_value"}
    assert plan.packages == [
        "git+https://github.com/UKGovernmentBEIS/inspect_evals",
        "git+https://github.com/some-package",
    ]


def test_full_readme_example_with_inspect_parameters() -> None:
    loaded = load_eval_set_config(FIXTURES / "simple.eval-set.yaml")
    config = loaded.config
    assert config.eval_set_id == "mbpp-smoke-1"
    assert (config.runner.memory, config.runner.cpu) == ("16Gi", "4")
    plan = build_run_plan(loaded, eval_set_id="mbpp-smoke-1", log_dir="s3://bucket/evals/mbpp-smoke-1")
    assert plan.eval_set_args == {
        "limit": 10,
        "time_limit": 600,
        "message_limit": 50,
        "epochs": 2,
        "score": True,
        "tags": ["smoke", "mbpp"],
        "metadata": {"owner": "evals-team", "eval_set_id": "mbpp-smoke-1", "name": "mbpp smoke"},
    }
    assert plan.required_secrets == ["OPENAI_API_KEY"]
    assert plan.packages == [
        "git+https://github.com/UKGovernmentBEIS/inspect_evals",
        "git+https://github.com/METR/inspect-agents",
        "openai",
        "git+https://github.com/some-package",
    ]
    [cell] = plan.cells
    assert (cell.name, cell.solver_label, cell.model_label) == ("mbpp", "react", "openai/gpt-4o-mini")


def test_local_file_tasks_resolve_against_the_config_folder() -> None:
    loaded = load_eval_set_config(FIXTURES / "local_tasks.yaml")
    assert loaded.base_dir == FIXTURES.resolve()
    first, second = loaded.config.tasks
    assert isinstance(first, FileTaskGroup) and isinstance(second, FileTaskGroup)
    # A file group without items runs every @task in the file, under its registered name.
    assert [item.name for item in second.items or []] == ["addition", "subtraction"]
    cells = expand_grid(loaded)
    arith = (FIXTURES / "tasks" / "arith.py").resolve()
    assert [c.task.ref for c in cells[::2]] == [f"{arith}@addition", f"{arith}@subtraction"] * 2
    assert {c.task.kind for c in cells} == {"file"}
    assert cells[0].task_label == "tasks/arith.py@addition"
    assert cells[0].task.sample_ids == [1]
    # The same task twice gets a second name; both models share each name.
    assert [c.name for c in cells] == [
        "addition",
        "addition",
        "subtraction",
        "subtraction",
        "addition_2",
        "addition_2",
        "subtraction_2",
        "subtraction_2",
    ]
    assert [c.model_label for c in cells[:2]] == ["mockllm/model", "hawk-mock/model-a"]
    assert isinstance(loaded.config.models[0], InstalledModelGroup)  # type: ignore[index]


def test_inspect_cyber_directories() -> None:
    loaded = load_eval_set_config(FIXTURES / "cyber.yaml")
    assert all(isinstance(g, CyberTaskGroup) for g in loaded.config.tasks)
    cells = expand_grid(loaded)
    ctf = str((FIXTURES / "ctf").resolve())
    assert [(c.name, c.task_label) for c in cells] == [
        ("ctf", "cyber:ctf"),
        ("hello_easy", "cyber:ctf@hello_easy"),
        ("picked", "cyber:ctf@picked"),
    ]
    assert {c.task.ref for c in cells} == {ctf}
    assert {c.task.kind for c in cells} == {"cyber"}
    everything, easy, picked = (c.task for c in cells)
    assert (everything.eval_names, everything.variant_names, everything.sample_ids) == (None, None, None)
    assert (easy.eval_names, easy.variant_names) == (["hello"], ["easy"])
    assert picked.sample_ids == ["hello (hard)", "web (only)"]


def test_cyber_fixture_is_a_real_inspect_cyber_dataset() -> None:
    """Our static sample-id check must agree with Inspect Cyber's own loader (and the fixture must be real)."""
    from inspect_cyber import create_agentic_eval_dataset

    dataset = create_agentic_eval_dataset((FIXTURES / "ctf").resolve())
    assert sorted(str(s.id) for s in dataset) == ["hello (easy)", "hello (hard)", "web (only)"]


def test_builtin_groups_and_installed_model_groups(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        tasks:
          - package: inspect-ai
            items: [{name: some_builtin_task}]
        solvers:
          - package: inspect-ai
            items: [{name: generate}, {name: chain_of_thought}]
        models:
          - package: inspect-ai
            items: [{name: mockllm/model}]
          - items: [{name: hawk-mock/model-a}]
        """
    )
    loaded = load_eval_set_config(path)
    assert isinstance(loaded.config.tasks[0], BuiltinTaskGroup)
    cells = expand_grid(loaded)
    assert cells[0].task.ref == "some_builtin_task"
    assert [c.solver.name for c in cells if c.solver] == [
        "generate",
        "generate",
        "chain_of_thought",
        "chain_of_thought",
    ]
    assert [c.model.name for c in cells if c.model] == ["mockllm/model", "hawk-mock/model-a"] * 2
    assert build_run_plan(loaded, eval_set_id="builtins", log_dir="/l").packages == []


def test_model_item_args_become_get_model_arguments(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        tasks:
          - package: inspect-ai
            items: [{name: t}]
        models:
          - package: openai
            name: openai
            items:
              - name: gpt-4o
                args:
                  config: {temperature: 0.2, max_tokens: 512}
                  base_url: http://localhost:8000/v1
                  role: red_team
                  memoize: false
                  organization: my-org
        """
    )
    [cell] = expand_grid(load_eval_set_config(path))
    assert cell.model is not None
    assert cell.model.name == "openai/gpt-4o"
    assert cell.model.config == {"temperature": 0.2, "max_tokens": 512}
    assert cell.model.base_url == "http://localhost:8000/v1"
    assert cell.model.role == "red_team"
    assert cell.model.args == {"memoize": False, "organization": "my-org"}  # only what the config sets


def test_config_from_text_without_a_local_folder_allows_registry_tasks() -> None:
    text = (FIXTURES / "seed_required.yaml").read_text()
    loaded = load_eval_set_config("s3://bucket/configs/eval-sets/seed.yaml", text=text)
    assert loaded.base_dir is None
    assert loaded.source == "s3://bucket/configs/eval-sets/seed.yaml"
    assert len(expand_grid(loaded)) == 1


def test_config_from_text_refuses_local_task_sources_without_a_folder() -> None:
    text = (FIXTURES / "local_tasks.yaml").read_text()
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config("s3://bucket/configs/eval-sets/local.yaml", text=text)
    assert {issue.path for issue in caught.value.issues} == {"tasks[0].path", "tasks[1].path"}
    assert "config on this machine" in str(caught.value)


def test_config_from_text_with_an_explicit_folder(tmp_path: Path) -> None:
    text = (FIXTURES / "local_tasks.yaml").read_text()
    loaded = load_eval_set_config("s3://bucket/configs/local.yaml", text=text, base_dir=FIXTURES)
    assert loaded.base_dir == FIXTURES.resolve()
    assert len(expand_grid(loaded)) == 8


def test_unknown_top_level_keys_pass_through_with_a_warning(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        tasks:
          - package: inspect-ai
            items: [{name: t}]
        max_samples: 4
        temperature: 0.1
        modles: oops
        """
    )
    loaded = load_eval_set_config(path)
    assert loaded.extra_eval_set_args == {"max_samples": 4, "temperature": 0.1, "modles": "oops"}
    [max_samples, temperature, typo] = loaded.warnings
    assert "'max_samples'" in max_samples and "inspect_ai.eval_set(max_samples=...)" in max_samples
    assert "'temperature' is an Inspect generation setting" in temperature and "every model" in temperature
    assert "did you mean 'models'?" in typo


def test_strict_loading_refuses_unknown_keys_the_file_does_not_confirm(
    write_config: Callable[..., Path],
) -> None:
    """The configs-folder sensor loads strictly: nobody is there to confirm a pass-through key."""
    body = """
        tasks:
          - package: inspect-ai
            items: [{name: t}]
        max_samples: 4
        temperature: 0.1
        modles: oops
        """
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config(write_config(body), strict=True)
    by_path = {issue.path: issue for issue in caught.value.issues}
    assert list(by_path) == ["max_samples", "temperature", "modles"]
    assert [issue.line for issue in by_path.values()] == [4, 5, 6]
    assert all(issue.found == "an unknown top-level key" for issue in by_path.values())
    assert "`# hawk-pass-through: max_samples`" in by_path["max_samples"].allowed
    assert "eval_set_id, limit, message_limit" in by_path["max_samples"].allowed  # what is allowed
    assert "inspect_ai.eval_set would take it as max_samples=..." in by_path["max_samples"].allowed
    assert "generation setting temperature" in by_path["temperature"].allowed
    assert "did you mean 'models'?" in by_path["modles"].allowed

    confirmed = write_config(
        "# hawk-pass-through: max_samples, temperature\n" + textwrap.dedent(body).lstrip()
    )
    with pytest.raises(ConfigError) as still:
        load_eval_set_config(confirmed, strict=True)
    assert [issue.path for issue in still.value.issues] == ["modles"]

    loaded = load_eval_set_config(write_config(body), strict=False)  # the CLI: warnings, then it asks
    assert set(loaded.extra_eval_set_args) == {"max_samples", "temperature", "modles"}


def test_strict_loading_reports_unknown_keys_with_the_other_problems(
    write_config: Callable[..., Path],
) -> None:
    path = write_config("tasks: []\nmax_tasks: 2\nepochs: 0\n")
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config(path, strict=True)
    assert [issue.path for issue in caught.value.issues] == ["tasks", "max_tasks", "epochs"]


def test_a_pass_through_line_is_added_once() -> None:
    text = "tasks: []\nmax_tasks: 2\n"
    marked = with_pass_through(text, ["max_tasks", "fail_on_error"])
    assert marked == "# hawk-pass-through: fail_on_error, max_tasks\n" + text
    assert confirmed_pass_through(marked) == {"fail_on_error", "max_tasks"}
    assert with_pass_through(marked, ["max_tasks"]) == marked
    assert with_pass_through(text, []) == text


def test_deprecated_top_level_secrets_still_count_with_a_warning(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        tasks:
          - package: inspect-ai
            items: [{name: t}]
        secrets:
          - name: OLD_STYLE_TOKEN
        """
    )
    loaded = load_eval_set_config(path)
    assert loaded.config.all_secret_names() == ["OLD_STYLE_TOKEN"]
    assert any("deprecated" in w and "runner.secrets" in w for w in loaded.warnings)


def test_secret_looking_environment_variables_are_flagged(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        tasks:
          - package: inspect-ai
            items: [{name: t}]
        runner:
          environment:
            HF_TOKEN: abc
            LOG_LEVEL: debug
        """
    )
    [warning] = load_eval_set_config(path).warnings
    assert "runner.environment.HF_TOKEN looks like a secret" in warning
    assert "--secret HF_TOKEN" in warning


def test_yaml_dates_in_metadata_arrive_as_text(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        tasks:
          - package: inspect-ai
            items: [{name: t}]
        metadata:
          started: 2024-05-01
        """
    )
    assert load_eval_set_config(path).config.metadata == {"started": "2024-05-01"}


def test_imported_task_names_are_accepted_with_a_warning(
    write_config: Callable[..., Path], workdir: Path
) -> None:
    (workdir / "tasks" / "reexport.py").write_text("from arith import addition as plus\n")
    path = write_config(
        """
        tasks:
          - path: tasks/reexport.py
            items: [{name: plus}]
        """
    )
    loaded = load_eval_set_config(path)
    assert any("tasks[0].items[0].name" in w and "imported or assigned" in w for w in loaded.warnings)


def test_approval_file_is_checked_and_made_absolute(write_config: Callable[..., Path], workdir: Path) -> None:
    (workdir / "approval.yaml").write_text("approvers:\n  - name: auto\n    tools: '*'\n")
    path = write_config(
        """
        tasks:
          - package: inspect-ai
            items: [{name: t}]
        approval: approval.yaml
        """
    )
    plan = build_run_plan(load_eval_set_config(path), eval_set_id="approved", log_dir="/l")
    assert plan.eval_set_args["approval"] == str((workdir / "approval.yaml").resolve())


def test_inline_approval_policy_is_passed_as_a_mapping(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        tasks:
          - package: inspect-ai
            items: [{name: t}]
        approval:
          approvers:
            - name: human
              tools: [bash, "web_*"]
              choices: [approve, reject]
            - name: auto
              tools: "*"
        """
    )
    plan = build_run_plan(load_eval_set_config(path), eval_set_id="approved", log_dir="/l")
    assert plan.eval_set_args["approval"] == {
        "approvers": [
            {"name": "human", "tools": ["bash", "web_*"], "choices": ["approve", "reject"]},
            {"name": "auto", "tools": "*"},
        ]
    }
