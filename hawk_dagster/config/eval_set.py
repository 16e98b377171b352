"""The eval-set YAML as pydantic models: what a researcher may write, and what each key means.

The models are the single source of truth: validation, the published JSON Schema (``hawk schema eval-set``) and the
README's config reference are all generated from them, so field descriptions are written for researchers.

Keys inside groups and items are strict (a typo there would silently do nothing); unknown top-level keys are kept
and passed to ``inspect_ai.eval_set`` (the loader warns about them). Everything here is static: no package is
installed and no task is imported.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    Tag,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from hawk_dagster.config.errors import (
    HIDE_INPUT_CONTEXT_KEY,
    SUBPATH_CONTEXT_KEY,
    allowed_sentence,
    describe_value,
    normalize_loc,
    suggest,
)
from hawk_dagster.config.ids import EVAL_SET_ID_MAX_LENGTH, EVAL_SET_ID_PATTERN, validate_eval_set_id

BUILTIN_PACKAGE = "inspect-ai"
"""The ``package`` value that means "Inspect's own builtins": nothing to install, names used as written."""

_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGISTRY_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_GIT_RE = re.compile(r"^[\w.-]+@[\w.-]+:[\w./-]+$")
_INSPECT_AI_RE = re.compile(r"inspect[-_]ai", re.IGNORECASE)
_SECRET_ARG_RE = re.compile(r"(^|_)(api_?key|secret|password|access_token|auth_token)$", re.IGNORECASE)
# Kubernetes resource quantities (apimachinery's grammar, without the sign).
_QUANTITY_RE = re.compile(r"^(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_CPU_RE = re.compile(r"^(\d+(\.\d*)?|\.\d+)m?$")
_IMAGE_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_UNIT_HINTS = {
    "kb": "Ki",
    "kib": "Ki",
    "mb": "Mi",
    "mib": "Mi",
    "gb": "Gi",
    "gib": "Gi",
    "tb": "Ti",
    "tib": "Ti",
    "pb": "Pi",
    "pib": "Pi",
    "ki": "Ki",
    "mi": "Mi",
    "gi": "Gi",
    "ti": "Ti",
    "g": "Gi",
    "t": "Ti",
}

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
# Building blocks


def _custom(kind: str, message: str, **context: Any) -> PydanticCustomError:
    """A validation error whose message is already the sentence the researcher reads."""
    return PydanticCustomError(f"hawk_{kind}", message, context or None)


class _Strict(BaseModel):
    """Base for every mapping inside a config: unknown keys are errors that list the keys allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, data: Any) -> Any:
        if isinstance(data, BaseModel):
            return data
        allowed = [field.alias or name for name, field in cls.model_fields.items()]
        if not isinstance(data, Mapping):
            example = f" such as `- name: {data}`" if isinstance(data, str) and "name" in allowed else ""
            raise _custom(
                "not_mapping", f"must be a mapping{example} (keys allowed here: {', '.join(allowed)})"
            )
        if cls.model_config.get("extra") != "forbid":
            return data
        unknown = [key for key in data if key not in allowed]
        if len(unknown) == 1:
            key = unknown[0]
            raise _custom(
                "unknown_key",
                f"unknown key {key!r}{suggest(str(key), allowed)}; allowed keys here: {', '.join(allowed)}",
                **{SUBPATH_CONTEXT_KEY: (key,), "found": describe_value(data[key])},
            )
        if unknown:
            names = ", ".join(repr(key) for key in unknown)
            raise _custom(
                "unknown_key", f"unknown keys {names}; allowed keys here: {', '.join(allowed)}", found=names
            )
        return data


def _by_python_type(tags: dict[str, tuple[type, ...]], kind: str, message: str) -> Discriminator:
    """Pick a union member by the input's Python type, so a wrong value gets one clear error, not one per member."""

    def pick(value: Any) -> str | None:
        for tag, types in tags.items():
            if isinstance(value, bool) and bool not in types:
                continue
            if isinstance(value, types):
                return tag
        return None

    return Discriminator(pick, custom_error_type=f"hawk_{kind}", custom_error_message=message)


def _check_non_blank(value: str) -> str:
    if not value.strip():
        raise _custom("blank", "must not be empty or blank")
    return value


def _check_env_name(value: str) -> str:
    if not _ENV_NAME_RE.match(value):
        raise _custom(
            "env_name",
            "must be an environment variable name: letters, digits and '_', not starting with a digit "
            "(e.g. OPENAI_API_KEY)",
        )
    return value


