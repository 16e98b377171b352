"""Which log of a task counts: one rule for the runner's summary and the warehouse importer."""

from __future__ import annotations

from hawk_runner.log_choice import newest_per_task, parse_created, preference

SAME_SECOND = "2026-11-21T20:22:39+00:00"


def _choose(*logs: tuple[str, str, str, int]) -> tuple[str, list[str]]:
    """(task, created, status, completed) per file name ``f<i>``; the winning file and the superseded ones."""
    named = [(f"f{i}", *log) for i, log in enumerate(logs)]
    newest, superseded = newest_per_task(
        named, lambda log: log[1], lambda log: preference(log[2], log[3], log[4], log[0])
    )
    (winner,) = newest.values()
    return winner[0], [log[0] for log in superseded]


def test_the_newest_log_wins() -> None:
    assert _choose(("t", "2026-11-21T20:00:00+00:00", "success", 5), ("t", SAME_SECOND, "started", 1)) == (
        "f1",
        ["f0"],
    )


def test_within_one_second_a_finished_log_beats_a_started_one_then_more_samples_win() -> None:
    assert _choose(("t", SAME_SECOND, "success", 5), ("t", SAME_SECOND, "started", 9))[0] == "f0"
    assert _choose(("t", SAME_SECOND, "error", 3), ("t", SAME_SECOND, "error", 4))[0] == "f1"
    assert _choose(("t", SAME_SECOND, "error", 3), ("t", SAME_SECOND, "error", 3))[0] == "f1"  # by name


def test_created_times_compare_as_instants() -> None:
    assert parse_created("2026-11-21T21:22:39+01:00") == parse_created(SAME_SECOND)
    assert parse_created("2026-11-21T20:22:39") == parse_created(SAME_SECOND)  # naive means UTC
    assert parse_created("garbage") < parse_created(SAME_SECOND)
    assert parse_created(None) < parse_created(SAME_SECOND)
