"""The fields of a config that name files on the submitter's machine.

A config runs wherever the deployment runs it, so ``hawk eval-set`` and ``hawk scan run`` upload what these fields
name together with the config (``hawk_dagster.intake.carry``), and the deployment resolves the config's relative
paths inside that upload (``carried_files``, see ``hawk_dagster.config.carried``). Listing the fields here, next to
the config models, keeps one answer to "what does this config need from this machine".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hawk_dagster.config.errors import Loc, format_path
from hawk_dagster.config.eval_set import (
    CyberTaskGroup,
    EvalSetConfig,
    FileTaskGroup,
    PackageRegistryGroup,
    PackageTaskGroup,
)
from hawk_dagster.config.model_groups import PackageModelGroup
from hawk_dagster.config.scan import PackageScannerGroup, ScanConfig

ReferenceKind = Literal["task file", "cyber", "approval", "package"]


@dataclass(frozen=True)
class LocalReference:
    """One field naming a local file or folder: where it is written, what it says, and what it is."""

    loc: Loc
    written: str
    kind: ReferenceKind

    @property
    def field(self) -> str:
        return format_path(self.loc)


def package_location(spec: str) -> Literal["relative", "absolute", "remote"]:
    """Where a package spec points: a path relative to the config (``.``, ``./pkg``, ``../pkg``), a location only
    on this machine (``/abs``, ``~/pkg``, ``file://...``, ``name @ file://...``), or anywhere else (an index, a URL).
    """
    spec = spec.strip()
    if spec in (".", "..") or spec.startswith(("./", "../")):
        return "relative"
    if spec.startswith(("/", "~", "file:")) or re.search(r"@\s*file:", spec):
        return "absolute"
    return "remote"


def _packages(groups: Mapping[Loc, Any], extra: list[str], extra_loc: Loc) -> list[LocalReference]:
    refs = [
        LocalReference((*loc, "package"), group.package, "package")
        for loc, group in groups.items()
        if isinstance(group, (PackageTaskGroup, PackageRegistryGroup, PackageModelGroup, PackageScannerGroup))
        and package_location(group.package) != "remote"
    ]
    refs.extend(
        LocalReference((*extra_loc, i), spec, "package")
        for i, spec in enumerate(extra)
        if package_location(spec) != "remote"
    )
    return refs


def eval_set_references(config: EvalSetConfig) -> list[LocalReference]:
    """Every field of an eval-set config that names a local file or folder, in config order."""
    refs: list[LocalReference] = []
    for i, group in enumerate(config.tasks):
        if isinstance(group, FileTaskGroup):
            refs.append(LocalReference(("tasks", i, "path"), group.path, "task file"))
        elif isinstance(group, CyberTaskGroup):
            refs.append(LocalReference(("tasks", i, "cyber"), group.cyber, "cyber"))
    if isinstance(config.approval, str):
        refs.append(LocalReference(("approval",), config.approval, "approval"))
    groups: dict[Loc, Any] = {
        **{("tasks", i): g for i, g in enumerate(config.tasks)},
        **{("solvers", i): g for i, g in enumerate(config.solvers)},
        **{("agents", i): g for i, g in enumerate(config.agents)},
        **{("models", i): g for i, g in enumerate(config.models or [])},
        **{("model_roles", role): g for role, g in config.model_roles.items()},
    }
    return refs + _packages(groups, list(config.packages), ("packages",))


def scan_references(config: ScanConfig) -> list[LocalReference]:
    """Every field of a scan config that names a local file or folder (local scanner and model packages)."""
    groups: dict[Loc, Any] = {
        **{("scanners", i): g for i, g in enumerate(config.scanners)},
        **{("models", i): g for i, g in enumerate(config.models or [])},
        **{("model_roles", role): g for role, g in config.model_roles.items()},
    }
    return _packages(groups, list(config.packages), ("packages",))
