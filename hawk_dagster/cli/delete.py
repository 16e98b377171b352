"""``hawk delete``: stop an eval set's runs, remove its sandboxes, hide it from listings; its logs stay."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from hawk_dagster.cli.common import EXIT_BAD_INPUT, fail_bad_input


@click.command("delete")
@click.argument("eval_set_id", required=False)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(eval_set_id: str | None, yes: bool) -> None:
    """Stop an eval set's runs, remove its sandbox namespace, and hide it from listings (its logs are kept).

    EVAL_SET_ID defaults to the last eval set run from this machine. Shows what will be stopped and asks first
    (--yes to skip). Only its submitter or an administrator may delete it. With HAWK_API_URL, through that API.
    """
    from hawk_dagster.cli.eval_set_target import eval_set_id_or_last
    from hawk_dagster.cli.remote import api_url

    eval_set_id = eval_set_id_or_last(eval_set_id)
    if api_url():
        _remote_delete(eval_set_id, yes)
        return

    import getpass

    from hawk_dagster.access.principal import LOCAL_ADMIN
    from hawk_dagster.cli.warehouse import existing_warehouse
    from hawk_dagster.deployment.local_instance import existing_instance
    from hawk_dagster.evals.deletion import DeletionNotAllowedError, delete_eval_set, plan_deletion
    from hawk_dagster.storage.root import StorageRoot
    from hawk_dagster.warehouse.read.queries import UnknownIdError

    storage = StorageRoot.from_env()
    instance, engine = existing_instance(storage), existing_warehouse(storage)
    try:
        # On this machine the user owns the storage root and its warehouse: the local administrator.
        plan = plan_deletion(storage, eval_set_id, principal=LOCAL_ADMIN, instance=instance, engine=engine)
    except UnknownIdError as ex:
        fail_bad_input(str(ex))
    except DeletionNotAllowedError as ex:
        click.echo(f"error: {ex}", err=True)
        sys.exit(EXIT_BAD_INPUT)

    _show_plan(
        eval_set_id,
        created_by=plan.created_by,
        deleted_at=plan.deleted_at,
        active_runs=plan.active_runs,
        sandbox_namespace=plan.sandbox_namespace,
        log_dir=storage.eval_log_dir(eval_set_id),
        runs_known=instance is not None,
    )
    _confirm(yes)
    result = delete_eval_set(plan, deleted_by=getpass.getuser(), instance=instance, engine=engine)
    _show_result(
        eval_set_id,
        stopped=result.stopped,
        not_stopped=result.not_stopped,
        sandbox_namespace=plan.sandbox_namespace if result.sandbox_deleted else None,
        marked=engine is not None,
    )


def _remote_delete(eval_set_id: str, yes: bool) -> None:
    from hawk_dagster.cli import remote

    path = f"/api/v1/eval-sets/{eval_set_id}"
    plan = remote.call_json("GET", f"{path}/deletion")
    _show_plan(
        eval_set_id,
        created_by=plan["created_by"],
        deleted_at=plan["deleted_at"],
        active_runs=[(run["run_id"], run["status"]) for run in plan["active_runs"]],
        sandbox_namespace=plan["sandbox_namespace"],
        log_dir=plan["log_dir"],
        runs_known=plan["runs_known"],
    )
    _confirm(yes)
    result = remote.call_json("DELETE", path)
    _show_result(
        eval_set_id,
        stopped=result["stopped"],
        not_stopped=result["not_stopped"],
        sandbox_namespace=result["sandbox_namespace"],
        marked=True,
    )


def _show_plan(
    eval_set_id: str,
    *,
    created_by: str | None,
    deleted_at: str | None,
    active_runs: Sequence[tuple[str, str]],
    sandbox_namespace: str | None,
    log_dir: str,
    runs_known: bool,
) -> None:
    click.echo(f"eval set {eval_set_id} (submitted by {created_by or 'unknown'})")
    if deleted_at:
        click.echo(f"  already deleted at {deleted_at}")
    for run_id, status in active_runs:
        click.echo(f"  will stop run {run_id} ({status})")
    if not runs_known:
        click.echo("  no Dagster instance here (DAGSTER_HOME): its runs, if any, are not stopped")
    elif not active_runs:
        click.echo("  no run to stop")
    if sandbox_namespace:
        click.echo(f"  will delete sandbox namespace {sandbox_namespace}")
    click.echo(f"  will hide it from listings; its logs stay in {log_dir}")


def _confirm(yes: bool) -> None:
    if not yes:
        if not sys.stdin.isatty():
            fail_bad_input("not a terminal: pass --yes to delete without confirmation")
        click.confirm("Delete it?", abort=True)


def _show_result(
    eval_set_id: str,
    *,
    stopped: Sequence[str],
    not_stopped: Sequence[str],
    sandbox_namespace: str | None,
    marked: bool,
) -> None:
    for run_id in stopped:
        click.echo(f"stopped run {run_id}")
    for run_id in not_stopped:
        click.echo(f"run {run_id}: its process is gone; run monitoring marks it failed", err=True)
    if sandbox_namespace:
        click.echo(f"deleted sandbox namespace {sandbox_namespace}")
    click.echo(f"deleted eval set {eval_set_id}" + ("" if marked else " (no warehouse here to mark)"))
