"""The code location's shape, frozen: every asset key, partitions definition, check, job, sensor, schedule and
resource, with dependencies and partition mappings, compared with ``tests/snapshots/definitions.json``.

A restructure must leave it unchanged; a deliberate change to the Dagster wiring shows in the snapshot's diff in the
same commit. Regenerate with ``HAWK_UPDATE_SNAPSHOTS=1 uv run pytest tests/test_definitions_snapshot.py``.
Nothing here names a Python module, so moving code between modules cannot change the snapshot.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import dagster as dg

from hawk_dagster.definitions import build_definitions

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"
UPDATE_ENV = "HAWK_UPDATE_SNAPSHOTS"


def _partitions(partitions_def: dg.PartitionsDefinition | None) -> Any:
    if partitions_def is None:
        return None
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return {"dynamic": partitions_def.name}
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return {
            "multi": {
                dimension.name: _partitions(dimension.partitions_def)
                for dimension in partitions_def.partitions_defs
            }
        }
    return {type(partitions_def).__name__: str(partitions_def)}


def _mapping(mapping: dg.PartitionMapping | None) -> Any:
    if mapping is None:
        return None
    fields = (
        mapping._asdict() if isinstance(mapping, tuple) else vars(mapping)
    )  # Dagster's mappings are tuples
    return {type(mapping).__name__: {k: v for k, v in fields.items() if not k.startswith("_")}}


def _condition(condition: dg.AutomationCondition | None) -> Any:
    if condition is None:
        return None
    label = condition.get_label()
    if label:  # Dagster's named conditions (eager, ...) by name: their insides are Dagster's, pinned with it
        return {"label": label}
    node: dict[str, Any] = {"name": condition.name, "description": condition.description}
    if condition.children:
        node["children"] = [_condition(child) for child in condition.children]
    return node


def _asset(defs: dg.Definitions, spec: dg.AssetSpec) -> dict[str, Any]:
    assets_def = defs.resolve_assets_def(spec.key)
    return {
        "group": spec.group_name,
        "kinds": sorted(spec.kinds),
        "description": spec.description,
        "partitions": _partitions(spec.partitions_def),
        "deps": [
            {"asset": dep.asset_key.to_user_string(), "partition_mapping": _mapping(dep.partition_mapping)}
            for dep in sorted(spec.deps, key=lambda d: d.asset_key.to_user_string())
        ],
        "automation_condition": _condition(spec.automation_condition),
        "checks": [
            {"name": check.name, "blocking": check.blocking, "description": check.description}
            for check in sorted(assets_def.check_specs, key=lambda c: c.name)
        ],
        "resources": sorted(assets_def.required_resource_keys),
    }


def _sensor(defs: dg.Definitions, name: str) -> dict[str, Any]:
    sensor = defs.resolve_sensor_def(name)
    selection = sensor.asset_selection
    out: dict[str, Any] = {
        "type": sensor.sensor_type.value,
        "default_status": sensor.default_status.value,
        "minimum_interval_seconds": sensor.minimum_interval_seconds,
        "description": sensor.description,
        "assets": sorted(k.to_user_string() for k in selection.resolve(defs.resolve_asset_graph()))
        if selection is not None
        else None,
        "jobs": sorted(str(target.job_name) for target in sensor.targets if target.job_name),
        "resources": sorted(sensor.required_resource_keys),
    }
    if isinstance(sensor, dg.AutomationConditionSensorDefinition):
        out["emit_backfills"] = sensor.emit_backfills
    return out


def snapshot(defs: dg.Definitions) -> dict[str, Any]:
    """The parts of the definitions that Dagster, the UI and our runs depend on, as plain JSON."""
    graph = defs.resolve_asset_graph()
    specs = {spec.key: spec for assets_def in graph.assets_defs for spec in assets_def.specs}
    jobs = {
        job.name: {
            "description": job.description,
            "assets": sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys),
            "partitions": _partitions(job.partitions_def),
        }
        for job in (defs.resolve_job_def(j.name) for j in defs.jobs or [])
    }
    schedules = {
        schedule.name: {
            "cron": schedule.cron_schedule,
            "timezone": schedule.execution_timezone,
            "job": schedule.job_name,
            "default_status": schedule.default_status.value,
            "description": schedule.description,
            "resources": sorted(schedule.required_resource_keys),
        }
        for schedule in (defs.resolve_schedule_def(s.name) for s in defs.schedules or [])
    }
    return {
        "assets": {key.to_user_string(): _asset(defs, specs[key]) for key in sorted(specs)},
        "jobs": dict(sorted(jobs.items())),
        "sensors": {name: _sensor(defs, name) for name in sorted(s.name for s in defs.sensors or [])},
        "schedules": dict(sorted(schedules.items())),
        "resources": {key: type(value).__name__ for key, value in sorted((defs.resources or {}).items())},
    }


def test_definitions_match_the_snapshot(tmp_path: Path) -> None:
    current = (
        json.dumps(snapshot(build_definitions(storage_root=str(tmp_path))), indent=2, sort_keys=True) + "\n"
    )
    if os.environ.get(UPDATE_ENV):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
    expected = SNAPSHOT.read_text()
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True), current.splitlines(keepends=True), "snapshot", "now"
        )
    )
    assert not diff, (
        f"the definitions changed; if that is intended, regenerate with {UPDATE_ENV}=1 and commit the diff:\n{diff}"
    )
