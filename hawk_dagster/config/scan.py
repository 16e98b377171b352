"""The scan config: Inspect Scout scanners over the transcripts of earlier eval sets.

Same conventions as the eval-set config (strict mappings, errors that name the field and what is allowed, model
groups and runner settings shared), plus the transcript filter language (``hawk_runner.transcript_filter``), standing
scans (``standing: true``: every later eval set matching a source selector gets scanned) and scheduled re-scans
(``schedule: <cron>``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from hawk_runner.transcript_filter import FilterError, parse_condition
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

from hawk_dagster.config.errors import SUBPATH_CONTEXT_KEY
from hawk_dagster.config.fields import (
    CARRIED_FILES_DESCRIPTION,
    CarriedFilesId,
    EvalSetId,
    GroupPackageSpec,
    ItemName,
    NonEmptyStr,
    PackageSpec,
    PositiveInt,
    RegistryName,
    SampleShuffle,
    SecretRef,
    StrictModel,
    check_item_prefix,
    custom_error,
    secret_name,
)
from hawk_dagster.config.ids import EVAL_SET_ID_MAX_LENGTH, EVAL_SET_ID_PATTERN, validate_scan_id
from hawk_dagster.config.model_groups import ModelGroup
from hawk_dagster.config.runner_settings import RunnerConfig

BUILTIN_SCANNER_PACKAGE = "inspect-scout"
"""``package: inspect-scout`` names Scout's own scanners (``llm_scanner``, ``grep_scanner``)."""

MAX_SOURCES = 50
_SCANNER_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


def _check_condition(value: Any) -> Any:
    try:
        parse_condition(value)
    except FilterError as exc:
        context: dict[str, Any] = {SUBPATH_CONTEXT_KEY: exc.subpath}
        if exc.found is not None:
            context["found"] = exc.found
        raise PydanticCustomError("hawk_filter", exc.message, context) from None
    return value


def _check_scan_id(value: str) -> str:
    try:
        return validate_scan_id(value)
    except ValueError as exc:
        raise custom_error("scan_id", str(exc)) from None


def _check_scanner_key(value: str) -> str:
    if not _SCANNER_KEY_RE.match(value):
        raise custom_error(
            "scanner_key",
            "a scanner key is letters, digits, '_' and '-' (it names the results file)",
            found=value,
        )
    return value


def _check_cron(value: str) -> str:
    # Dagster's own check, so what validates here is what the schedule accepts (5 fields, no seconds).
    from dagster._utils.schedules import is_valid_cron_string

    if not is_valid_cron_string(value):
        raise custom_error(
            "cron",
            "a cron expression of 5 fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * *' (03:00 daily)",
            found=value,
        )
    return value


def _check_pattern(value: str) -> str:
    if not any(ch in value for ch in "*?["):
        raise custom_error(
            "eval_set_id_pattern",
            "a glob pattern such as 'nightly-*' ('*' any text, '?' one character); for one eval set write eval_set_id",
            found=value,
        )
    return value


# Each condition is checked on its own, so every broken one is reported (with its index), not just the first.
Condition = Annotated[
    Any,
    AfterValidator(_check_condition),
    WithJsonSchema(
        {
            "type": "object",
            "minProperties": 1,
            "description": "`field: value`, `field: [a, b]`, `field: null`, "
            "`field: {gt|ge|lt|le|between|like|ilike: ...}`, `not: [...]` or `or: [...]`.",
        }
    ),
]
Where = Annotated[list[Condition], Field(min_length=1)]
ScanId = Annotated[
    str,
    AfterValidator(_check_scan_id),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": EVAL_SET_ID_PATTERN,
            "minLength": 1,
            "maxLength": EVAL_SET_ID_MAX_LENGTH,
        }
    ),
]
ScannerKey = Annotated[
    str,
    AfterValidator(_check_scanner_key),
    WithJsonSchema({"type": "string", "pattern": _SCANNER_KEY_RE.pattern}),
]
Cron = Annotated[str, AfterValidator(_check_cron)]
IdPattern = Annotated[str, AfterValidator(_check_pattern)]


