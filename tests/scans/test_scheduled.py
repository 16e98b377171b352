"""Scheduled scans: the `scheduled_scans` schedule's ticks yield the cells of the scans whose cron fired."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
from dagster._core.definitions.partitions.context import partition_loading_context

from hawk_dagster.definitions import build_definitions
from hawk_dagster.partitions import EVAL_SETS, SCANS, scan_cell_key
from hawk_dagster.scans.scheduled import cron_fired
from tests.scans.submitted import submitted_eval_set, submitted_scan


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
        repository_def=repository,
        instance=instance,
    )
    with partition_loading_context(dynamic_partitions_store=instance):
        return list(schedule.evaluate_tick(context).run_requests or [])


def test_ticks_yield_the_cells_of_the_scans_whose_cron_fired(tmp_path: Path) -> None:
    root = tmp_path / "root"
    submitted_eval_set(root, "nightly-1", ["nightly"])
    submitted_eval_set(root, "other", [])
    submitted_scan(root, tmp_path, "daily", "{eval_set_id: other}", "schedule: '0 3 * * *'")
    submitted_scan(
        root, tmp_path, "hourly", "{eval_set_tag: nightly}", "schedule: '0 * * * *'\nstanding: true"
    )
    submitted_scan(root, tmp_path, "unscheduled", "{eval_set_id: other}", "")
    submitted_eval_set(root, "nightly-2", ["nightly"])  # landed after the standing scan was submitted

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
