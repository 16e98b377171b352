"""A corpus of broken configs: each must name the exact field (and say something useful) and exit 2 in the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result

from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.loader import load_eval_set_config

TASK = """
tasks:
  - package: inspect-ai
    items: [{name: t}]
"""


@dataclass(frozen=True)
class Broken:
    id: str
    yaml: str
    path: str
    says: tuple[str, ...] = ()
    line: int | None = None
    file_suffix: str | None = None  # when the issue is in another file (a task file, an eval.yaml)


CASES = [
    Broken("eval_set_id uppercase", TASK + "eval_set_id: My-Set\n", "eval_set_id", ("use 'my-set'",), line=4),
    Broken("eval_set_id too long", TASK + f"eval_set_id: {'a' * 44}\n", "eval_set_id", ("at most 43",)),
    Broken("eval_set_id trailing dash", TASK + "eval_set_id: grid-\n", "eval_set_id", ("start and end",)),
    Broken(
        "sample_ids empty",
        """
        tasks:
          - package: inspect-ai
            items:
              - name: t
                sample_ids: []
        """,
        "tasks[0].items[0].sample_ids",
        ("at least one sample id",),
        line=5,
    ),
    Broken(
        "sample_ids wrong type",
        """
        tasks:
          - package: inspect-ai
            items:
              - name: t
                sample_ids: [1, 2.5]
        """,
        "tasks[0].items[0].sample_ids[1]",
        ("string or a whole number", "found: 2.5"),
    ),
    Broken(
        "sample_ids not a list",
        """
        tasks:
          - package: inspect-ai
            items:
              - {name: t, sample_ids: {a: 1}}
        """,
        "tasks[0].items[0].sample_ids",
        ("must be a list",),
    ),
    Broken(
        "api_key in model args",
        TASK
        + """
models:
  - package: openai
    name: openai
    items:
      - name: gpt-4o
        args: {api_key: sk-live-SECRETVALUE}
""",
        "models[0].items[0].args.api_key",
        ("--secret OPENAI_API_KEY", "logged"),
    ),
    Broken(
        "secret-like provider arg",
        TASK + "models:\n  - items: [{name: openai/gpt-4o, args: {openai_api_key: sk-SECRETVALUE}}]\n",
        "models[0].items[0].args.openai_api_key",
        ("runner.secrets",),
    ),
    Broken(
        "memory in GB", TASK + "runner: {memory: 16GB}\n", "runner.memory", ("use 'Gi' not 'GB'", "'16Gi'")
    ),
    Broken("memory in milli", TASK + "runner: {memory: 512m}\n", "runner.memory", ("use 'Mi'", "'512Mi'")),
    Broken(
        "memory lowercase unit", TASK + "runner: {memory: 8gi}\n", "runner.memory", ("use 'Gi' not 'gi'",)
    ),
    Broken(
        "task item as a plain string",
        "tasks:\n  - package: inspect-ai\n    items: [mbpp]\n",
        "tasks[0].items[0]",
        ("`- name: mbpp`",),
    ),
    Broken("memory nonsense", TASK + "runner: {memory: lots}\n", "runner.memory", ("Kubernetes quantity",)),
    Broken("cpu with words", TASK + "runner: {cpu: 2 cores}\n", "runner.cpu", ("500m",)),
    Broken("cpu zero", TASK + "runner: {cpu: 0}\n", "runner.cpu", ("greater than zero",)),
    Broken(
        "unknown key inside a task item",
        """
        tasks:
          - package: inspect-ai
            items:
              - name: t
                smaple_ids: [1]
        """,
        "tasks[0].items[0].smaple_ids",
        ("did you mean 'sample_ids'?", "allowed keys here: name, args, sample_ids, secrets"),
        line=5,
    ),
    Broken(
        "unknown key inside a group",
        """
        tasks:
          - package: inspect-ai
            itmes: [{name: t}]
        """,
        "tasks[0].itmes",
        ("did you mean 'items'?",),
    ),
    Broken(
        "inspect_ai inside a package string",
        """
        tasks:
          - package: inspect_ai==0.3.100
            name: inspect_ai
            items: [{name: t}]
        """,
        "tasks[0].package",
        ("package: inspect-ai",),
    ),
    Broken("inspect-ai in packages", TASK + "packages: [inspect-ai>=0.3]\n", "packages[0]", ("remove it",)),
    Broken(
        "model_roles entry with two items",
        TASK
        + """
model_roles:
  grader:
    items: [{name: openai/gpt-4o}, {name: openai/gpt-4o-mini}]
