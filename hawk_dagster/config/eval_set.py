"""The eval-set YAML as pydantic models: what a researcher may write, and what each key means.

The models are the single source of truth: validation, the published JSON Schema (``hawk schema eval-set``) and the
README's config reference are all generated from them, so field descriptions are written for researchers.

Keys inside groups and items are strict (a typo there would silently do nothing); unknown top-level keys are kept
and passed to ``inspect_ai.eval_set`` (the loader warns about them). Everything here is static: no package is
installed and no task is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from hawk_dagster.config.errors import (
    SUBPATH_CONTEXT_KEY,
)
from hawk_dagster.config.fields import (
    BUILTIN_PACKAGE,
    CARRIED_FILES_DESCRIPTION,
    CarriedFilesId,
    EvalSetId,
    ExtraPackageSpec,
    GroupPackageSpec,
    ItemName,
    NonEmptyStr,
    PositiveInt,
    RegistryName,
    SampleIds,
    SampleShuffle,
    SecretRef,
    StrictModel,
    by_python_type,
    check_item_prefix,
    custom_error,
    secret_name,
)
from hawk_dagster.config.model_groups import (
    ModelGroup,
    ModelGroupModel,
)
from hawk_dagster.config.runner_settings import (
    RunnerConfig,
)

# Top-level keys that would fight the platform if passed through to ``inspect_ai.eval_set``.
RESERVED_TOP_LEVEL_KEYS: dict[str, str] = {
    "log_dir": (
        "`log_dir` is chosen by the platform (evals/<eval_set_id>/ under the storage root) so that retries resume "
        "into the same folder; remove it"
    ),
    "model": "write `models:` (a list of model groups) instead of `model:`",
    "solver": "write `solvers:` or `agents:` (lists of groups) instead of `solver:`",
    "task": "write `tasks:` (a list of task groups) instead of `task:`",
}


# ---------------------------------------------------------------------------------------------------------------------
# Tasks


class TaskItem(StrictModel):
    """One task from a group, with its arguments and an optional subset of samples."""

    name: ItemName = Field(
        description=(
            "Task name: the registry name inside the package (mbpp for inspect_evals/mbpp), or for a local file "
            "the name its @task registers (the function's name unless @task(name=...) says otherwise)."
        )
    )
    args: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the task function (task parameters)."
    )
    sample_ids: SampleIds | None = Field(
        default=None,
        description="Run only these sample ids (strings or integers, at least one); leave out to run every sample.",
    )
    secrets: list[SecretRef] = Field(
        default_factory=list,
        description=(
            "Environment variables this task needs (e.g. a dataset token); the run refuses to start without them."
        ),
    )


class CyberTaskItem(StrictModel):
    """One task made from an Inspect Cyber directory, optionally narrowed to some evals, variants or samples."""

    name: ItemName = Field(description="Task name for this selection (it names the logs and grid cells).")
    eval_names: Annotated[list[NonEmptyStr], Field(min_length=1)] | None = Field(
        default=None,
        description="Keep only the evals with these `name:` values from their eval.yaml; leave out to keep all.",
    )
    variant_names: Annotated[list[NonEmptyStr], Field(min_length=1)] | None = Field(
        default=None, description="Keep only these variants (keys under `variants:`); leave out to keep all."
    )
    sample_ids: SampleIds | None = Field(
        default=None,
        description="Keep only these sample ids; Inspect Cyber names samples '<eval name> (<variant name>)'.",
    )
    args: dict[str, Any] = Field(
        default_factory=dict,
        description="Further keyword arguments for inspect_cyber's cyber_task (e.g. metadata_filters, sandboxes).",
    )
    secrets: list[SecretRef] = Field(
        default_factory=list,
        description="Environment variables this task needs; checked before the run starts.",
    )


class PackageTaskGroup(StrictModel):
    """Tasks from a Python package installed into the run's fresh environment."""

    package: GroupPackageSpec = Field(
        description=(
            "What to pip-install: a requirement (inspect_evals==0.3.0), a git URL "
            "(git+https://github.com/UKGovernmentBEIS/inspect_evals@main) or a local path."
        )
    )
    name: RegistryName = Field(
        description="The package's Inspect registry name (its `inspect_ai` entry point), e.g. inspect_evals."
    )
    items: Annotated[list[TaskItem], Field(min_length=1)] = Field(
        description="The tasks to run; each becomes `<name>/<item name>` (e.g. inspect_evals/mbpp)."
    )

    @model_validator(mode="after")
    def _no_doubled_prefix(self) -> PackageTaskGroup:
        check_item_prefix(self.items, self.name, "task")
        return self


