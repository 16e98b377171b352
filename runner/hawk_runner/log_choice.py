"""Which log of a task is the one that counts: the one rule the runner's summary and the warehouse importer share.

A killed run leaves a ``status="started"`` log and the resumed run writes a new file with the same ``task_id``, so a
log dir can hold several logs per task. The newest by ``EvalSpec.created`` wins. ``created`` has one-second
precision, so ties are broken by status (success, then cancelled/error, then started: a finished log is the more
complete record of the same run), then by completed sample count, then by file name (deterministic).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

STATUS_RANK = {"success": 3, "cancelled": 2, "error": 2, "started": 1}

_OLDEST = datetime.min.replace(tzinfo=UTC)

Log = TypeVar("Log")


def parse_created(value: str | None) -> datetime:
    """``EvalSpec.created`` as an aware datetime (naive times are UTC); unparseable or missing counts as oldest."""
    if not value:
        return _OLDEST
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return _OLDEST
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def preference(
    created: str | None, status: str, completed_samples: int, file_name: str
) -> tuple[datetime, int, int, str]:
    """The sort key of a log among the logs of its task: the greatest key wins."""
    return (parse_created(created), STATUS_RANK.get(status, 0), completed_samples, file_name)


def newest_per_task(
    logs: Iterable[Log], task_id: Callable[[Log], str], key: Callable[[Log], tuple[datetime, int, int, str]]
) -> tuple[dict[str, Log], list[Log]]:
    """The winning log of each task (by :func:`preference` keys) and the superseded rest, newest first per task."""
    by_task: dict[str, list[Log]] = {}
    for log in logs:
        by_task.setdefault(task_id(log), []).append(log)
    newest: dict[str, Log] = {}
    superseded: list[Log] = []
    for task, candidates in sorted(by_task.items()):
        ordered = sorted(candidates, key=key, reverse=True)
        newest[task] = ordered[0]
        superseded.extend(ordered[1:])
    return newest, superseded
