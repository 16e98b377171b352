"""Scheduled scans: the `scheduled_scans` schedule's ticks yield the cells of the scans whose cron fired."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
from dagster._core.definitions.partitions.context import partition_loading_context

from hawk_dagster.config.loader import load_scan_config
from hawk_dagster.definitions import build_definitions
from hawk_dagster.partitions import EVAL_SETS, SCANS, scan_cell_key
from hawk_dagster.resources.storage import StorageResource
from hawk_dagster.scan_planning import submit_scan
from hawk_dagster.scheduled_scans import cron_fired
from hawk_dagster.storage import StorageRoot

SCAN = """
scanners: [{{package: inspect-scout, items: [{{name: grep_scanner, args: {{pattern: sudo}}}}]}}]
transcripts:
  sources: [{source}]
{extra}
"""


def _eval_set(root: Path, eval_set_id: str, tags: list[str]) -> None:
    folder = root / "evals" / eval_set_id
    folder.mkdir(parents=True)
    (folder / ".config.yaml").write_text(f"tags: {tags}\ntasks: []\n")


def _scan(root: Path, tmp_path: Path, scan_id: str, source: str, extra: str) -> None:
    path = tmp_path / f"{scan_id}.yaml"
    path.write_text(SCAN.format(source=source, extra=extra))
    submit_scan(StorageRoot(str(root)), load_scan_config(path), scan_id=scan_id, config_text=path.read_text())


def _tick(root: Path, when: dt.datetime) -> list[dg.RunRequest]:
    defs = build_definitions(storage_root=str(root))
    repository = defs.get_repository_def()
    schedule = repository.get_schedule_def("scheduled_scans")
    # The run requests' partition keys are checked against the instance's dynamic partitions, as the daemon does.
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SCANS, ["daily", "hourly", "unscheduled"])
    instance.add_dynamic_partitions(EVAL_SETS, ["nightly-1", "nightly-2", "other"])
    context = dg.build_schedule_context(
        scheduled_execution_time=when,
        resources={"storage": StorageResource(root=str(root))},
        repository_def=repository,
        instance=instance,
    )
    with partition_loading_context(dynamic_partitions_store=instance):
        return list(schedule.evaluate_tick(context).run_requests or [])


def test_ticks_yield_the_cells_of_the_scans_whose_cron_fired(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _eval_set(root, "nightly-1", ["nightly"])
    _eval_set(root, "other", [])
    _scan(root, tmp_path, "daily", "{eval_set_id: other}", "schedule: '0 3 * * *'")
    _scan(root, tmp_path, "hourly", "{eval_set_tag: nightly}", "schedule: '0 * * * *'\nstanding: true")
    _scan(root, tmp_path, "unscheduled", "{eval_set_id: other}", "")
    _eval_set(root, "nightly-2", ["nightly"])  # landed after the standing scan was submitted

    three = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
    requests = _tick(root, three)
    assert {(r.partition_key, r.run_key) for r in requests} == {
        (str(scan_cell_key("daily", "other")), f"daily|other@{three.isoformat()}"),
        (str(scan_cell_key("hourly", "nightly-1")), f"hourly|nightly-1@{three.isoformat()}"),
        (str(scan_cell_key("hourly", "nightly-2")), f"hourly|nightly-2@{three.isoformat()}"),
    }
    assert all(r.tags["hawk/source"] == "schedule" for r in requests)

    assert _tick(root, three + dt.timedelta(minutes=1)) == []  # nothing fired in (03:00, 03:01]
    four = three + dt.timedelta(hours=1)
    assert {r.partition_key for r in _tick(root, four)} == {
        str(scan_cell_key("hourly", "nightly-1")),
        str(scan_cell_key("hourly", "nightly-2")),
    }


def test_cron_fired_window_is_half_open() -> None:
    start = dt.datetime(2026, 11, 22, 2, 59, tzinfo=dt.UTC)
    end = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
    assert cron_fired("0 3 * * *", start, end) == end
    assert cron_fired("0 3 * * *", end, end + dt.timedelta(minutes=1)) is None
    assert cron_fired("*/10 * * * *", end, end + dt.timedelta(minutes=25)) == end + dt.timedelta(minutes=20)
