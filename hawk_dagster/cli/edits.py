"""``hawk edit-samples FILE``: validate a request of sample edits as a whole, show what will change, apply it.

Locally the author is the OS user, with the local administrator's rights (the owner of the machine and its files);
the same functions take a signed-in principal when the API calls them. With ``HAWK_API_URL`` the file is validated
here first, then the server plans (a dry run, for the summary), applies and records it as the signed-in user.
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
    from hawk_dagster.edits.request import EditRequest


def local_principal() -> Principal:
    """The OS user, as the local administrator."""
    import dataclasses
    import getpass

    from hawk_dagster.access.principal import LOCAL_ADMIN

    user = getpass.getuser()
    return dataclasses.replace(LOCAL_ADMIN, subject=user, display_name=user)


@click.command("edit-samples")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def edit_samples(file: Path, yes: bool, output_format: str) -> None:
    """Edit scores or (un)invalidate samples from a JSON or JSONL FILE, written into the logs and re-imported."""
    from hawk_dagster.cli.remote import api_url
    from hawk_dagster.edits.request import RequestError, read_request

    try:
        request = read_request(file)
    except RequestError as ex:
        fail_bad_input(f"{file}: {ex}; nothing was changed")
    if api_url():
        body = _apply_remotely(file, yes, output_format)
    else:
        body = _apply_locally(file, request, yes, output_format)
    if output_format == "json":
        click.echo(json.dumps({k: v for k, v in body.items() if k != "ok"}, indent=2))
    else:
        for row in body["logs"]:
            state = f"error: {row['error']}" if row["error"] else f"warehouse {row['import']}"
            click.echo(
                f"{row['eval_set_id']} / {row['task_id']}: {row['applied']} applied, {row['already_applied']} "
                f"already applied, {row['unchanged']} unchanged; {state} ({row['seconds']}s)"
            )
            if row["metrics_note"]:
                click.echo(f"  {row['metrics_note']}")
        click.echo(f"request {body['request_id']} by {body['author']} (see `hawk list edits`)")
    if not body["ok"]:
        sys.exit(1)


def _confirmed(summary: str, yes: bool, output_format: str) -> None:
    click.echo(summary, err=output_format == "json")
    if not yes and not click.confirm("Apply these edits?", default=False, err=True):
        click.echo("nothing was changed", err=True)
        sys.exit(EXIT_BAD_INPUT)


def _apply_locally(file: Path, request: EditRequest, yes: bool, output_format: str) -> dict[str, Any]:
    from hawk_dagster.cli.warehouse import warehouse_engine
    from hawk_dagster.edits.dagster_events import edit_reporter, existing_local_instance
    from hawk_dagster.edits.log_edits import EvalRunningError
    from hawk_dagster.edits.request import RequestError
    from hawk_dagster.edits.service import apply_plan, describe_plan, refuse_running, result_body
    from hawk_dagster.edits.targets import EditForbiddenError, plan_edits
    from hawk_dagster.storage.root import StorageRoot

    engine = warehouse_engine()
    principal = local_principal()
    try:
        plan = plan_edits(engine, request, principal)
        refuse_running(plan)
    except RequestError as ex:
        fail_bad_input(f"{file}: {ex}\nnothing was changed")
    except (EditForbiddenError, EvalRunningError) as ex:
        fail_bad_input(str(ex))
    _confirmed(describe_plan(plan), yes, output_format)
    report = edit_reporter(
        existing_local_instance(StorageRoot.from_env().state_dir),
        request_id=request.request_id(principal.subject),
        author=principal.subject,
        warn=lambda message: click.echo(f"warning: {message}", err=True),
    )
    return result_body(apply_plan(engine, plan, principal, on_log=report))


def _apply_remotely(file: Path, yes: bool, output_format: str) -> dict[str, Any]:
    from hawk_dagster.cli import remote

    content = file.read_bytes()  # read_request has checked its size and encoding
    media = "application/jsonl" if file.suffix.lower() == ".jsonl" else "application/json"
    preview = remote.call_json(
        "POST",
        "/api/v1/sample-edits",
        {"dry_run": True},
        content=content,
        content_type=media,
        error_prefix=f"{file}: ",
    )
    _confirmed(preview["summary"], yes, output_format)
    body: dict[str, Any] = remote.call_json(
        "POST", "/api/v1/sample-edits", content=content, content_type=media, error_prefix=f"{file}: "
    )
    return body