class TranscriptFilterConfig(StrictModel):
    """Which transcripts to scan: conditions, then at most ``limit`` of them (shuffled first if asked)."""

    where: Where | None = Field(default=None, description="Conditions a transcript must meet (ANDed).")
    limit: PositiveInt | None = Field(
        default=None,
        description="Scan at most this many transcripts in all (chosen once, when the scan is submitted).",
    )
    shuffle: SampleShuffle | None = Field(
        default=None, description="Choose the limited transcripts at random: true, or a whole-number seed."
    )

    @model_validator(mode="after")
    def _shuffle_needs_limit(self) -> TranscriptFilterConfig:
        if self.shuffle not in (None, False) and self.limit is None:
            raise custom_error(
                "shuffle", "shuffle chooses which transcripts a limit keeps; set limit too", **{
                    SUBPATH_CONTEXT_KEY: ("shuffle",)}
            )  # fmt: skip
        return self


class TranscriptSource(StrictModel):
    """One eval set by id, or every eval set with a tag or whose id matches a glob pattern."""

    eval_set_id: EvalSetId | None = Field(default=None, description="An eval set, by id.")
    eval_set_tag: NonEmptyStr | None = Field(
        default=None, description="Every eval set whose config has this tag (see `tags:` of eval sets)."
    )
    eval_set_id_pattern: IdPattern | None = Field(
        default=None, description="Every eval set whose id matches this glob pattern, e.g. 'nightly-*'."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> TranscriptSource:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise custom_error(
                "source",
                "a source names exactly one of eval_set_id, eval_set_tag or eval_set_id_pattern",
                found=", ".join(given) or "none of them",
            )
        return self

    @property
    def is_selector(self) -> bool:
        """True for tag and pattern sources: they can match eval sets that land later."""
        return self.eval_set_id is None


class TranscriptsConfig(StrictModel):
    """Where the transcripts come from, and which of them to scan."""

    sources: Annotated[list[TranscriptSource], Field(min_length=1, max_length=MAX_SOURCES)] = Field(
        description="Eval sets to read: `- eval_set_id: ...`, `- eval_set_tag: ...` or `- eval_set_id_pattern: ...`."
    )
    filter: TranscriptFilterConfig | None = Field(
        default=None,
        description="Which transcripts of those eval sets to scan (default: all); a scanner with its own filter "
        "uses that instead.",
    )


class ScannerItem(StrictModel):
    """One scanner, created from its package's registry with these arguments."""

    name: ItemName = Field(
        description="Scanner name inside the package (keyword for hawk_example_scanners/keyword)."
    )
    key: ScannerKey | None = Field(
        default=None,
        description="Unique key for this scanner's results (default: its name); lets one scanner run twice.",
    )
    args: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the scanner function."
    )
    secrets: list[SecretRef] = Field(
        default_factory=list,
        description="Environment variables this scanner needs (values given at submission).",
    )
    filter: TranscriptFilterConfig | None = Field(
        default=None,
        description="This scanner's own transcript filter. It replaces transcripts.filter for this scanner (its "
        "conditions, limit and shuffle): it is applied to every transcript of the scan's sources, not only to those "
        "transcripts.filter keeps; repeat a condition here to keep it.",
    )

    @property
    def result_key(self) -> str:
        return self.key or self.name


class PackageScannerGroup(StrictModel):
    """Scanners from a package installed into the scan's environment."""

    package: GroupPackageSpec = Field(
        description="What to pip-install: a requirement, a git URL or a local path (relative to the config)."
    )
    name: RegistryName = Field(
        description="The package's Inspect registry name (its `inspect_ai` entry point)."
    )
    items: Annotated[list[ScannerItem], Field(min_length=1)] = Field(
        description="The scanners; each becomes `<name>/<item name>`."
    )

    @model_validator(mode="after")
    def _no_doubled_prefix(self) -> PackageScannerGroup:
        check_item_prefix(self.items, self.name, "scanner")
        return self


class BuiltinScannerGroup(StrictModel):
    """Scanners built into Inspect Scout: llm_scanner (an LLM judge) and grep_scanner (patterns)."""

    package: Literal["inspect-scout"] = Field(description="Always `inspect-scout`.")
    items: Annotated[list[ScannerItem], Field(min_length=1)] = Field(
        description="The builtin scanners, by name."
    )


def _scanner_group_tag(value: Any) -> str | None:
    if isinstance(value, PackageScannerGroup):
        return "package group"
    if isinstance(value, BuiltinScannerGroup):
        return "builtin group"
    if not isinstance(value, Mapping):
        return None
    return "builtin group" if value.get("package") == BUILTIN_SCANNER_PACKAGE else "package group"


ScannerGroup = Annotated[
    Annotated[PackageScannerGroup, Tag("package group")]
    | Annotated[BuiltinScannerGroup, Tag("builtin group")],
    Discriminator(
        _scanner_group_tag,
        custom_error_type="hawk_scanner_group",
        custom_error_message=(
            "a scanner group is a mapping: `package` + `name` + `items`, or `package: inspect-scout` + `items`"
        ),
    ),
]