def _check_registry_name(value: str) -> str:
    if not _REGISTRY_NAME_RE.match(value):
        raise _custom(
            "registry_name",
            "must be a registry name: letters, digits, '_', '-' or '.', without '/' or spaces (e.g. inspect_evals)",
        )
    return value


def _check_item_name(value: str) -> str:
    _check_non_blank(value)
    if value != value.strip() or any(c.isspace() for c in value):
        raise _custom("item_name", "must not contain spaces")
    return value


def _check_package_spec(value: str) -> str:
    """Check the form of a pip requirement, git URL or local path, without contacting any index."""
    spec = value.strip()
    if not spec:
        raise _custom("package_spec", "must not be empty")
    if spec.startswith("-"):
        raise _custom(
            "package_spec",
            "pip options are not supported here; write a requirement (e.g. openai>=1.40), a git URL "
            "(git+https://github.com/org/repo@ref) or a local path",
        )
    if _SCP_GIT_RE.match(spec):
        raise _custom(
            "package_spec",
            f"pip cannot install scp-style git addresses; write git+ssh://{spec.replace(':', '/', 1)}",
        )
    if _URL_RE.match(spec):
        return _check_url(spec, spec)
    if spec.startswith((".", "/", "~")):
        return spec
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise _custom(
            "package_spec",
            f"is not a valid pip requirement ({reason}); write e.g. openai>=1.40, "
            "pkg[extra] @ git+https://github.com/org/repo@ref, or git+https://github.com/org/repo",
        ) from None
    if requirement.url:
        _check_url(requirement.url, spec)
    return spec


def _check_url(url: str, spec: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url.split("+", 1)[1] if re.match(r"^(git|hg|svn|bzr)\+", url) else url)
    if parts.scheme not in {"file"} and not parts.netloc:
        raise _custom(
            "package_spec", f"{spec!r} is not a complete URL (no host); write e.g. git+https://host/org/repo"
        )
    return spec


def _refuse_inspect_ai(value: str) -> str:
    if _INSPECT_AI_RE.search(value):
        raise _custom(
            "inspect_ai_package",
            "inspect-ai is installed by the platform, pinned to its version; for Inspect's builtins write "
            "`package: inspect-ai` (without `name`)",
        )
    return value


def _refuse_inspect_ai_in_packages(value: str) -> str:
    if _INSPECT_AI_RE.search(value):
        raise _custom(
            "inspect_ai_package",
            "inspect-ai is installed by the platform, pinned to its version; remove it from `packages`",
        )
    return value