""",
        "model_roles.grader.items",
        ("exactly one model",),
    ),
    Broken("epochs 0", TASK + "epochs: 0\n", "epochs", ("at least 1",)),
    Broken(
        "epochs mapping 0", TASK + "epochs: {epochs: 0, reducer: mean}\n", "epochs.epochs", ("at least 1",)
    ),
    Broken("epochs wrong type", TASK + "epochs: many\n", "epochs", ("whole number",)),
    Broken("limit reversed", TASK + "limit: [5, 2]\n", "limit", ("start < end",)),
    Broken("limit three numbers", TASK + "limit: [1, 2, 3]\n", "limit", ("at most 2 items",)),
    Broken("limit text", TASK + "limit: ten\n", "limit", ("[start, end]",)),
    Broken(
        "missing tasks", "models:\n  - items: [{name: mockllm/model}]\n", "tasks", ("`tasks` is required",)
    ),
    Broken(
        "tasks not a list",
        """
        tasks:
          package: inspect-ai
          items: [{name: t}]
        """,
        "tasks",
        ("must be a list",),
    ),
    Broken("tasks empty", "tasks: []\n", "tasks", ("at least one task group",)),
    Broken(
        "task group of no kind",
        """
        tasks:
          - name: inspect_evals
            items: [{name: mbpp}]
        """,
        "tasks[0]",
        ("`package`", "`path`", "`cyber`"),
    ),
    Broken(
        "package group without name",
        """
        tasks:
          - package: inspect-evals
            items: [{name: mbpp}]
        """,
        "tasks[0].name",
        ("required",),
    ),
    Broken(
        "doubled registry prefix",
        """
        tasks:
          - package: inspect-evals
            name: inspect_evals
            items: [{name: inspect_evals/mbpp}]
        """,
        "tasks[0].items[0].name",
        ("write just 'mbpp'",),
    ),
    Broken(
        "scp-style git address",
        """
        tasks:
          - package: git@github.com:org/repo.git
            name: repo
            items: [{name: t}]
        """,
        "tasks[0].package",
        ("git+ssh://git@github.com/org/repo.git",),
    ),
    Broken(
        "invalid requirement",
        TASK + "packages: ['numpy >>= 1']\n",
        "packages[0]",
        ("not a valid pip requirement",),
    ),
    Broken(
        "YAML syntax error",
        """
        tasks:
          - package: inspect-ai
            items: [{name: t}
        models: []
        """,
        "",
        ("valid YAML",),
        line=4,
    ),
    Broken("YAML tab indentation", "tasks:\n\t- package: inspect-ai\n", "", ("valid YAML",), line=2),
    Broken(
        "duplicate key", TASK + "models: [{items: [{name: a/b}]}]\nmodels: []\n", "models", ("written twice",)
    ),
    Broken("empty file", "", "", ("empty",)),
    Broken("only comments", "# nothing here yet\n", "", ("empty",)),
    Broken("top level is a list", "- tasks: []\n", "", ("top level must be a mapping",), line=1),
    Broken(
        "missing local task file",
        "tasks:\n  - path: tasks/missing.py\n",
        "tasks[0].path",
        ("no such file",),
        line=2,
    ),
    Broken("task path not python", "tasks:\n  - path: tasks/arith.txt\n", "tasks[0].path", (".py",)),
    Broken(
        "function not in file",
        "tasks:\n  - path: tasks/arith.py\n    items: [{name: multiplication}]\n",
        "tasks[0].items[0].name",
        ("no task named 'multiplication'", "addition, subtraction"),
    ),
    Broken(
        "function without @task",
        "tasks:\n  - path: tasks/arith.py\n    items: [{name: make_prompt}]\n",
        "tasks[0].items[0].name",
        ("not decorated with @task",),
    ),
    Broken(
        "registered name differs from function name",
        "tasks:\n  - path: tasks/arith.py\n    items: [{name: subtract}]\n",
        "tasks[0].items[0].name",
        ("no task named 'subtract'", "subtraction"),
    ),
    Broken("cyber dir without eval.yaml", "tasks:\n  - cyber: tasks\n", "tasks[0].cyber", ("no eval.yaml",)),
    Broken("cyber dir missing", "tasks:\n  - cyber: nowhere\n", "tasks[0].cyber", ("does not exist",)),
    Broken(
        "cyber unknown eval name",
        "tasks:\n  - cyber: ctf\n    items: [{name: x, eval_names: [helo]}]\n",
        "tasks[0].items[0].eval_names[0]",
        ("hello, web",),
    ),
    Broken(
        "cyber unknown variant",
        "tasks:\n  - cyber: ctf\n    items: [{name: x, eval_names: [web], variant_names: [easy]}]\n",
        "tasks[0].items[0].variant_names[0]",
        ("only",),
    ),
    Broken(
        "cyber unknown sample id",
        "tasks:\n  - cyber: ctf\n    items: [{name: x, sample_ids: [hello]}]\n",
        "tasks[0].items[0].sample_ids[0]",
        ("'hello (easy)'",),
    ),
    Broken(
        "GenerateConfig unknown key",
        TASK
        + "models:\n  - items:\n      - name: openai/gpt-4o\n        args: {config: {temprature: 0.3}}\n",
        "models[0].items[0].args.config.temprature",
        ("did you mean 'temperature'?",),
    ),
    Broken(
        "GenerateConfig wrong type",
        TASK
        + "models:\n  - items:\n      - name: openai/gpt-4o\n        args: {config: {temperature: hot}}\n",
        "models[0].items[0].args.config.temperature",
        ("must be a number",),
    ),
    Broken("time_limit negative", TASK + "time_limit: -5\n", "time_limit", ("at least 1",)),
    Broken("message_limit text", TASK + "message_limit: lots\n", "message_limit", ("whole number",)),
    Broken("sample_shuffle text", TASK + "sample_shuffle: maybe\n", "sample_shuffle", ("seed",)),
    Broken(
        "model without provider",
        TASK + "models:\n  - items: [{name: gpt-4o}]\n",
        "models[0].items[0].name",
        ("provider/model",),
    ),
    Broken("models empty", TASK + "models: []\n", "models", ("leave `models` out",)),
    Broken(
        "model group name without package",
        TASK + "models:\n  - name: openai\n    items: [{name: gpt-4o}]\n",
        "models[0].package",
        ("`package` is required",),
    ),
    Broken(
        "environment number",
        TASK + "runner:\n  environment: {WORKERS: 4}\n",
        "runner.environment.WORKERS",
        ("quotes",),
    ),
    Broken(
        "secret name invalid",
        TASK + "runner:\n  secrets: [{name: my-key}]\n",
        "runner.secrets[0].name",
        ("OPENAI_API_KEY",),
    ),
    Broken("log_dir is reserved", TASK + "log_dir: /tmp/mine\n", "log_dir", ("chosen by the platform",)),
    Broken("approval file missing", TASK + "approval: policy.yaml\n", "approval", ("does not exist",)),
    Broken(
        "approver without tools",
        TASK + "approval: {approvers: [{name: human}]}\n",
        "approval.approvers[0].tools",
        ("`tools` is required",),
    ),
    Broken(
        "unknown runner key", TASK + "runner: {memroy: 1Gi}\n", "runner.memroy", ("did you mean 'memory'?",)
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_config_names_the_field(
    case: Broken, write_config: Callable[..., Path], run_validate: Callable[..., Result]
) -> None:
    import textwrap

    path = write_config(textwrap.dedent(case.yaml))
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config(path)
    error = caught.value
    matching = [issue for issue in error.issues if issue.path == case.path]
    assert matching, f"no issue at {case.path!r}; got:\n{error}"
    issue = matching[0]
    assert issue.file == str(path)
    for text in case.says:
        assert text in issue.format(), f"{text!r} missing from: {issue.format()}"
    if case.line is not None:
        assert issue.line == case.line, issue.format()
        assert f"{path}:{case.line}:" in str(error)
    assert str(error).startswith(f"{path}: invalid config")
    assert "Input should be" not in str(error)  # no raw pydantic text
    assert "SECRETVALUE" not in str(error)  # credentials are never echoed

    result = run_validate(path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert case.path in result.stderr
    assert str(path) in result.stderr


def test_there_are_at_least_twenty_broken_configs() -> None:
    assert len(CASES) >= 20


def test_all_problems_are_reported_together_in_file_order(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        tasks:
          - package: inspect-ai
            items: [{name: t, sample_ids: []}]
        epochs: 0
        runner: {memory: 16GB}
        eval_set_id: Bad_Id
        """
    )
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config(path)
    assert [i.path for i in caught.value.issues] == [
        "tasks[0].items[0].sample_ids",
        "epochs",
        "runner.memory",
        "eval_set_id",
    ]
    assert "(4 problems)" in str(caught.value)


