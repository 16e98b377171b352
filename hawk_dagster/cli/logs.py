"""``hawk logs``: an eval set's Dagster events and runner output, once, or followed until its run ends."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

from hawk_dagster.cli.common import fail_bad_input

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d``."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(
            f"--since {text!r} is not a duration: give a number and a unit s, m, h or d (e.g. 15m, 2h)"
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


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
    for ever), raw output from the compute logs Dagster captured or this machine's runner-logs/ folder.
    """
    try:
        cutoff = datetime.now(UTC) - parse_duration(since) if since else None
    except ValueError as ex:
        fail_bad_input(str(ex))

    from hawk_dagster.cli.eval_set_target import eval_set_id_or_last, existing_instance
    from hawk_dagster.monitoring.log_stream import EvalSetLogs, LogLine, tail_lines
    from hawk_dagster.monitoring.log_stream import follow as follow_lines
    from hawk_dagster.storage.root import StorageRoot

    storage = StorageRoot.from_env()
    eval_set_id = eval_set_id_or_last(storage, eval_set_id)
    output = storage.runner_logs_dir / f"{eval_set_id}.log" if storage.is_local else None
    stream = EvalSetLogs(existing_instance(storage), eval_set_id, output, since=cutoff)
    if not stream.has_runs() and not (output is not None and output.is_file()):
        fail_bad_input(f"eval set {eval_set_id!r} has no runs and no runner output under {storage.uri}")

    def emit(line: LogLine) -> None:
        click.echo(line.render())

    for line in tail_lines(stream.poll(final=not follow), tail):
        emit(line)
    if follow:
        try:
            follow_lines(stream, emit)
        except KeyboardInterrupt:
            pass