class BuiltinTaskGroup(StrictModel):
    """Tasks that ship with inspect-ai itself (nothing to install)."""

    package: Literal["inspect-ai"] = Field(
        description="Always `inspect-ai`: the tasks are Inspect's builtins."
    )
    items: Annotated[list[TaskItem], Field(min_length=1)] = Field(
        description="The builtin tasks to run, by registry name."
    )


class FileTaskGroup(StrictModel):
    """Tasks defined by @task functions in a local Python file next to the config (needs a local config)."""

    path: NonEmptyStr = Field(
        description="Path of the .py file, relative to the config file's folder (e.g. tasks/arith.py)."
    )
    items: Annotated[list[TaskItem], Field(min_length=1)] | None = Field(
        default=None,
        description="The tasks to run, by registered @task name; leave out to run every @task in the file.",
    )

    @field_validator("path")
    @classmethod
    def _python_file(cls, value: str) -> str:
        if not value.endswith(".py"):
            raise custom_error(
                "task_path", "must be the path of a Python file ending in .py (e.g. tasks/arith.py)"
            )
        return value


class CyberTaskGroup(StrictModel):
    """Tasks built from a directory of Inspect Cyber eval.yaml files (needs a local config)."""

    cyber: NonEmptyStr = Field(
        description=(
            "Directory holding eval.yaml/eval.yml files (searched recursively, hidden folders skipped), relative "
            "to the config file's folder."
        )
    )
    items: Annotated[list[CyberTaskItem], Field(min_length=1)] | None = Field(
        default=None,
        description="Tasks to make from the directory; leave out for one task with every eval, named after it.",
    )


_TASK_GROUP_TAGS: dict[type[BaseModel], str] = {
    PackageTaskGroup: "package group",
    BuiltinTaskGroup: "builtin group",
    FileTaskGroup: "file group",
    CyberTaskGroup: "cyber group",
}


def _task_group_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return _TASK_GROUP_TAGS.get(type(value))
    if not isinstance(value, Mapping):
        return None
    present = [key for key in ("package", "path", "cyber") if key in value]
    if len(present) != 1:
        return None
    if present[0] == "package":
        return "builtin group" if value["package"] == BUILTIN_PACKAGE else "package group"
    return "file group" if present[0] == "path" else "cyber group"


TaskGroup = Annotated[
    Annotated[PackageTaskGroup, Tag("package group")]
    | Annotated[BuiltinTaskGroup, Tag("builtin group")]
    | Annotated[FileTaskGroup, Tag("file group")]
    | Annotated[CyberTaskGroup, Tag("cyber group")],
    Discriminator(
        _task_group_tag,
        custom_error_type="hawk_task_group",
        custom_error_message=(
            "a task group needs exactly one of: `package` (a pip requirement or git URL, with `name` and `items`; "
            "or `package: inspect-ai` for builtins), `path` (a local .py file) or `cyber` (a directory of "
            "Inspect Cyber eval.yaml files)"
        ),
    ),
]

# ---------------------------------------------------------------------------------------------------------------------
# Solvers and agents


class RegistryItem(StrictModel):
    """One solver or agent, created through Inspect's registry with these arguments."""

    name: ItemName = Field(description="Registry name inside the package (react for metr_agents/react).")
    args: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the solver/agent function."
    )


class PackageRegistryGroup(StrictModel):
    """Solvers or agents from a package installed into the run's environment."""

    package: GroupPackageSpec = Field(
        description="What to pip-install: a requirement, a git URL (git+https://github.com/METR/inspect-agents) or path."
    )
    name: RegistryName = Field(description="The package's Inspect registry name (e.g. metr_agents).")
    items: Annotated[list[RegistryItem], Field(min_length=1)] = Field(
        description="The solvers/agents; each becomes `<name>/<item name>`."
    )

    @model_validator(mode="after")
    def _no_doubled_prefix(self) -> PackageRegistryGroup:
        check_item_prefix(self.items, self.name, "item")
        return self


class BuiltinRegistryGroup(StrictModel):
    """Solvers or agents built into inspect-ai (e.g. generate, chain_of_thought, react)."""

    package: Literal["inspect-ai"] = Field(description="Always `inspect-ai`.")
    items: Annotated[list[RegistryItem], Field(min_length=1)] = Field(
        description="The builtin solvers/agents, by registry name."
    )


def _registry_group_tag(value: Any) -> str | None:
    if isinstance(value, PackageRegistryGroup):
        return "package group"
    if isinstance(value, BuiltinRegistryGroup):
        return "builtin group"
    if not isinstance(value, Mapping):
        return None
    return "builtin group" if value.get("package") == BUILTIN_PACKAGE else "package group"


