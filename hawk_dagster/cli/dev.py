"""``hawk dev``: the Dagster UI and daemon on the local root, so a YAML dropped into ``configs/eval-sets/`` runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import click

from hawk_dagster.api.links import DEFAULT_PORT
from hawk_dagster.deployment.kind import DEPLOYMENT_ENV, LOCAL
from hawk_dagster.deployment.local_instance import dagster_home
from hawk_dagster.storage.root import STORAGE_ROOT_ENV, StorageRoot


@click.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the Dagster UI listens on.")
@click.option("--port", default=3000, show_default=True, type=int, help="Port of the Dagster UI.")
@click.option(
    "--api-port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the hawk API (`hawk serve`) started beside the UI.",
)
@click.option("--no-api", is_flag=True, help="Do not start the hawk API.")
def dev(host: str, port: int, api_port: int, no_api: bool) -> None:
    """Start the Dagster UI and daemon (sensors, automation) for the storage root, and the hawk API beside them."""
    storage = StorageRoot.from_env()
    if storage.is_local:
        storage.eval_set_configs.mkdir(parents=True, exist_ok=True)
    home = dagster_home(storage.state_dir)
    # The local instance runs the local deployment's definitions, whatever HAWK_DEPLOYMENT this shell has.
    env = {**os.environ, "DAGSTER_HOME": str(home), STORAGE_ROOT_ENV: storage.uri, DEPLOYMENT_ENV: LOCAL}
    # The dagster next to this interpreter, so `hawk dev` works without the venv on PATH.
    beside = Path(sys.executable).parent / "dagster"
    dagster = str(beside) if beside.exists() else shutil.which("dagster") or "dagster"
    click.echo(
        f"Dagster UI on http://{host}:{port}; drop eval-set YAML files into {storage.eval_set_configs}"
    )
    if not no_api:
        _start_api(env, host, api_port)
    _restore_default_signals()
    os.execvpe(
        dagster,
        [dagster, "dev", "-m", "hawk_dagster.definitions", "-a", "defs", "-h", host, "-p", str(port)],
        env,
    )


def _start_api(env: dict[str, str], host: str, port: int) -> None:
    """``hawk serve`` as a child that outlives the ``exec`` below (the pid stays), and stops when Dagster does.

    Without an OpenID issuer the API serves the local user as administrator, so it listens on loopback only,
    whatever address the UI was given.
    """
    from hawk_dagster.cli.serve import PARENT_PID_ENV

    api_host = host if env.get("HAWK_OIDC_ISSUER", "").strip() else "127.0.0.1"
    subprocess.Popen(
        [sys.executable, "-m", "hawk_dagster.cli", "serve", "--host", api_host, "--port", str(port)],
        env={**env, PARENT_PID_ENV: str(os.getpid())},
        stdin=subprocess.DEVNULL,
    )
    click.echo(f"hawk API on http://{api_host}:{port} (docs: /docs)")


def _restore_default_signals() -> None:
    """Let SIGINT and SIGTERM stop Dagster even when we were started as a script's background job.

    Such a job starts with SIGINT ignored, and an ignored signal stays ignored across ``exec``; ``dagster dev`` then
    maps SIGTERM to SIGINT's handler, so neither signal would stop it (or the webserver and daemon it starts).
    """
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