def _quantity_text(value: Any) -> str:
    """Accept ``cpu: 2`` as well as ``cpu: "2"``; booleans and structures are mistakes."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _custom("quantity", "must be a Kubernetes quantity written as text or a number, e.g. 16Gi or 2")
    return str(value).strip()


def _check_memory(value: str) -> str:
    match = _QUANTITY_RE.match(value)
    if not match:
        written = re.match(r"^(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]+)$", value)
        if written and written.group(2).lower() in _UNIT_HINTS:
            unit = _UNIT_HINTS[written.group(2).lower()]
            raise _custom(
                "quantity",
                f"memory must be a Kubernetes quantity: use {unit!r} not {written.group(2)!r} "
                f"(e.g. '{written.group(1)}{unit}')",
            )
        raise _custom("quantity", "memory must be a Kubernetes quantity such as 16Gi, 512Mi or 4G")
    if float(match.group(1)) <= 0:
        raise _custom("quantity", "memory must be greater than zero")
    if match.group(3) == "m":
        raise _custom(
            "quantity",
            f"memory {value!r} means {match.group(1)} thousandths of a byte ('m' is milli); "
            f"use 'Mi' (e.g. '{match.group(1)}Mi')",
        )
    return value


def _check_cpu(value: str) -> str:
    if not _CPU_RE.match(value):
        raise _custom("cpu", "cpu must be a number of CPUs such as 2, 0.5 or 500m (milli-CPUs)")
    if float(value.removesuffix("m")) <= 0:
        raise _custom("cpu", "cpu must be greater than zero")
    return value


def _check_image_tag(value: str) -> str:
    if not _IMAGE_TAG_RE.match(value):
        raise _custom(
            "image_tag",
            "must be a container image tag: letters, digits, '_', '.' and '-', at most 128 characters",
        )
    return value


def _check_eval_set_id(value: str) -> str:
    try:
        return validate_eval_set_id(value)
    except ValueError as exc:
        raise _custom("eval_set_id", str(exc)) from None


NonEmptyStr = Annotated[str, AfterValidator(_check_non_blank)]
ItemName = Annotated[str, AfterValidator(_check_item_name)]
EnvVarName = Annotated[
    str,
    AfterValidator(_check_env_name),
    WithJsonSchema({"type": "string", "pattern": _ENV_NAME_RE.pattern}),
]
RegistryName = Annotated[
    str,
    AfterValidator(_check_registry_name),
    WithJsonSchema({"type": "string", "pattern": _REGISTRY_NAME_RE.pattern}),
]
PackageSpec = Annotated[str, AfterValidator(_check_package_spec)]
# A group's `package`: inspect-ai is refused first, since that is the more useful message.
GroupPackageSpec = Annotated[str, AfterValidator(_refuse_inspect_ai), AfterValidator(_check_package_spec)]
EvalSetId = Annotated[
    str,
    AfterValidator(_check_eval_set_id),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": EVAL_SET_ID_PATTERN,
            "minLength": 1,
            "maxLength": EVAL_SET_ID_MAX_LENGTH,
        }
    ),
]
SampleId = Annotated[
    Annotated[str, Tag("str form")] | Annotated[int, Tag("int form")],
    _by_python_type(
        {"str form": (str,), "int form": (int,)},
        "sample_id",
        "each sample id must be a string or a whole number (the dataset's sample ids)",
    ),
]
SampleIds = Annotated[list[SampleId], Field(min_length=1)]
Quantity = Annotated[
    str,
    BeforeValidator(_quantity_text),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number", "exclusiveMinimum": 0}]}),
]


# ---------------------------------------------------------------------------------------------------------------------
# Secrets


class SecretConfig(_Strict):
    """A secret the run needs as an environment variable; its value is passed at submission, never written here."""

    name: EnvVarName = Field(
        description="Environment variable name the value is delivered as (e.g. OPENAI_API_KEY)."
    )
    description: str | None = Field(
        default=None, description="What the secret is for; shown when it is missing at submission."
    )


SecretRef = Annotated[
    Annotated[EnvVarName, Tag("name form")] | Annotated[SecretConfig, Tag("mapping form")],
    _by_python_type(
        {"name form": (str,), "mapping form": (Mapping, SecretConfig)},
        "secret",
        "a secret is an environment variable name, or a mapping with `name` and optional `description`",
    ),
]


def secret_name(secret: str | SecretConfig) -> str:
    """The variable name of a secret written either as a plain name or as ``{name, description}``."""
    return secret if isinstance(secret, str) else secret.name


# ---------------------------------------------------------------------------------------------------------------------
# Tasks


class TaskItem(_Strict):
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


class CyberTaskItem(_Strict):
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


def _check_item_prefix(items: list[Any], group_name: str, what: str) -> None:
    """Catch ``name: inspect_evals`` with item ``inspect_evals/mbpp``, which would become a doubled prefix."""
    for index, item in enumerate(items):
        if item.name.startswith(f"{group_name}/"):
            short = item.name[len(group_name) + 1 :]
            raise _custom(
                "item_prefix",
                f"write just {short!r}: the group's name {group_name!r} is already put in front of each {what}",
                **{SUBPATH_CONTEXT_KEY: ("items", index, "name"), "found": repr(item.name)},
            )


class PackageTaskGroup(_Strict):
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
        _check_item_prefix(self.items, self.name, "task")
        return self


class BuiltinTaskGroup(_Strict):
    """Tasks that ship with inspect-ai itself (nothing to install)."""

    package: Literal["inspect-ai"] = Field(
        description="Always `inspect-ai`: the tasks are Inspect's builtins."
    )
    items: Annotated[list[TaskItem], Field(min_length=1)] = Field(
        description="The builtin tasks to run, by registry name."
    )


class FileTaskGroup(_Strict):
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
            raise _custom(
                "task_path", "must be the path of a Python file ending in .py (e.g. tasks/arith.py)"
            )
        return value


class CyberTaskGroup(_Strict):
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
# Models


@functools.cache
def strict_generate_config() -> type[BaseModel]:
    """Inspect's ``GenerateConfig`` with unknown keys refused (imported lazily: inspect_ai takes seconds)."""
    from inspect_ai.model import GenerateConfig

    return type(
        "GenerateConfig",
        (GenerateConfig,),
        {
            "model_config": ConfigDict(extra="forbid"),
            "__module__": __name__,
            "__doc__": "Inspect generation settings (inspect_ai.model.GenerateConfig); unknown keys are refused.",
        },
    )


