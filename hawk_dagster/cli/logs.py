"""``hawk logs``: an eval set's Dagster events and runner output, once, or followed until its run ends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import click

from hawk_dagster.cli.common import fail_bad_input

RECONNECTS: Final = 5
"""Consecutive failed reconnections a remote follow survives (a server restart, a dropped connection)."""


@click.command("logs")
@click.argument("eval_set_id", required=False)
@click.option(
    "-f", "--follow", is_flag=True, help="Keep printing new lines until no run of the eval set is active."
)
@click.option("--since", metavar="DURATION", help="Only lines from the last DURATION (e.g. 15m, 2h, 1d).")
@click.option(
    "--tail", type=click.IntRange(min=0), metavar="N", help="Only the last N lines of each source first."
)
def logs(eval_set_id: str | None, follow: bool, since: str | None, tail: int | None) -> None:
    """Print an eval set's Dagster events and runner output; -f follows until its run ends.

    EVAL_SET_ID defaults to the last eval set run from this machine. Events come from Dagster's run history (kept
    for ever), raw output from the compute logs Dagster captured or this machine's runner-logs/ folder. With
    HAWK_API_URL, read through that API (a dropped connection is resumed where it stopped).
    """
    from hawk_dagster.cli.eval_set_target import eval_set_id_or_last
    from hawk_dagster.cli.remote import api_url
    from hawk_dagster.monitoring.log_stream import parse_duration

    try:
        cutoff = datetime.now(UTC) - parse_duration(since) if since else None
    except ValueError as ex:
        fail_bad_input(str(ex))
    eval_set_id = eval_set_id_or_last(eval_set_id)
    try:
        if api_url():
            _remote_logs(eval_set_id, follow=follow, since=since, tail=tail)
        else:
            _local_logs(eval_set_id, follow=follow, cutoff=cutoff, tail=tail)
    except KeyboardInterrupt:
        pass


def _local_logs(eval_set_id: str, *, follow: bool, cutoff: datetime | None, tail: int | None) -> None:
    from hawk_dagster.deployment.local_instance import existing_instance
    from hawk_dagster.monitoring.log_stream import EvalSetLogs, LogLine, tail_lines
    from hawk_dagster.monitoring.log_stream import follow as follow_lines
    from hawk_dagster.storage.root import StorageRoot

    storage = StorageRoot.from_env()
    output = storage.runner_logs_dir / f"{eval_set_id}.log" if storage.is_local else None
    stream = EvalSetLogs(existing_instance(storage), eval_set_id, output, since=cutoff)
    if not stream.has_runs() and not (output is not None and output.is_file()):
        fail_bad_input(f"eval set {eval_set_id!r} has no runs and no runner output under {storage.uri}")

    def emit(line: LogLine) -> None:
        click.echo(line.render())

    for line in tail_lines(stream.poll(final=not follow), tail):
        emit(line)
    if follow:
        follow_lines(stream, emit)


def _remote_logs(eval_set_id: str, *, follow: bool, since: str | None, tail: int | None) -> None:
    """Read the API's NDJSON answer; lines are printed once the cursor after them has arrived, and a broken or
    ended-for-reconnection stream is asked again from the last cursor: every line once."""
    import time

    from hawk_dagster.cli import remote

    path = f"/api/v1/eval-sets/{eval_set_id}/logs"
    params: dict[str, Any] = {"follow": follow, "since": since, "tail": tail}
    failures = 0
    while True:
        pending: list[dict[str, Any]] = []
        try:
            for record in remote.stream_records(path, params):
                if record["type"] == "line":
                    pending.append(record)
                    continue
                for line in pending:
                    click.echo(_render(line))
                pending = []
                params = {"follow": follow, "cursor": record["cursor"]}  # since/tail: the first request only
                failures = 0
                if record["type"] == "end":
                    if record["reason"] == "finished":
                        return
                    break
            else:
                raise remote.StreamBroken("the stream ended without its last record")
        except remote.StreamBroken as ex:
            failures += 1
            if failures > RECONNECTS:
                click.echo(f"error: {ex}; gave up after {RECONNECTS} attempts", err=True)
                raise SystemExit(1) from None
            time.sleep(min(2.0**failures, 15.0))


def _render(record: dict[str, Any]) -> str:
    from hawk_dagster.monitoring.log_stream import LogLine

    when = datetime.fromisoformat(record["time"]) if record["time"] else None
    return LogLine(when, record["run_id"], record["level"], record["where"], record["text"]).render()
