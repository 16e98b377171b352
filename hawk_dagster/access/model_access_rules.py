"""The model-groups file: which access group each model belongs to (``model-groups.yaml`` in the storage root).

Not ``hawk_dagster.config.model_groups`` (the config's ``models:`` entries); these are *access* groups::

    default_group: restricted        # optional; models no pattern matches (else HAWK_DEFAULT_MODEL_GROUP)
    groups:
      frontier: ["openai/gpt-5*", "anthropic/claude-opus-*"]
      partner: ["partnerlab/*"]

Patterns are shell-style globs (``*``, ``?``, ``[...]``) over the full model name ``provider/model``, matched without
regard to case (so ``OpenAI/GPT-5`` cannot slip past ``openai/gpt-5*``). A model matching patterns of several
groups is in all of them and requires all of them: each group's owners restricted it, and holding one of them must not
open what another closed. A model matching none is in the default group (never an open one: see
``access.settings.OPEN_GROUP_NAMES``). No file at all means every model is in the default group.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hawk_dagster.access.settings import (
    GROUP_NAME_ALLOWED,
    GROUP_NAME_RE,
    AccessSettings,
    AccessSettingsError,
    check_default_group,
)
from hawk_dagster.config.errors import ConfigError, ConfigIssue
from hawk_dagster.config.yaml_source import (
    ParsedYaml,
    YamlReadError,
    YamlSourceError,
    parse_yaml,
    read_yaml_file,
)
from hawk_dagster.storage.root import StorageRoot

logger = logging.getLogger(__name__)

MAX_PATTERN_LENGTH = 200
MAX_PATTERNS = 10_000
TOP_LEVEL_KEYS = ("groups", "default_group")


@dataclass(frozen=True)
class ModelAccessRules:
    """Group name -> model-name patterns, plus the group of unmatched models."""

    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default_group: str = "restricted"
    source: str = ""
    present: bool = True
    """False when no file was found (every model then falls in the default group)."""

    def groups_of_model(self, model: str) -> frozenset[str]:
        """The groups ``model`` belongs to: every group with a matching pattern, else the default group."""
        name = model.strip().lower()
        found = frozenset(
            group
            for group, patterns in self.groups.items()
            if any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in patterns)
        )
        return found or frozenset({self.default_group})

    def groups_of_models(self, models: Iterable[str]) -> frozenset[str]:
        """Every group of every model; no model at all requires the default group (never "open to all")."""
        found: set[str] = set()
        for model in models:
            found |= self.groups_of_model(model)
        return frozenset(found) or frozenset({self.default_group})

    @property
    def fingerprint(self) -> str:
        """sha256 of the rules' content (not the file's bytes: a reformatted file changes nothing)."""
        canonical = json.dumps(
            {
                "groups": {g: list(p) for g, p in sorted(self.groups.items())},
                "default_group": self.default_group,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def rules_from_text(text: str, *, source: str, settings: AccessSettings) -> ModelAccessRules:
    """Parse and validate a model-groups file's text; ``ConfigError`` lists every problem, naming the field."""
    try:
        parsed = parse_yaml(text, file=source)
    except YamlSourceError as exc:
        raise ConfigError(source, exc.issues) from None
    return _validate(parsed, source=source, settings=settings)


def load_rules(location: str, settings: AccessSettings) -> ModelAccessRules:
    """The rules in the file at ``location`` (local path or URI); a missing file gives the default group only."""
    path: Any
    if "://" in location and not location.startswith("file://"):
        from upath import UPath

        path = UPath(location)
    else:
        path = Path(location.removeprefix("file://"))
    try:
        text = read_yaml_file(path, file=location)
    except YamlReadError as exc:
        if exc.missing:
            logger.info(
                "no model-groups file at %s: every model is in group %r", location, settings.default_group
            )
            return ModelAccessRules(default_group=settings.default_group, source=location, present=False)
        raise ConfigError(location, exc.issues) from None
    return rules_from_text(text, source=location, settings=settings)


def load_rules_for(storage: StorageRoot, settings: AccessSettings) -> ModelAccessRules:
    """The rules that apply to ``storage``: the settings' file, else ``<root>/model-groups.yaml``."""
    return load_rules(settings.groups_file_location(storage), settings)


def _validate(parsed: ParsedYaml, *, source: str, settings: AccessSettings) -> ModelAccessRules:
    issues: list[ConfigIssue] = []

    def issue(path: tuple[str | int, ...], found: str, allowed: str) -> None:
        where = parsed.locate(path)
        issues.append(
            ConfigIssue(
                file=source,
                path=".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "["),
                found=found,
                allowed=allowed,
                line=where[0] if where else None,
                column=where[1] if where else None,
            )
        )

    data = parsed.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        issue((), f"a {type(data).__name__}", "a mapping with `groups:` (and optionally `default_group:`)")
        raise ConfigError(source, issues)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            issue((str(key),), f"unknown key {str(key)[:60]!r}", "only `groups` and `default_group`")

    default_group = settings.default_group
    if "default_group" in data:
        value = data["default_group"]
        if not isinstance(value, str):
            issue(("default_group",), repr(value)[:80], f"a group name: {GROUP_NAME_ALLOWED}")
        else:
            try:
                check_default_group(value, field="default_group")
            except AccessSettingsError as exc:
                issue(("default_group",), repr(value)[:80], str(exc).removeprefix("default_group: "))
            else:
                default_group = value

    groups: dict[str, tuple[str, ...]] = {}
    raw_groups = data.get("groups", {})
    if raw_groups is None:
        raw_groups = {}
    if not isinstance(raw_groups, dict):
        issue(
            ("groups",),
            f"a {type(raw_groups).__name__}",
            "a mapping: group name -> list of model-name patterns",
        )
        raw_groups = {}
    total = 0
    for name, patterns in raw_groups.items():
        if not isinstance(name, str) or not GROUP_NAME_RE.match(name):
            issue(("groups", str(name)), f"group name {str(name)[:60]!r}", GROUP_NAME_ALLOWED)
            continue
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list) or not patterns:
            issue(
                ("groups", name),
                repr(patterns)[:80],
                "a non-empty list of model-name patterns (e.g. openai/gpt-5*)",
            )
            continue
        kept: list[str] = []
        for index, pattern in enumerate(patterns):
            total += 1
            if not isinstance(pattern, str) or not pattern.strip():
                issue(("groups", name, index), repr(pattern)[:80], "a non-empty pattern string")
            elif len(pattern) > MAX_PATTERN_LENGTH:
                issue(("groups", name, index), f"{len(pattern)} characters", f"at most {MAX_PATTERN_LENGTH}")
            elif "/" not in pattern and not pattern.startswith("*"):
                issue(
                    ("groups", name, index),
                    repr(pattern),
                    "a pattern over the full model name provider/model (e.g. openai/gpt-5* or */gpt-5*)",
                )
            elif any(ord(c) < 32 or c.isspace() for c in pattern):
                issue(
                    ("groups", name, index),
                    repr(pattern)[:80],
                    "a pattern without spaces or control characters",
                )
            else:
                kept.append(pattern.strip())
        groups[name] = tuple(kept)
    if total > MAX_PATTERNS:
        issue(("groups",), f"{total} patterns", f"at most {MAX_PATTERNS}")
    if issues:
        raise ConfigError(source, issues)
    return ModelAccessRules(groups=groups, default_group=default_group, source=source)