def _check_generate_config(value: dict[str, Any]) -> dict[str, Any]:
    if not value:
        return value
    model = strict_generate_config()
    known = [field.alias or name for name, field in model.model_fields.items()]
    for key in value:
        if key not in known:
            raise _custom(
                "generate_config",
                f"unknown generation setting {key!r}{suggest(str(key), known)}; the settings are those of "
                "inspect_ai.model.GenerateConfig (temperature, max_tokens, reasoning_effort, ...); provider-specific "
                "options go in extra_body",
                **{SUBPATH_CONTEXT_KEY: (key,), "found": describe_value(value[key])},
            )
    try:
        model.model_validate(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        subpath = normalize_loc(tuple(first["loc"]), value)
        more = (
            f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''} in config)"
            if errors[1:]
            else ""
        )
        raise _custom(
            "generate_config",
            f"invalid generation setting: {allowed_sentence(first, subpath)}{more}",
            **{SUBPATH_CONTEXT_KEY: subpath, "found": describe_value(first.get("input"))},
        ) from None
    return value


class _GenerateConfigJsonSchema:
    """Publishes Inspect's GenerateConfig in the JSON Schema, so editors complete temperature, max_tokens, ..."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        model = strict_generate_config()
        reference = handler(model.__pydantic_core_schema__)
        resolved = handler.resolve_ref_schema(reference)
        for name, description in _attribute_docstrings(model.__mro__[1]).items():
            prop = resolved.get("properties", {}).get(name)
            if prop is not None and "description" not in prop:
                prop["description"] = description
        return reference


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """Inspect documents GenerateConfig's fields with docstrings under each attribute; read them for the schema."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for current, following in itertools.pairwise(body):
        if (
            isinstance(current, ast.AnnAssign)
            and isinstance(current.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[current.target.id] = " ".join(inspect.cleandoc(following.value.value).split())
    return docs


GenerateConfigDict = Annotated[
    dict[str, Any], AfterValidator(_check_generate_config), _GenerateConfigJsonSchema
]


class ModelArgs(BaseModel):
    """Arguments for Inspect's ``get_model``; keys not listed here go to the provider as model arguments."""

    model_config = ConfigDict(extra="allow", frozen=True)

    role: str | None = Field(
        default=None, description="Model role this model plays (Inspect `get_model(role=...)`)."
    )
    default: str | None = Field(
        default=None, description="Fallback model name (Inspect `get_model(default=...)`)."
    )
    config: GenerateConfigDict = Field(
        default_factory=dict,
        description="Generation settings (Inspect GenerateConfig: temperature, max_tokens, reasoning_effort, ...).",
    )
    base_url: str | None = Field(default=None, description="Alternative API base URL for the provider.")
    memoize: bool = Field(
        default=True, description="Reuse one model instance for identical arguments (Inspect)."
    )
    api_key: None = Field(
        default=None,
        description=(
            "Not allowed: a key here would be stored and logged with the eval. Declare it under runner.secrets and "
            "pass the value with `--secret OPENAI_API_KEY`."
        ),
    )

    @field_validator("api_key", mode="before")
    @classmethod
    def _refuse_api_key(cls, value: Any) -> None:
        if value is not None:
            raise _api_key_error("api_key")
        return None

    @model_validator(mode="after")
    def _refuse_secret_like_extras(self) -> ModelArgs:
        for key in self.model_extra or {}:
            if _SECRET_ARG_RE.search(key):
                raise _api_key_error(key, subpath=(key,))
        return self


def _api_key_error(key: str, subpath: tuple[str, ...] = ()) -> PydanticCustomError:
    context: dict[str, Any] = {HIDE_INPUT_CONTEXT_KEY: True}
    if subpath:
        context[SUBPATH_CONTEXT_KEY] = subpath
    return _custom(
        "api_key",
        f"`{key}` is refused: a credential in the config would be stored and logged with the eval; declare it under "
        "runner.secrets and pass the value at submission with `--secret OPENAI_API_KEY` (the provider's variable)",
        **context,
    )


class ModelItem(_Strict):
    """One model of a group."""

    name: ItemName = Field(
        description=(
            "Model name. In a group with `name` it follows the provider (gpt-4o in openai/gpt-4o); otherwise the "
            "full provider/model name (mockllm/model)."
        )
    )
    args: ModelArgs | None = Field(
        default=None,
        description="get_model arguments: role, default, config, base_url, memoize, provider args.",
    )


def _check_full_model_names(items: list[ModelItem]) -> None:
    for index, item in enumerate(items):
        if "/" not in item.name.strip("/"):
            raise _custom(
                "model_name",
                "must be a full model name `provider/model` (e.g. openai/gpt-4o), or put the provider in a group "
                "with `package` and `name`",
                **{SUBPATH_CONTEXT_KEY: ("items", index, "name"), "found": repr(item.name)},
            )


class PackageModelGroup(_Strict):
    """Models from a provider package installed into the run's environment (e.g. `package: openai`)."""

    package: GroupPackageSpec = Field(
        description="What to pip-install for this provider: a requirement (openai>=1.40), git URL or local path."
    )
    name: RegistryName = Field(
        description="Provider name placed before each item (openai gives openai/<item>); a registry name."
    )
    items: Annotated[list[ModelItem], Field(min_length=1)] = Field(
        description="The models; each becomes `<name>/<item name>`."
    )

    @model_validator(mode="after")
    def _no_doubled_prefix(self) -> PackageModelGroup:
        _check_item_prefix(self.items, self.name, "model")
        return self


class BuiltinModelGroup(_Strict):
    """Models from providers built into inspect-ai (nothing installed), named in full."""

    package: Literal["inspect-ai"] = Field(description="Always `inspect-ai`.")
    items: Annotated[list[ModelItem], Field(min_length=1)] = Field(
        description="The models, each a full provider/model name (e.g. mockllm/model)."
    )

    @model_validator(mode="after")
    def _full_names(self) -> BuiltinModelGroup:
        _check_full_model_names(self.items)
        return self


class InstalledModelGroup(_Strict):
    """Models whose provider is already available in the run's environment, named in full (no `package`)."""

    items: Annotated[list[ModelItem], Field(min_length=1)] = Field(
        description="The models, each a full provider/model name (e.g. mockllm/model or hawk-mock/model-a)."
    )

    @model_validator(mode="after")
    def _full_names(self) -> InstalledModelGroup:
        _check_full_model_names(self.items)
        return self


ModelGroupModel = PackageModelGroup | BuiltinModelGroup | InstalledModelGroup

_MODEL_GROUP_TAGS: dict[type[BaseModel], str] = {
    PackageModelGroup: "package group",
    BuiltinModelGroup: "builtin group",
    InstalledModelGroup: "installed group",
}


def _model_group_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return _MODEL_GROUP_TAGS.get(type(value))
    if not isinstance(value, Mapping):
        return None
    if "package" in value:
        return "builtin group" if value["package"] == BUILTIN_PACKAGE else "package group"
    # A `name` without `package` is a package group missing its package: say that, not "unknown key name".
    return "package group" if "name" in value else "installed group"


ModelGroup = Annotated[
    Annotated[PackageModelGroup, Tag("package group")]
    | Annotated[BuiltinModelGroup, Tag("builtin group")]
    | Annotated[InstalledModelGroup, Tag("installed group")],
    Discriminator(
        _model_group_tag,
        custom_error_type="hawk_model_group",
        custom_error_message=(
            "a model group is a mapping: `package` + `name` + `items` (e.g. package: openai, name: openai, items: "
            "[{name: gpt-4o}]), `package: inspect-ai` + `items`, or just `items` with full provider/model names"
        ),
    ),
]


def model_name(group: ModelGroupModel, item: ModelItem) -> str:
    """The name handed to Inspect's ``get_model``: ``<group name>/<item>`` for package groups, else the item."""
    if isinstance(group, PackageModelGroup):
        return f"{group.name}/{item.name}"
    return item.name


# ---------------------------------------------------------------------------------------------------------------------
# Solvers and agents


class RegistryItem(_Strict):
    """One solver or agent, created through Inspect's registry with these arguments."""

    name: ItemName = Field(description="Registry name inside the package (react for metr_agents/react).")
    args: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the solver/agent function."
    )


class PackageRegistryGroup(_Strict):
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
        _check_item_prefix(self.items, self.name, "item")
        return self


class BuiltinRegistryGroup(_Strict):
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
    group: PackageRegistryGroup | BuiltinRegistryGroup | PackageTaskGroup | BuiltinTaskGroup, item: Any
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
        _by_python_type(
            {"str form": (str,), "list form": (list, tuple)},
            "approver_tools",
            "tools must be a tool name or glob (e.g. '*' or 'bash'), or a list of them",
        ),
    ] = Field(
        description="Tool names or glob patterns this approver decides on (e.g. [bash, 'web_*'] or '*')."
    )


