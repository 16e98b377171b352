"""Model groups (who answers): the ``models:`` and ``model_roles:`` entries of eval-set and scan configs, with Inspect's
generation settings checked and credentials refused."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    Tag,
    ValidationError,
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
from hawk_dagster.config.fields import (
    BUILTIN_PACKAGE,
    GroupPackageSpec,
    ItemName,
    RegistryName,
    StrictModel,
    check_item_prefix,
    custom_error,
)

SECRET_ARG_RE = re.compile(r"(^|_)(api_?key|secret|password|access_token|auth_token)$", re.IGNORECASE)


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
            raise custom_error(
                "generate_config",
                f"unknown generation setting {describe_value(key)}{suggest(str(key), known)}; the settings are those of "
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
        raise custom_error(
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
            if SECRET_ARG_RE.search(key):
                raise _api_key_error(key, subpath=(key,))
        return self


def _api_key_error(key: str, subpath: tuple[str, ...] = ()) -> PydanticCustomError:
    context: dict[str, Any] = {HIDE_INPUT_CONTEXT_KEY: True}
    if subpath:
        context[SUBPATH_CONTEXT_KEY] = subpath
    return custom_error(
        "api_key",
        f"`{key}` is refused: a credential in the config would be stored and logged with the eval; declare it under "
        "runner.secrets and pass the value at submission with `--secret OPENAI_API_KEY` (the provider's variable)",
        **context,
    )


class ModelItem(StrictModel):
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
            raise custom_error(
                "model_name",
                "must be a full model name `provider/model` (e.g. openai/gpt-4o), or put the provider in a group "
                "with `package` and `name`",
                **{SUBPATH_CONTEXT_KEY: ("items", index, "name"), "found": repr(item.name)},
            )


class PackageModelGroup(StrictModel):
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
        check_item_prefix(self.items, self.name, "model")
        return self


class BuiltinModelGroup(StrictModel):
    """Models from providers built into inspect-ai (nothing installed), named in full."""

    package: Literal["inspect-ai"] = Field(description="Always `inspect-ai`.")
    items: Annotated[list[ModelItem], Field(min_length=1)] = Field(
        description="The models, each a full provider/model name (e.g. mockllm/model)."
    )

    @model_validator(mode="after")
    def _full_names(self) -> BuiltinModelGroup:
        _check_full_model_names(self.items)
        return self


class InstalledModelGroup(StrictModel):
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
