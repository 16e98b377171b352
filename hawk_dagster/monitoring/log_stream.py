"""``hawk logs``: an eval set's lines from every place they are kept, each returned once.

Dagster's event log holds what its runs did (steps, failures, the runner's messages through Pipes, progress); the
runner's raw output (Inspect's and task code's prints, tracebacks) is in the compute logs Dagster captured (in the
bucket on a deployment, so it outlives pods) or, for runs started on this machine, in ``runner-logs/<id>.log``.
Every source is read from a cursor (an event id, a byte offset), so following never repeats or skips a line, also
when a new run of the eval set starts while following.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from hawk_runner.reporting import CellProgress

from hawk_dagster.monitoring.dagster_runs import eval_set_runs, iter_run_records, run_state
from hawk_dagster.names import TAG_SOURCE

if TYPE_CHECKING:
    import dagster as dg
    from dagster._core.event_api import EventLogRecord

# Bookkeeping events the Dagster UI also folds away: they say nothing a researcher acts on.
QUIET_EVENTS = frozenset(
    {
        "ASSET_CHECK_EVALUATION_PLANNED",
        "ASSET_MATERIALIZATION_PLANNED",
        "HANDLED_OUTPUT",
        "LOADED_INPUT",
        "LOGS_CAPTURED",
        "RESOURCE_INIT_STARTED",
        "RESOURCE_INIT_SUCCESS",
        "STEP_OUTPUT",
        "STEP_WORKER_STARTING",
        "STEP_WORKER_STARTED",
    }
)


CURSOR_VERSION = 1
_FILE_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
"""A compute-log file key as Dagster names them (step keys, hashes): never a path."""
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d`` (``--since``)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(
            f"--since {text!r} is not a duration: give a number and a unit s, m, h or d (e.g. 15m, 2h)"
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def _is_offset(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


IN_PROCESS_SOURCE = "hawk local"
"""Runs ``hawk local`` executes in its own process: what Dagster captures there is the CLI's live view, and the
runner's output is in ``runner-logs/``."""


@dataclass(frozen=True)
class LogLine:
    time: datetime | None
    """When it was logged; None for raw output, which carries no time."""
    run_id: str | None
    level: str
    where: str
    """The step (or ``run``) of an event; ``stdout``/``stderr``/``output`` for raw output."""
    text: str

    def render(self) -> str:
        when = self.time.strftime("%Y-%m-%dT%H:%M:%SZ") if self.time else " " * 20
        run = self.run_id[:8] if self.run_id else "-" * 8
        return f"{when} {self.level:<7} {run} {self.where}: {self.text}"


@dataclass
class _Partial:
    """Raw output read so far but not yet ended by a newline (held until it is, or until its run ends)."""

    cursor: int = 0
    """Bytes read."""
    pending: bytes = b""

    @property
    def committed(self) -> int:
        """Bytes returned as lines: where a reader that resumes starts (the pending part is read again)."""
        return self.cursor - len(self.pending)

    def feed(self, data: bytes, *, final: bool) -> list[str]:
        self.cursor += len(data)
        lines = (self.pending + data).split(b"\n")
        last = lines.pop()  # what follows the last newline: a line still being written (or nothing)
        self.pending = b"" if final else last
        if final and last:
            lines.append(last)
        return [line.decode("utf-8", errors="replace") for line in lines]


