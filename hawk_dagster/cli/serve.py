"""``hawk serve``: the HTTP API of the storage root's warehouse and configs folder (FastAPI is imported only here)."""

from __future__ import annotations

import click

from hawk_dagster.api.links import DEFAULT_HOST, DEFAULT_PORT
from hawk_dagster.cli.common import fail_bad_input

PARENT_PID_ENV = "HAWK_SERVE_PARENT_PID"
"""Set by ``hawk dev``, which starts the API beside Dagster: the API stops when that process is gone."""


@click.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
def serve(host: str, port: int) -> None:
    """Serve the HTTP API: submit, list, transcripts and exports, by the callers' model groups.

    With HAWK_OIDC_ISSUER set, callers sign in with tokens from that issuer; without it the server answers only on
    loopback and treats the local user as an administrator. Docs at http://HOST:PORT/docs.
    """
    import os

    from hawk_dagster.api.server import UnsafeBindError, check_bind, run
    from hawk_dagster.api.settings import server_settings_from_env
    from hawk_dagster.storage.root import StorageRoot
    from hawk_dagster.warehouse.engine import redact_url, warehouse_url
    from hawk_dagster.warehouse.schema.migrate import upgrade

    storage = StorageRoot.from_env()
    try:
        settings = server_settings_from_env(storage, "")
        check_bind(host, settings)  # before starting or migrating anything
    except (ValueError, UnsafeBindError) as ex:
        fail_bad_input(str(ex))
    url = warehouse_url(storage.state_dir)
    upgrade(url)
    from dataclasses import replace

    settings = replace(settings, warehouse_url=url)
    mode = (
        f"tokens from {settings.oidc.issuer}"
        if settings.oidc
        else "local mode: loopback only, you are the administrator"
    )
    click.echo(
        f"hawk API on http://{host}:{port} (docs: /docs); {mode}; warehouse {redact_url(url)}", err=True
    )
    if os.environ.get(PARENT_PID_ENV, "").isdigit():
        from hawk_runner.parent_watch import stop_with_parent

        stop_with_parent(int(os.environ[PARENT_PID_ENV]), name="hawk serve")
    run(settings, host, port)
