"""The local Dagster instance's run, event-log and schedule storage: dagster-postgres's own storage classes (the
ones the cluster's instance uses), on the PostgreSQL server the warehouse lives on.

Where, decided each time an instance loads (so it follows the embedded server's socket across restarts, and no
URL, with or without a password, is ever written into ``dagster.yaml``):

- no ``HAWK_WAREHOUSE_URL``: database ``dagster`` on the embedded server under ``<local_root>/pg``, beside the
  warehouse's ``hawk``. Loading starts the server if it is down (a run worker started after an idle stop finds it
  up) and registers this process as its user, so the watchdog keeps it up while any Dagster process of the instance
  (``hawk local``, the webserver, the daemon, code servers, run workers) is alive;
- ``HAWK_WAREHOUSE_URL`` set: a schema of the warehouse database, named after this machine and local root
  (:func:`schema_name`), so two people's local instances on one shared server never see (or run-monitor) each
  other's runs, and no database has to be created where the user may not have the right to.

The first load in a process creates Dagster's tables if missing under a file lock beside pgdata, so two processes
of this machine starting together do not race on ``CREATE TABLE`` (across machines, dagster-postgres's own retry on
duplicate tables remains); later loads in that process skip dagster-postgres's table check and connect to nothing.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import Field, StringSource
from dagster._config.config_schema import UserConfigSchema
from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage
from sqlalchemy.engine import make_url

from hawk_dagster.deployment.local_instance import DAGSTER_DATABASE

DRIVER = "postgresql+psycopg2"
"""dagster-postgres needs psycopg2 (its ``NOTIFY`` fails under psycopg 3, which SQLAlchemy 2.1 picks for a bare
``postgresql://``); the chart's instance names it likewise."""

_ready: set[str] = set()
"""URLs whose Dagster tables this process has seen or created (a later load makes no connection)."""
_schemas: set[tuple[str, str]] = set()
"""External servers (libpq URLs) on which this process made sure of its schema."""


def schema_name(local_root: Path) -> str:
    """The local instance's schema on an external server: ``dagster_`` and a digest of host and local root."""
    digest = hashlib.sha256(f"{socket.gethostname()}:{Path(local_root).resolve()}".encode()).hexdigest()
    return f"dagster_{digest[:12]}"


def storage_url(local_root: Path) -> str:
    """The dagster-postgres URL of the local instance (psycopg2, as in the cluster), with its database or schema
    created. May contain the warehouse's password: never log it unredacted."""
    from hawk_dagster.warehouse.engine import WAREHOUSE_URL_ENV

    external = os.environ.get(WAREHOUSE_URL_ENV, "").strip()
    if external:
        return _external_url(external, schema_name(local_root))
    from hawk_dagster.warehouse.embedded import ensure_embedded_server, register_user

    server = ensure_embedded_server(Path(local_root), DAGSTER_DATABASE)
    register_user(server.pgdata)
    return server.url(DAGSTER_DATABASE).replace("postgresql+psycopg://", f"{DRIVER}://", 1)


def _external_url(warehouse: str, schema: str) -> str:
    import psycopg
    import psycopg.errors
    from psycopg import sql

    from hawk_dagster.warehouse.engine import normalize_url

    url = make_url(normalize_url(warehouse))
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    if (libpq, schema) not in _schemas:
        with psycopg.connect(libpq, autocommit=True) as conn:
            try:
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            except (psycopg.errors.DuplicateSchema, psycopg.errors.UniqueViolation):
                pass  # created by a process that started at the same moment
        _schemas.add((libpq, schema))
    options = f"-csearch_path={schema}"
    return (
        url.set(drivername=DRIVER)
        .update_query_dict({"options": options})
        .render_as_string(hide_password=False)
    )


@contextmanager
def _creation_lock(local_root: Path, url: str) -> Iterator[None]:
    """Serialise the first creation of Dagster's tables between processes of this machine (file lock beside
    pgdata). Across machines on a shared server, dagster-postgres's own retry on duplicate tables remains."""
    from hawk_dagster.warehouse.embedded import control_file, exclusive_file_lock, pgdata_dir

    with exclusive_file_lock(control_file(pgdata_dir(local_root), "dagster-lock")):
        yield


class LocalPostgresStorage(DagsterPostgresStorage):
    """dagster-postgres's storage (``DagsterPostgresStorage``: ``PostgresRunStorage``, ``PostgresEventLogStorage``,
    ``PostgresScheduleStorage``), its URL found when the instance loads (see the module docstring)."""

    def __init__(self, local_root: str, inst_data: ConfigurableClassData | None = None) -> None:
        root = Path(local_root)
        url = storage_url(root)
        if url in _ready:
            super().__init__(url, should_autocreate_tables=False, inst_data=inst_data)
            return
        with _creation_lock(root, url):
            super().__init__(url, should_autocreate_tables=True, inst_data=inst_data)
        _ready.add(url)

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return {"local_root": Field(StringSource, description="The local root: .hawk, with the pg folder.")}

    @classmethod
    def from_config_value(  # type: ignore[override]  # our config, not dagster-postgres's
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> LocalPostgresStorage:
        return cls(local_root=config_value["local_root"], inst_data=inst_data)

    # dagster-postgres builds these from its own config, which ours is not; nothing in Dagster reads them.
    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        return None

    @property
    def run_storage_data(self) -> ConfigurableClassData | None:
        return None

    @property
    def schedule_storage_data(self) -> ConfigurableClassData | None:
        return None