def test_broken_eval_yaml_is_reported_in_that_file(write_config: Callable[..., Path], workdir: Path) -> None:
    eval_file = workdir / "ctf" / "web" / "eval.yml"
    eval_file.write_text("name: web\nvariants: {}\n")
    path = write_config("tasks:\n  - cyber: ctf\n")
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config(path)
    [issue] = caught.value.issues
    assert issue.file.endswith("eval.yml")
    assert issue.path == "variants"
    assert issue.line == 2


def test_missing_sandbox_config_in_eval_yaml_is_reported(
    write_config: Callable[..., Path], workdir: Path
) -> None:
    (workdir / "ctf" / "hello" / "sandbox.yaml").unlink()
    path = write_config("tasks:\n  - cyber: ctf\n")
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config(path)
    [issue] = caught.value.issues
    assert issue.file.endswith("eval.yaml")
    assert issue.path == "sandbox.config"
    assert issue.line == 4


def test_syntax_error_in_a_task_file_points_into_that_file(
    write_config: Callable[..., Path], workdir: Path
) -> None:
    (workdir / "tasks" / "broken.py").write_text("from inspect_ai import task\n\n@task\ndef x(:\n    pass\n")
    path = write_config("tasks:\n  - path: tasks/broken.py\n")
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config(path)
    [issue] = caught.value.issues
    assert issue.file.endswith("broken.py")
    assert issue.line == 4
    assert "tasks[0].path" in issue.allowed


def test_file_group_without_items_needs_task_functions(
    write_config: Callable[..., Path], workdir: Path
) -> None:
    (workdir / "tasks" / "plain.py").write_text("def helper():\n    return 1\n")
    path = write_config("tasks:\n  - path: tasks/plain.py\n")
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config(path)
    [issue] = caught.value.issues
    assert issue.path == "tasks[0].path"
    assert "no @task functions" in issue.allowed and "helper" in issue.allowed


def test_unreadable_config_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config(tmp_path / "absent.yaml")
    assert "does not exist" in str(caught.value)
