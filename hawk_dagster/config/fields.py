"""Building blocks of every config model: strict mappings, errors written for researchers, and the field types
eval-set and scan configs share (names, package specs, ids, secrets, sample selections)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hawk_dagster.config.errors import (
    SUBPATH_CONTEXT_KEY,
    describe_value,
    suggest,
)
from hawk_dagster.config.generation import where_generation_setting_goes
from hawk_dagster.config.ids import EVAL_SET_ID_MAX_LENGTH, EVAL_SET_ID_PATTERN, validate_eval_set_id

BUILTIN_PACKAGE = "inspect-ai"
"""The ``package`` value that means "Inspect's own builtins": nothing to install, names used as written."""

_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGISTRY_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_GIT_RE = re.compile(r"^[\w.-]+@[\w.-]+:[\w./-]+$")
_INSPECT_AI_RE = re.compile(r"inspect[-_]ai", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------------------------------
# Building blocks


def custom_error(kind: str, message: str, **context: Any) -> PydanticCustomError:
    """A validation error whose message is already the sentence the researcher reads."""
    return PydanticCustomError(f"hawk_{kind}", message, context or None)


class StrictModel(BaseModel):
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
            raise custom_error(
                "not_mapping", f"must be a mapping{example} (keys allowed here: {', '.join(allowed)})"
            )
        if cls.model_config.get("extra") != "forbid":
            return data
        unknown = [key for key in data if key not in allowed]
        if len(unknown) == 1:
            key = unknown[0]
            elsewhere = where_generation_setting_goes(str(key))
            what = (
                f"unknown key {describe_value(key)} here; {elsewhere}"
                if elsewhere
                else f"unknown key {describe_value(key)}"
            )
            raise custom_error(
                "unknown_key",
                f"{what}{'' if elsewhere else suggest(str(key), allowed)}; allowed keys here: {', '.join(allowed)}",
                **{SUBPATH_CONTEXT_KEY: (key,), "found": describe_value(data[key])},
            )
        if unknown:
            names = ", ".join(describe_value(key) for key in unknown)
            raise custom_error(
                "unknown_key", f"unknown keys {names}; allowed keys here: {', '.join(allowed)}", found=names
            )
        return data


def by_python_type(tags: dict[str, tuple[type, ...]], kind: str, message: str) -> Discriminator:
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
        raise custom_error("blank", "must not be empty or blank")
    return value


def _check_env_name(value: str) -> str:
    if not _ENV_NAME_RE.match(value):
        raise custom_error(
            "env_name",
            "must be an environment variable name: letters, digits and '_', not starting with a digit "
            "(e.g. OPENAI_API_KEY)",
        )
    return value


def _check_registry_name(value: str) -> str:
    if not _REGISTRY_NAME_RE.match(value):
        raise custom_error(
            "registry_name",
            "must be a registry name: letters, digits, '_', '-' or '.', without '/' or spaces (e.g. inspect_evals)",
        )
    return value


def _check_item_name(value: str) -> str:
    _check_non_blank(value)
    if value != value.strip() or any(c.isspace() for c in value):
        raise custom_error("item_name", "must not contain spaces")
    return value


def _check_package_spec(value: str) -> str:
    """Check the form of a pip requirement, git URL or local path, without contacting any index."""
    spec = value.strip()
    if not spec:
        raise custom_error("package_spec", "must not be empty")
    if spec.startswith("-"):
        raise custom_error(
            "package_spec",
            "pip options are not supported here; write a requirement (e.g. openai>=1.40), a git URL "
            "(git+https://github.com/org/repo@ref) or a local path",
        )
    if _SCP_GIT_RE.match(spec):
        raise custom_error(
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
        raise custom_error(
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
        raise custom_error(
            "package_spec", f"{spec!r} is not a complete URL (no host); write e.g. git+https://host/org/repo"
        )
    return spec


def _refuse_inspect_ai(value: str) -> str:
    if _INSPECT_AI_RE.search(value):
        raise custom_error(
            "inspect_ai_package",
            "inspect-ai is installed by the platform, pinned to its version; for Inspect's builtins write "
            "`package: inspect-ai` (without `name`)",
        )
    return value


def _refuse_inspect_ai_in_packages(value: str) -> str:
    if _INSPECT_AI_RE.search(value):
        raise custom_error(
            "inspect_ai_package",
            "inspect-ai is installed by the platform, pinned to its version; remove it from `packages`",
        )
    return value


CARRIED_FILES_ID_PATTERN = "^[0-9a-f]{32}$"
"""A carried-files bundle id: the first 32 hex digits of its manifest's sha256."""


