"""Alembic environment for the warehouse, configured programmatically by :mod:`hawk_dagster.warehouse.schema.migrate`.

``migrate`` passes an open connection in ``config.attributes["connection"]`` (inside a transaction that already holds
the migration advisory lock). Run without one (e.g. the ``alembic`` command with ``-x url=...``), it connects to the
``sqlalchemy.url`` option, ``-x url``, or ``HAWK_WAREHOUSE_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.engine import create_engine

from hawk_dagster.warehouse.engine import normalize_url
from hawk_dagster.warehouse.schema.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=False,
    )


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    url = url or os.environ.get("HAWK_WAREHOUSE_URL")
    if not url:
        raise RuntimeError("no database URL: pass -x url=..., set sqlalchemy.url, or set HAWK_WAREHOUSE_URL")
    return normalize_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