RegistryGroup = Annotated[
    Annotated[PackageRegistryGroup, Tag("package group")]
    | Annotated[BuiltinRegistryGroup, Tag("builtin group")],
    Discriminator(
        _registry_group_tag,
        custom_error_type="hawk_registry_group",
        custom_error_message=(
            "a solver/agent group is a mapping: `package` + `name` + `items`, or `package: inspect-ai` + `items`"
        ),
    ),
]


def registry_name(
    group: PackageRegistryGroup | BuiltinRegistryGroup | PackageTaskGroup | BuiltinTaskGroup,
    item: RegistryItem | TaskItem,
) -> str:
    """Inspect registry name of an item: ``<package name>/<item>``, or the bare item for builtins."""
    if isinstance(group, (PackageRegistryGroup, PackageTaskGroup)):
        return f"{group.name}/{item.name}"
    return item.name


# ---------------------------------------------------------------------------------------------------------------------
# Run settings


class ApproverConfig(BaseModel):
    """One approver of an Inspect approval policy; keys besides name/tools are the approver's parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: NonEmptyStr = Field(
        description="Approver name (e.g. human, auto, or a registry name from a package)."
    )
    tools: Annotated[
        Annotated[NonEmptyStr, Tag("str form")] | Annotated[list[NonEmptyStr], Tag("list form")],
        by_python_type(
            {"str form": (str,), "list form": (list, tuple)},
            "approver_tools",
            "tools must be a tool name or glob (e.g. '*' or 'bash'), or a list of them",
        ),
    ] = Field(
        description="Tool names or glob patterns this approver decides on (e.g. [bash, 'web_*'] or '*')."
    )


class ApprovalConfig(StrictModel):
    """An inline Inspect approval policy (the same shape as an approval YAML file)."""

    approvers: Annotated[list[ApproverConfig], Field(min_length=1)] = Field(
        description="Approvers, tried in order for each tool call."
    )


class EpochsConfig(StrictModel):
    """Epochs with a custom score reducer."""

    epochs: int = Field(ge=1, description="How many times each sample runs (at least 1).")
    reducer: (
        Annotated[
            Annotated[NonEmptyStr, Tag("str form")]
            | Annotated[Annotated[list[NonEmptyStr], Field(min_length=1)], Tag("list form")],
            by_python_type(
                {"str form": (str,), "list form": (list, tuple)},
                "reducer",
                "reducer must be a reducer name (mean, median, mode, max, pass_at_<k>, at_least_<k>) or a list",
            ),
        ]
        | None
    ) = Field(
        default=None,
        description="Score reducer(s) across epochs (mean, median, mode, max, pass_at_<k>, ...).",
    )


Limit = Annotated[
    Annotated[Annotated[int, Field(ge=0)], Tag("count form")]
    | Annotated[
        tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]],
        Tag("range form"),
    ],
    by_python_type(
        {"count form": (int,), "range form": (list, tuple)},
        "limit",
        "limit must be a number of samples (e.g. 10) or a [start, end] range of sample positions (e.g. [10, 20])",
    ),
]
Epochs = Annotated[
    Annotated[Annotated[int, Field(ge=1)], Tag("count form")] | Annotated[EpochsConfig, Tag("mapping form")],
    by_python_type(
        {"count form": (int,), "mapping form": (Mapping, EpochsConfig)},
        "epochs",
        "epochs must be a whole number (at least 1) or a mapping {epochs: N, reducer: mean}",
    ),
]
Approval = Annotated[
    Annotated[NonEmptyStr, Tag("path form")] | Annotated[ApprovalConfig, Tag("mapping form")],
    by_python_type(
        {"path form": (str,), "mapping form": (Mapping, ApprovalConfig)},
        "approval",
        "approval must be the path of an approval policy file, or a mapping {approvers: [...]}",
    ),
]

# ---------------------------------------------------------------------------------------------------------------------
# The config


class EvalSetConfig(BaseModel):
    """A Hawk eval set: a grid of tasks x solvers/agents x models run with inspect_ai.eval_set.

    Unknown top-level keys are passed to inspect_ai.eval_set unchanged (with a warning when loading).
    """

    model_config = ConfigDict(extra="allow", frozen=True, title="Hawk eval set")

    name: NonEmptyStr | None = Field(
        default=None,
        description="Human name of the eval set; also the prefix of a generated eval_set_id (default 'eval-set').",
    )
    eval_set_id: EvalSetId | None = Field(
        default=None,
        description=(
            "Fixed id (lowercase letters, digits and '-', at most 43 characters). Resubmitting the same id resumes "
            "the eval set; leave out to generate '<name>-<16 random characters>'."
        ),
    )
    packages: list[ExtraPackageSpec] = Field(
        default_factory=list,
        description="Extra pip requirements, git URLs or local paths to install into the run's fresh environment.",
    )
    tasks: Annotated[list[TaskGroup], Field(min_length=1)] = Field(
        description=(
            "Task groups (required): `package` + `name` + `items` for installed packages, `package: inspect-ai` for "
            "builtins, `path` for a local .py file, `cyber` for an Inspect Cyber directory."
        )
    )
    models: Annotated[list[ModelGroup], Field(min_length=1)] | None = Field(
        default=None,
        description="Model groups to run every task against; leave out to use each task's default model.",
    )
    model_roles: dict[NonEmptyStr, ModelGroup] = Field(
        default_factory=dict,
        description="Named model roles (e.g. grader) for every task: role -> a model group with exactly one item.",
    )
    solvers: list[RegistryGroup] = Field(
        default_factory=list, description="Solver groups; each solver is crossed with every task and model."
    )
    agents: list[RegistryGroup] = Field(
        default_factory=list,
        description="Agent groups (run as solvers via as_solver); crossed with every task and model after the solvers.",
    )
    approval: Approval | None = Field(
        default=None,
        description="Tool-call approval: a policy file path (relative to the config) or inline {approvers: [...]}.",
    )
    score: bool = Field(default=True, description="Score samples while running (false: score later).")
    limit: Limit | None = Field(
        default=None,
        description="Run at most this many samples per task, or a [start, end] range of positions.",
    )
    sample_shuffle: SampleShuffle | None = Field(
        default=None,
        description="Shuffle samples before limiting: true, or a whole-number seed for a fixed order.",
    )
    epochs: Epochs | None = Field(
        default=None, description="Times each sample runs (at least 1), or {epochs: N, reducer: mean|[...]}."
    )
    message_limit: PositiveInt | None = Field(default=None, description="Maximum messages per sample.")
    token_limit: PositiveInt | None = Field(default=None, description="Maximum tokens per sample.")
    time_limit: PositiveInt | None = Field(default=None, description="Maximum wall-clock seconds per sample.")
    working_limit: PositiveInt | None = Field(
        default=None,
        description="Maximum working seconds per sample (excludes waiting on rate limits and retries).",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="Metadata stored on every log; eval_set_id and name are added (and win over the same keys here).",
    )
    tags: list[NonEmptyStr] = Field(
        default_factory=list, description="Tags stored on every log, for filtering."
    )
    runner: RunnerConfig = Field(
        default_factory=RunnerConfig, description="Secrets, environment and pod resources for the run."
    )
    secrets: list[SecretRef] = Field(
        default_factory=list,
        description="Write runner.secrets instead; entries here are still required.",
        json_schema_extra={"deprecated": True},
    )
    carried_files: CarriedFilesId | None = Field(default=None, description=CARRIED_FILES_DESCRIPTION)

    @model_validator(mode="before")
    @classmethod
    def _refuse_reserved_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key, message in RESERVED_TOP_LEVEL_KEYS.items():
                if key in data:
                    raise custom_error("reserved_key", message, **{SUBPATH_CONTEXT_KEY: (key,)})
        return data

    @field_validator("limit")
    @classmethod
    def _range_in_order(cls, value: int | tuple[int, int] | None) -> int | tuple[int, int] | None:
        if isinstance(value, tuple) and value[0] >= value[1]:
            raise custom_error(
                "limit_range",
                "a [start, end] limit needs start < end (positions count from 0, end excluded), e.g. [0, 10]",
                found=f"[{value[0]}, {value[1]}]",
            )
        return value

    @field_validator("model_roles")
    @classmethod
    def _one_model_per_role(cls, value: dict[str, ModelGroupModel]) -> dict[str, ModelGroupModel]:
        for role, group in value.items():
            if len(group.items) != 1:
                raise custom_error(
                    "model_role",
                    f"a model role names exactly one model; this group has {len(group.items)} items "
                    "(use one role per model)",
                    **{SUBPATH_CONTEXT_KEY: (role, "items"), "found": f"{len(group.items)} items"},
                )
        return value

    @property
    def extra_keys(self) -> dict[str, Any]:
        """The unknown top-level keys, passed through to ``inspect_ai.eval_set``."""
        return dict(self.model_extra or {})

    def all_secret_names(self) -> list[str]:
        """Every declared secret (runner, tasks, deprecated top level), deduplicated and sorted."""
        names = {secret_name(s) for s in (*self.runner.secrets, *self.secrets)}
        for group in self.tasks:
            for item in group.items or []:
                names.update(secret_name(s) for s in item.secrets)
        return sorted(names)


TOP_LEVEL_KEYS: frozenset[str] = frozenset(EvalSetConfig.model_fields)
"""Keys the config itself understands; any other top-level key is passed through to ``inspect_ai.eval_set``."""
