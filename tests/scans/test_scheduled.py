"""Scheduled scans: the `scheduled_scans` sensor's ticks yield the cells of the scans whose cron fired since the
previous tick (and catch up what fired while the daemon was away, each cell once)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
from dagster._core.definitions.partitions.context import partition_loading_context

from hawk_dagster.definitions import build_definitions
from hawk_dagster.partitions import EVAL_SETS, SCANS, scan_cell_key
from hawk_dagster.scans.schedule_sensor import scheduled_scans
from hawk_dagster.scans.scheduled import cron_fired, window_start
from tests.scans.submitted import submitted_eval_set, submitted_scan


def _tick(root: Path, now: dt.datetime, cursor: str | None = None) -> tuple[list[dg.RunRequest], str | None]:
    """One tick of the sensor at ``now``, as the daemon evaluates it (partition keys resolved against the instance)."""
    sensor = scheduled_scans(str(root), clock=lambda: now)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SCANS, ["daily", "hourly", "unscheduled"])
    instance.add_dynamic_partitions(EVAL_SETS, ["nightly-1", "nightly-2", "other"])
    everything = build_definitions(storage_root=str(root))
    defs = dg.Definitions(
        assets=everything.assets, jobs=everything.jobs, sensors=[sensor], resources=everything.resources
    )
    with (
        dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context,
        partition_loading_context(dynamic_partitions_store=instance),
    ):
        data = sensor.evaluate_tick(context)
    return list(data.run_requests or []), data.cursor


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
    requests, cursor = _tick(root, three)  # the first tick looks back one minute
    assert {(r.partition_key, r.run_key) for r in requests} == {
        (str(scan_cell_key("daily", "other")), f"daily|other@{three.isoformat()}"),
        (str(scan_cell_key("hourly", "nightly-1")), f"hourly|nightly-1@{three.isoformat()}"),
        (str(scan_cell_key("hourly", "nightly-2")), f"hourly|nightly-2@{three.isoformat()}"),
    }
    assert all(r.tags["hawk/source"] == "schedule" for r in requests)
    assert cursor == three.isoformat()

    later, cursor = _tick(root, three + dt.timedelta(minutes=1), cursor)
    assert later == []  # nothing fired in (03:00, 03:01]
    four = three + dt.timedelta(hours=1)
    hourly = {str(scan_cell_key("hourly", "nightly-1")), str(scan_cell_key("hourly", "nightly-2"))}
    assert {
        r.partition_key for r in _tick(root, four, (four - dt.timedelta(minutes=1)).isoformat())[0]
    } == hourly

    # The daemon was away from 02:00 to 05:30: the daily cron (03:00) and the hourly one (last at 05:00) run once.
    caught_up, _ = _tick(root, dt.datetime(2026, 11, 22, 5, 30, tzinfo=dt.UTC), "2026-11-22T02:00:00+00:00")
    assert sorted(r.run_key for r in caught_up) == [
        "daily|other@2026-11-22T03:00:00+00:00",
        "hourly|nightly-1@2026-11-22T05:00:00+00:00",
        "hourly|nightly-2@2026-11-22T05:00:00+00:00",
    ]


def test_the_window_starts_at_the_previous_tick_within_a_day() -> None:
    now = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    assert window_start(None, now) == now - dt.timedelta(minutes=1)
    assert window_start("not a time", now) == now - dt.timedelta(minutes=1)
    assert window_start("2026-11-22T11:30:00+00:00", now) == dt.datetime(2026, 11, 22, 11, 30, tzinfo=dt.UTC)
    assert window_start("2026-11-01T00:00:00+00:00", now) == now - dt.timedelta(days=1)
    assert window_start("2026-11-23T00:00:00+00:00", now) == now  # a clock that went back: no window


def test_cron_fired_window_is_half_open() -> None:
    start = dt.datetime(2026, 11, 22, 2, 59, tzinfo=dt.UTC)
    end = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
    assert cron_fired("0 3 * * *", start, end) == end
    assert cron_fired("0 3 * * *", end, end + dt.timedelta(minutes=1)) is None
    assert cron_fired("*/10 * * * *", end, end + dt.timedelta(minutes=25)) == end + dt.timedelta(minutes=20)
