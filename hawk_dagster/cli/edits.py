"""``hawk edit-samples FILE``: validate a request of sample edits as a whole, show what will change, apply it.

Locally the author is the OS user, with the local administrator's rights (the owner of the machine and its files);
the same functions take a signed-in principal when the API calls them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hawk_dagster.cli.common import EXIT_BAD_INPUT, fail_bad_input

if TYPE_CHECKING:
    from hawk_dagster.access.principal import Principal
    from hawk_dagster.edits.targets import EditPlan

SHOWN = 20
"""Edits listed one by one in the summary; the rest are counted."""


def local_principal() -> Principal:
    """The OS user, as the local administrator."""
    import dataclasses
    import getpass

    from hawk_dagster.access.principal import LOCAL_ADMIN

    user = getpass.getuser()
    return dataclasses.replace(LOCAL_ADMIN, subject=user, display_name=user)


def _summary(plan: EditPlan) -> str:
    lines = [f"{len(plan.request.edits)} edit(s) in {len(plan.logs)} log(s):"]
    shown = 0
    for log in plan.logs:
        kinds: dict[str, int] = {}
        for edit in log.edits:
            kinds[edit.type] = kinds.get(edit.type, 0) + 1
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        lines.append(
            f"  eval set {log.eval_set_id}, task {log.task_id} ({Path(log.location).name}): {counts}"
        )
        for edit in log.edits:
            if shown >= SHOWN:
                break
            shown += 1
            target = log.targets[edit.sample_uuid]
            what = (
                edit.type
                if not edit.scorer
                else f"{edit.scorer}: "
                + ", ".join(
                    f"{name} -> {json.dumps(value, default=str)[:60]}" for name, value in edit.changes
                )
            )
            lines.append(f"    {edit.sample_uuid} (id {target.sample_id}, epoch {target.epoch}) {what}")
    if shown < len(plan.request.edits):
        lines.append(f"    ... and {len(plan.request.edits) - shown} more")
    return "\n".join(lines)


@click.command("edit-samples")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def edit_samples(file: Path, yes: bool, output_format: str) -> None:
    """Edit scores or (un)invalidate samples from a JSON or JSONL FILE, written into the logs and re-imported."""
    from hawk_dagster.cli.warehouse import warehouse_engine
    from hawk_dagster.edits.log_edits import EvalRunningError
    from hawk_dagster.edits.request import RequestError, read_request
    from hawk_dagster.edits.service import apply_plan, refuse_running
    from hawk_dagster.edits.targets import EditForbiddenError, plan_edits

    try:
        request = read_request(file)
    except RequestError as ex:
        fail_bad_input(f"{file}: {ex}; nothing was changed")
    engine = warehouse_engine()
    principal = local_principal()
    try:
        plan = plan_edits(engine, request, principal)
        refuse_running(plan)
    except RequestError as ex:
        fail_bad_input(f"{file}: {ex}\nnothing was changed")
    except (EditForbiddenError, EvalRunningError) as ex:
        fail_bad_input(str(ex))
    click.echo(_summary(plan), err=output_format == "json")
    if not yes and not click.confirm("Apply these edits?", default=False, err=True):
        click.echo("nothing was changed", err=True)
        sys.exit(EXIT_BAD_INPUT)
    report = _dagster_reporter(request.request_id(principal.subject), principal.subject)
    result = apply_plan(engine, plan, principal, on_log=report)
    rows: list[dict[str, Any]] = []
    for log in result.logs:
        edits = log.outcome.edits if log.outcome else []
        rows.append(
            {
                "eval_set_id": log.plan.eval_set_id,
                "task_id": log.plan.task_id,
                "log": log.plan.location,
                "applied": sum(1 for e in edits if e.status == "applied"),
                "already_applied": sum(1 for e in edits if e.status == "already applied"),
                "unchanged": sum(1 for e in edits if e.status == "unchanged"),
                "recorded": log.recorded,
                "metrics_recomputed": log.outcome.metrics_recomputed if log.outcome else False,
                "metrics_note": (log.outcome.metrics_note or None) if log.outcome else None,
                "import": log.imported.status.value if log.imported else None,
                "seconds": round(log.seconds, 2),
                "error": log.error,
            }
        )
    if output_format == "json":
        click.echo(
            json.dumps({"request_id": result.request_id, "author": result.author, "logs": rows}, indent=2)
        )
    else:
        for row in rows:
            state = f"error: {row['error']}" if row["error"] else f"warehouse {row['import']}"
            click.echo(
                f"{row['eval_set_id']} / {row['task_id']}: {row['applied']} applied, {row['already_applied']} "
                f"already applied, {row['unchanged']} unchanged; {state} ({row['seconds']}s)"
            )
            if row["metrics_note"]:
                click.echo(f"  {row['metrics_note']}")
        click.echo(f"request {result.request_id} by {result.author} (see `hawk list edits`)")
    if not result.ok:
        sys.exit(1)


def _dagster_reporter(request_id: str, author: str) -> Any:
    """Report each rewritten log to the storage root's Dagster instance, when it has one."""
    from hawk_dagster.edits.dagster_events import existing_local_instance, report_edit
    from hawk_dagster.storage.root import StorageRoot

    instance = existing_local_instance(StorageRoot.from_env().state_dir)
    if instance is None:
        return None

    def report(log: Any) -> None:
        try:
            report_edit(instance, log, request_id=request_id, author=author)
        except Exception as ex:  # the edit stands; the UI just misses its event
            click.echo(f"warning: could not report the edit to Dagster: {ex}", err=True)

    return report