class ApprovalConfig(_Strict):
    """An inline Inspect approval policy (the same shape as an approval YAML file)."""

    approvers: Annotated[list[ApproverConfig], Field(min_length=1)] = Field(
        description="Approvers, tried in order for each tool call."
    )


class EpochsConfig(_Strict):
    """Epochs with a custom score reducer."""

    epochs: int = Field(ge=1, description="How many times each sample runs (at least 1).")
    reducer: (
        Annotated[
            Annotated[NonEmptyStr, Tag("str form")]
            | Annotated[Annotated[list[NonEmptyStr], Field(min_length=1)], Tag("list form")],
            _by_python_type(
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


class RunnerConfig(_Strict):
    """How and where the run executes: secrets, plain environment, and pod resources on Kubernetes."""

    secrets: list[SecretRef] = Field(
        default_factory=list,
        description=(
            "Environment variables the run needs (values passed with --secret/--secrets-file at submission); the run "
            "refuses to start when one is missing."
        ),
    )
    environment: dict[EnvVarName, str] = Field(
        default_factory=dict,
        description="Plain, non-secret environment variables for the run (stored with the config; quote numbers).",
    )
    image_tag: Annotated[str, AfterValidator(_check_image_tag)] | None = Field(
        default=None, description="Runner image tag to use on Kubernetes instead of the deployment's default."
    )
    cpu: Annotated[Quantity, AfterValidator(_check_cpu)] | None = Field(
        default=None, description="CPU request for the run's pod, e.g. 2, 0.5 or 500m."
    )
    memory: Annotated[Quantity, AfterValidator(_check_memory)] | None = Field(
        default=None,
        description="Memory request for the run's pod as a Kubernetes quantity, e.g. 16Gi or 512Mi.",
    )


Limit = Annotated[
    Annotated[Annotated[int, Field(ge=0)], Tag("count form")]
    | Annotated[
        tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]],
        Tag("range form"),
    ],
    _by_python_type(
        {"count form": (int,), "range form": (list, tuple)},
        "limit",
        "limit must be a number of samples (e.g. 10) or a [start, end] range of sample positions (e.g. [10, 20])",
    ),
]
SampleShuffle = Annotated[
    Annotated[bool, Tag("bool form")] | Annotated[int, Tag("seed form")],
    _by_python_type(
        {"bool form": (bool,), "seed form": (int,)},
        "sample_shuffle",
        "sample_shuffle must be true/false or a whole-number seed",
    ),
]
Epochs = Annotated[
    Annotated[Annotated[int, Field(ge=1)], Tag("count form")] | Annotated[EpochsConfig, Tag("mapping form")],
    _by_python_type(
        {"count form": (int,), "mapping form": (Mapping, EpochsConfig)},
        "epochs",
        "epochs must be a whole number (at least 1) or a mapping {epochs: N, reducer: mean}",
    ),
]
Approval = Annotated[
    Annotated[NonEmptyStr, Tag("path form")] | Annotated[ApprovalConfig, Tag("mapping form")],
    _by_python_type(
        {"path form": (str,), "mapping form": (Mapping, ApprovalConfig)},
        "approval",
        "approval must be the path of an approval policy file, or a mapping {approvers: [...]}",
    ),
]
PositiveInt = Annotated[int, Field(ge=1)]


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
    packages: list[
        Annotated[str, AfterValidator(_refuse_inspect_ai_in_packages), AfterValidator(_check_package_spec)]
    ] = Field(
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

    @model_validator(mode="before")
    @classmethod
    def _refuse_reserved_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key, message in RESERVED_TOP_LEVEL_KEYS.items():
                if key in data:
                    raise _custom("reserved_key", message, **{SUBPATH_CONTEXT_KEY: (key,)})
        return data

    @field_validator("limit")
    @classmethod
    def _range_in_order(cls, value: int | tuple[int, int] | None) -> int | tuple[int, int] | None:
        if isinstance(value, tuple) and value[0] >= value[1]:
            raise _custom(
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
                raise _custom(
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