def scanner_registry_name(group: PackageScannerGroup | BuiltinScannerGroup, item: ScannerItem) -> str:
    """``<package name>/<item>``; Scout's builtins are registered as ``inspect_scout/<item>``."""
    if isinstance(group, PackageScannerGroup):
        return f"{group.name}/{item.name}"
    return f"inspect_scout/{item.name}"


class ScanConfig(BaseModel):
    """A Hawk scan: Inspect Scout scanners run over the transcripts of earlier eval sets."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Hawk scan")

    name: NonEmptyStr | None = Field(
        default=None,
        description="Human name of the scan; also the prefix of a generated scan_id (default 'scan').",
    )
    scan_id: ScanId | None = Field(
        default=None,
        description="Fixed id (lowercase letters, digits and '-', at most 43 characters); resubmitting it re-runs "
        "only what is missing or failed. Leave out to generate '<name>-<16 random characters>'.",
    )
    scanners: Annotated[list[ScannerGroup], Field(min_length=1)] = Field(
        description="Scanner groups (required): `package` + `name` + `items`, or `package: inspect-scout` + `items`."
    )
    transcripts: TranscriptsConfig = Field(description="Which eval sets' transcripts to scan (required).")
    models: Annotated[list[ModelGroup], Field(min_length=1)] | None = Field(
        default=None, description="Models for LLM scanners; with several, the scan runs once per model."
    )
    model_roles: dict[NonEmptyStr, ModelGroup] = Field(
        default_factory=dict,
        description="Named model roles for scanners that ask for one: role -> one model.",
    )
    packages: list[PackageSpec] = Field(
        default_factory=list,
        description="Extra pip requirements to install into the scan's fresh environment.",
    )
    max_transcripts: PositiveInt | None = Field(
        default=None, description="Transcripts scanned concurrently (Scout's default: 25)."
    )
    max_processes: PositiveInt | None = Field(
        default=None,
        description="Worker processes (default 1: each extra process re-imports Inspect, which rarely pays off).",
    )
    standing: bool = Field(
        default=False,
        description="Also scan every eval set that lands later and matches an eval_set_tag / eval_set_id_pattern "
        "source, without anyone acting.",
    )
    schedule: Cron | None = Field(
        default=None,
        description="Re-run the scan on this cron schedule (UTC), e.g. '0 3 * * *'; each run scans what is new.",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Metadata stored with the scan's results."
    )
    tags: list[NonEmptyStr] = Field(default_factory=list, description="Tags stored with the scan's results.")
    runner: RunnerConfig = Field(
        default_factory=RunnerConfig, description="Secrets, environment and pod resources for the scan."
    )
    carried_files: CarriedFilesId | None = Field(default=None, description=CARRIED_FILES_DESCRIPTION)

    @model_validator(mode="after")
    def _check_scan(self) -> ScanConfig:
        seen: dict[str, tuple[int, int]] = {}
        for g, group in enumerate(self.scanners):
            for i, item in enumerate(group.items):
                key = item.result_key
                if key in seen:
                    first = seen[key]
                    raise custom_error(
                        "duplicate_key",
                        f"scanner key {key!r} is already used by scanners[{first[0]}].items[{first[1]}]; give one "
                        "of them a distinct `key`",
                        **{SUBPATH_CONTEXT_KEY: ("scanners", g, "items", i, "key" if item.key else "name")},
                    )
                seen[key] = (g, i)
        if self.standing and not any(source.is_selector for source in self.transcripts.sources):
            raise custom_error(
                "standing",
                "a standing scan needs a source that can match eval sets landing later: eval_set_tag or "
                "eval_set_id_pattern",
                **{SUBPATH_CONTEXT_KEY: ("standing",)},
            )
        for role, role_group in self.model_roles.items():
            if len(role_group.items) != 1:
                raise custom_error(
                    "model_role",
                    f"a model role names exactly one model; this group has {len(role_group.items)} items",
                    **{SUBPATH_CONTEXT_KEY: ("model_roles", role, "items")},
                )
        return self

    def scanner_items(self) -> list[tuple[PackageScannerGroup | BuiltinScannerGroup, ScannerItem]]:
        return [(group, item) for group in self.scanners for item in group.items]

    def all_secret_names(self) -> list[str]:
        names = {secret_name(s) for s in self.runner.secrets}
        for _, item in self.scanner_items():
            names.update(secret_name(s) for s in item.secrets)
        return sorted(names)
