"""``hawk status``: an eval set's state as one JSON document (schema: ``hawk schema status``)."""

from __future__ import annotations

import click

from hawk_dagster.cli.common import fail_bad_input


@click.command("status")
@click.argument("eval_set_id", required=False)
def status(eval_set_id: str | None) -> None:
    """Print a JSON report on an eval set: runs, each cell's progress, errors by kind, warehouse import.

    EVAL_SET_ID defaults to the last eval set run from this machine. Works while it runs (progress from the runner)
    and after (from its logs, Dagster's run history and the warehouse). With HAWK_API_URL, asks that API.

    On Kubernetes (HAWK_DEPLOYMENT=kubernetes, the deployment's instance at DAGSTER_HOME: run it in the code
    location's pod) also its run pods and sandbox pods: phase, restarts, OOMKilled, recent events.
    """
    from hawk_dagster.cli.eval_set_target import eval_set_id_or_last
    from hawk_dagster.cli.remote import api_url
    from hawk_dagster.monitoring.report import StatusReport

    eval_set_id = eval_set_id_or_last(eval_set_id)
    if api_url():
        from hawk_dagster.cli import remote

        answer = remote.call_json("GET", f"/api/v1/eval-sets/{eval_set_id}/status")
        click.echo(StatusReport.model_validate(answer).model_dump_json(indent=2))
        return

    from hawk_dagster.cli.warehouse import existing_warehouse
    from hawk_dagster.deployment.local_instance import existing_instance
    from hawk_dagster.monitoring.status import UnknownEvalSetError, build_status
    from hawk_dagster.storage.root import StorageRoot

    on_kubernetes = _on_kubernetes()
    storage = StorageRoot.from_env()
    try:
        report = build_status(
            storage,
            eval_set_id,
            instance=existing_instance(storage),
            engine=existing_warehouse(storage),
            kubernetes=on_kubernetes,
        )
    except UnknownEvalSetError as ex:
        fail_bad_input(str(ex))
    click.echo(report.model_dump_json(indent=2))


def _on_kubernetes() -> bool:
    """``HAWK_DEPLOYMENT`` says Kubernetes (a value hawk does not know is bad input, exit 2)."""
    from hawk_dagster.deployment.kind import KUBERNETES, deployment_from_env

    try:
        return deployment_from_env() == KUBERNETES
    except ValueError as ex:
        fail_bad_input(str(ex))