@dataclass
class EvalSetLogs:
    """The cursors of one eval set's sources; :meth:`poll` returns what is new since the last poll."""

    instance: dg.DagsterInstance | None
    eval_set_id: str
    runner_output: Path | None
    since: datetime | None = None
    _event_cursors: dict[str, str | None] = field(default_factory=dict)
    _captured: dict[tuple[str, str], tuple[_Partial, _Partial]] = field(default_factory=dict)
    _output: _Partial = field(default_factory=_Partial)

    def cursor(self) -> str:
        """Where the lines returned so far end, as an opaque token. A reader given it (:meth:`resume`) returns what
        follows: no line twice, none lost (a line still being written is read again whole)."""
        state = {
            "v": CURSOR_VERSION,
            "e": {run: cursor for run, cursor in self._event_cursors.items() if cursor is not None},
            "c": [
                [run, key, out.committed, err.committed] for (run, key), (out, err) in self._captured.items()
            ],
            "o": self._output.committed,
        }
        raw = json.dumps(state, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def resume(self, token: str) -> None:
        """Continue from a :meth:`cursor` token; raises :class:`ValueError` for one this code did not make."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            state = json.loads(raw)
            assert isinstance(state, dict) and state.get("v") == CURSOR_VERSION
            events, captured, output = state["e"], state["c"], state["o"]
            assert isinstance(events, dict) and isinstance(captured, list) and _is_offset(output)
            assert all(isinstance(r, str) and isinstance(c, str) and len(c) <= 200 for r, c in events.items())
            for entry in captured:
                run, key, out, err = entry
                assert isinstance(run, str) and isinstance(key, str) and _FILE_KEY.match(key)
                assert _is_offset(out) and _is_offset(err)
        except Exception:
            raise ValueError("not a cursor of `hawk logs` (pass the one the last answer gave)") from None
        self._event_cursors = dict(events)
        self._captured = {(run, key): (_Partial(out), _Partial(err)) for run, key, out, err in captured}
        self._output = _Partial(output)

    def has_runs(self) -> bool:
        return self.instance is not None and bool(eval_set_runs(self.instance, self.eval_set_id))

    def active(self) -> bool:
        """Whether a run of the eval set is queued or running (following goes on while one is)."""
        if self.instance is None:
            return False
        return any(
            run_state(run) in ("queued", "running") for run in eval_set_runs(self.instance, self.eval_set_id)
        )

    def poll(self, *, final: bool = False) -> list[LogLine]:
        """New lines: events (oldest run first, in order), then raw output. ``final`` flushes unterminated lines."""
        lines: list[LogLine] = []
        if self.instance is not None:
            for run in reversed(eval_set_runs(self.instance, self.eval_set_id)):
                finished = run_state(run) not in ("queued", "running")
                lines.extend(self._events(run.run_id))
                if not run.tags.get(TAG_SOURCE, "").startswith(IN_PROCESS_SOURCE):
                    lines.extend(self._captured_output(run.run_id, final=final or finished))
        lines.extend(self._runner_output(final=final))
        return lines

    def _events(self, run_id: str) -> list[LogLine]:
        assert self.instance is not None
        cursor = self._event_cursors.get(run_id)
        lines: list[LogLine] = []
        from dagster._core.event_api import EventLogCursor

        for record in iter_run_records(self.instance, run_id, cursor):
            cursor = EventLogCursor.from_storage_id(record.storage_id).to_string()
            line = _event_line(run_id, record)
            if line is not None and (
                self.since is None or (line.time is not None and line.time >= self.since)
            ):
                lines.append(line)
            file_key = _captured_file_key(record)
            if file_key is not None:
                self._captured.setdefault((run_id, file_key), (_Partial(), _Partial()))
        self._event_cursors[run_id] = cursor
        return lines

    def _captured_output(self, run_id: str, *, final: bool) -> list[LogLine]:
        assert self.instance is not None
        manager = self.instance.compute_log_manager
        lines: list[LogLine] = []
        for (captured_run, file_key), (out, err) in list(self._captured.items()):
            if captured_run != run_id:
                continue
            try:
                data = manager.get_log_data(
                    [run_id, "compute_logs", file_key], cursor=manager.build_cursor(out.cursor, err.cursor)
                )
            except Exception:
                continue
            for stream, partial, chunk in (("stdout", out, data.stdout), ("stderr", err, data.stderr)):
                for line in partial.feed(chunk or b"", final=final):
                    lines.append(LogLine(None, run_id, "OUTPUT", stream, line))
        return lines

    def _runner_output(self, *, final: bool) -> list[LogLine]:
        path = self.runner_output
        if path is None:
            return []
        try:
            size = path.stat().st_size
            if self.since is not None and datetime.fromtimestamp(path.stat().st_mtime, UTC) < self.since:
                return []
        except FileNotFoundError:
            return []
        if size < self._output.cursor:  # replaced by a new file: start over
            self._output = _Partial()
        with path.open("rb") as handle:
            handle.seek(self._output.cursor)
            data = handle.read(size - self._output.cursor)
        return [
            LogLine(None, None, "OUTPUT", "runner", line) for line in self._output.feed(data, final=final)
        ]


def _captured_file_key(record: EventLogRecord) -> str | None:
    event = record.event_log_entry.dagster_event
    if event is None or event.event_type_value != "LOGS_CAPTURED":
        return None
    return event.logs_captured_data.file_key


def _event_line(run_id: str, record: EventLogRecord) -> LogLine | None:
    entry = record.event_log_entry
    event = entry.dagster_event
    time = datetime.fromtimestamp(entry.timestamp, UTC)
    level = logging.getLevelName(entry.level) if isinstance(entry.level, int) else str(entry.level)
    if event is None:
        message = entry.user_message or ""
        progress = CellProgress.from_message(message)
        if progress is not None:
            errors = f", {progress.errors} errors" if progress.errors else ""
            message = f"progress {progress.task} [{progress.model}]: {progress.done}/{progress.total} samples{errors}"
        return LogLine(time, run_id, level, entry.step_key or "run", message)
    if event.event_type_value in QUIET_EVENTS:
        return None
    text = event.message or entry.user_message or event.event_type_value
    if event.is_step_failure and event.step_failure_data is not None:
        from hawk_dagster.monitoring.run_failures import failure_reason

        data = event.step_failure_data
        description = data.user_failure_data.description if data.user_failure_data is not None else None
        text = f"step failed: {failure_reason(data.error, description)}"
    return LogLine(time, run_id, level, event.step_key or "run", " ".join(text.split()))


def tail_lines(lines: list[LogLine], count: int | None) -> list[LogLine]:
    """The last ``count`` events and the last ``count`` lines of raw output (all of them when ``count`` is None)."""
    if count is None:
        return lines
    events = [line for line in lines if line.time is not None]
    output = [line for line in lines if line.time is None]
    return (events[-count:] + output[-count:]) if count else []


def follow_steps(logs: EvalSetLogs) -> Iterator[tuple[list[LogLine], bool]]:
    """Following as steps: ``(new lines, more)`` per poll until no run of the eval set is queued or running, then a
    last drain. The caller waits between steps while ``more`` (a thread's sleep, or an event loop's)."""
    while True:
        still_active = logs.active()
        yield logs.poll(), still_active
        if not still_active:
            break
    yield logs.poll(final=True), False


def follow(
    logs: EvalSetLogs,
    emit: Callable[[LogLine], None],
    *,
    interval: float = 1.0,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """Emit new lines until no run of the eval set is queued or running, then drain once more."""
    import time

    wait = sleep or time.sleep
    for lines, more in follow_steps(logs):
        for line in lines:
            emit(line)
        if more:
            wait(interval)
