"""``hawk delete``: stop an eval set's runs, remove its sandboxes, hide it from listings; its logs stay."""

from __future__ import annotations

import sys

import click

from hawk_dagster.cli.common import EXIT_BAD_INPUT, fail_bad_input


@click.command("delete")
@click.argument("eval_set_id", required=False)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(eval_set_id: str | None, yes: bool) -> None:
    """Stop an eval set's runs, remove its sandbox namespace, and hide it from listings (its logs are kept).

    EVAL_SET_ID defaults to the last eval set run from this machine. Shows what will be stopped and asks first
    (--yes to skip). Only its submitter or an administrator may delete it.
    """
    import getpass

    from hawk_dagster.access.principal import LOCAL_ADMIN
    from hawk_dagster.cli.eval_set_target import eval_set_id_or_last, existing_instance
    from hawk_dagster.cli.warehouse import existing_warehouse
    from hawk_dagster.evals.deletion import DeletionNotAllowedError, delete_eval_set, plan_deletion
    from hawk_dagster.storage.root import StorageRoot
    from hawk_dagster.warehouse.read.queries import UnknownIdError

    storage = StorageRoot.from_env()
    eval_set_id = eval_set_id_or_last(storage, eval_set_id)
    instance, engine = existing_instance(storage), existing_warehouse(storage)
    try:
        # On this machine the user owns the storage root and its warehouse: the local administrator.
        plan = plan_deletion(storage, eval_set_id, principal=LOCAL_ADMIN, instance=instance, engine=engine)
    except UnknownIdError as ex:
        fail_bad_input(str(ex))
    except DeletionNotAllowedError as ex:
        click.echo(f"error: {ex}", err=True)
        sys.exit(EXIT_BAD_INPUT)

    click.echo(f"eval set {eval_set_id} (submitted by {plan.created_by or 'unknown'})")
    if plan.deleted_at:
        click.echo(f"  already deleted at {plan.deleted_at}")
    for run_id, status in plan.active_runs:
        click.echo(f"  will stop run {run_id} ({status})")
    if not plan.active_runs:
        click.echo("  no run to stop")
    if plan.sandbox_namespace:
        click.echo(f"  will delete sandbox namespace {plan.sandbox_namespace}")
    click.echo(f"  will hide it from listings; its logs stay in {storage.eval_log_dir(eval_set_id)}")
    if not yes:
        if not sys.stdin.isatty():
            fail_bad_input("not a terminal: pass --yes to delete without confirmation")
        click.confirm("Delete it?", abort=True)

    result = delete_eval_set(plan, deleted_by=getpass.getuser(), instance=instance, engine=engine)
    for run_id in result.stopped:
        click.echo(f"stopped run {run_id}")
    for run_id in result.not_stopped:
        click.echo(f"run {run_id}: its process is gone; run monitoring marks it failed", err=True)
    if result.sandbox_deleted:
        click.echo(f"deleted sandbox namespace {plan.sandbox_namespace}")
    click.echo(
        f"deleted eval set {eval_set_id}" + ("" if engine is not None else " (no warehouse here to mark)")
    )
