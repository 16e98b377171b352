"""Submitting a validated config into its configs folder, with the local files it names carried beside it: the
one path ``hawk eval-set``, ``hawk scan run`` and the API server share (the sensor takes it from there)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hawk_dagster.intake.carry import prepare_submission, publish

if TYPE_CHECKING:
    from upath import UPath

    from hawk_dagster.config.local_files import LocalReference
    from hawk_dagster.intake.carry import CarryLimits
    from hawk_dagster.intake.watch import WatchedKind
    from hawk_dagster.storage.carried import Manifest
    from hawk_dagster.storage.root import StorageRoot


@dataclass(frozen=True)
class Submitted:
    submission_id: str
    target: UPath
    """Where the config landed."""
    manifest: Manifest | None
    """What was carried with it (None: nothing)."""


def submit_to_configs_folder(
    storage: StorageRoot,
    kind: WatchedKind[Any, Any],
    *,
    text: str,
    base_dir: Path,
    refs: list[LocalReference],
    submission_id: str,
    already_carried: str | None,
    limits: CarryLimits | None = None,
) -> Submitted:
    """Upload what the config names, then the config, into ``kind``'s configs folder, after checking it exactly as
    the sensor will. Raises ``intake.carry.CarryError`` (naming the field) with nothing written when it cannot be
    submitted as it is. ``limits``: what it may carry (default: ``CarryLimits.from_env()``)."""
    with prepare_submission(
        storage,
        kind,
        config_text=text,
        config_dir=base_dir,
        refs=refs,
        submission_id=submission_id,
        already_carried=already_carried,
        limits=limits,
    ) as prepared:
        target = publish(storage, kind, prepared)
    return Submitted(submission_id, target, prepared.manifest)
