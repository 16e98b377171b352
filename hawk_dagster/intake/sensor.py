"""Dagster wiring both configs sensors share: the instance (or none, in tests), partition and run-key lookups, and
how a refused config is logged.

The sensors (and the scan schedule) get their storage root when the definitions are built, not as a resource, and
touch ``context.instance`` only when a config changed: a sensor that takes resources makes Dagster build a
``DagsterInstance`` for every tick (70 ms of CPU on the local SQLite instance, about 15 times a minute), which was
most of what an idle ``hawk dev`` cost beyond a bare ``dagster dev``.
"""

from __future__ import annotations

import dagster as dg

from hawk_dagster.intake.watch import Rejected


def instance_or_none(context: dg.SensorEvaluationContext) -> dg.DagsterInstance | None:
    """The instance, or None when a test builds a context without one (then every id and run key looks new)."""
    try:
        return context.instance
    except dg.DagsterInvariantViolationError:
        return None


def missing_partitions(context: dg.SensorEvaluationContext, partitions: str, keys: list[str]) -> list[str]:
    """``keys`` (first-seen order, without repeats) that the instance does not hold yet (no instance: all)."""
    unique = list(dict.fromkeys(keys))
    if not unique:
        return []
    instance = instance_or_none(context)
    if instance is None:
        return unique
    return [key for key in unique if not instance.has_dynamic_partition(partitions, key)]


def run_with_tags_exists(instance: dg.DagsterInstance | None, tags: dict[str, str]) -> bool:
    """Whether a run carrying all ``tags`` exists (how a sensor knows a run key was used)."""
    if instance is None:
        return False
    return bool(instance.get_run_records(filters=dg.RunsFilter(tags=tags), limit=1))


def log_rejected(context: dg.SensorEvaluationContext, label: str, rejected: list[Rejected]) -> None:
    for r in rejected:
        where = f" (details in {r.error_file})" if r.error_file else ""
        context.log.error(f"{label} config {r.name} rejected, nothing launched{where}:\n{r.message}")