def _check_carried_files_id(value: str) -> str:
    if not re.match(CARRIED_FILES_ID_PATTERN, value):
        raise custom_error(
            "carried_files",
            "is written by `hawk eval-set` / `hawk scan run` (32 lowercase hex digits naming the local files they "
            "uploaded with the config); remove it and submit the config again from its own folder",
        )
    return value


def _check_eval_set_id(value: str) -> str:
    try:
        return validate_eval_set_id(value)
    except ValueError as exc:
        raise custom_error("eval_set_id", str(exc)) from None


NonEmptyStr = Annotated[str, AfterValidator(_check_non_blank)]
CarriedFilesId = Annotated[
    str,
    AfterValidator(_check_carried_files_id),
    WithJsonSchema({"type": "string", "pattern": CARRIED_FILES_ID_PATTERN}),
]
CARRIED_FILES_DESCRIPTION = (
    "Written by `hawk eval-set` / `hawk scan run`, not by hand: the id of the local files (task files, Inspect Cyber "
    "folders, local packages, an approval policy) uploaded with this config to `configs/.carried/` in the storage "
    "root. On the deployment, the config's relative paths resolve inside them."
)
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
# An entry of an eval set's `packages`: inspect-ai is refused there too, with the fix for that place.
ExtraPackageSpec = Annotated[
    str, AfterValidator(_refuse_inspect_ai_in_packages), AfterValidator(_check_package_spec)
]
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
    by_python_type(
        {"str form": (str,), "int form": (int,)},
        "sample_id",
        "each sample id must be a string or a whole number (the dataset's sample ids)",
    ),
]
SampleIds = Annotated[list[SampleId], Field(min_length=1)]
SampleShuffle = Annotated[
    Annotated[bool, Tag("bool form")] | Annotated[int, Tag("seed form")],
    by_python_type(
        {"bool form": (bool,), "seed form": (int,)},
        "sample_shuffle",
        "sample_shuffle must be true/false or a whole-number seed",
    ),
]
PositiveInt = Annotated[int, Field(ge=1)]


# ---------------------------------------------------------------------------------------------------------------------
# Secrets


class SecretConfig(StrictModel):
    """A secret the run needs as an environment variable; its value is passed at submission, never written here."""

    name: EnvVarName = Field(
        description="Environment variable name the value is delivered as (e.g. OPENAI_API_KEY)."
    )
    description: str | None = Field(
        default=None, description="What the secret is for; shown when it is missing at submission."
    )


SecretRef = Annotated[
    Annotated[EnvVarName, Tag("name form")] | Annotated[SecretConfig, Tag("mapping form")],
    by_python_type(
        {"name form": (str,), "mapping form": (Mapping, SecretConfig)},
        "secret",
        "a secret is an environment variable name, or a mapping with `name` and optional `description`",
    ),
]


def secret_name(secret: str | SecretConfig) -> str:
    """The variable name of a secret written either as a plain name or as ``{name, description}``."""
    return secret if isinstance(secret, str) else secret.name


def check_item_prefix(items: list[Any], group_name: str, what: str) -> None:
    """Catch ``name: inspect_evals`` with item ``inspect_evals/mbpp``, which would become a doubled prefix."""
    for index, item in enumerate(items):
        if item.name.startswith(f"{group_name}/"):
            short = item.name[len(group_name) + 1 :]
            raise custom_error(
                "item_prefix",
                f"write just {short!r}: the group's name {group_name!r} is already put in front of each {what}",
                **{SUBPATH_CONTEXT_KEY: ("items", index, "name"), "found": repr(item.name)},
            )
