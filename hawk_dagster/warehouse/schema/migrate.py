"""Schema migrations (Alembic), configured in code so they run from an installed package with no alembic.ini.

Everything that opens the warehouse calls :func:`upgrade` first (``warehouse.engine.open_warehouse``). At head it
costs one query and imports nothing of Alembic (the head is :data:`HEAD_REVISION`, which a test keeps equal to the
scripts' head), so read-only commands stay fast; otherwise the migration runs in one transaction holding a PostgreSQL
advisory lock, so processes starting at the same time against an empty database do not race each other.

To write a new revision after changing :mod:`hawk_dagster.warehouse.schema.models`::

    from alembic import command
    from hawk_dagster.warehouse.schema.migrate import alembic_config
    command.revision(alembic_config(url=URL_OF_A_DB_AT_HEAD), message="...", autogenerate=True)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, pool, text

from hawk_dagster.warehouse.engine import normalize_url, redact_url

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

MIGRATION_LOCK_KEY = (
    0x4841_574B_4D49_4752  # "HAWKMIGR": any fixed bigint, distinct from the import locks' keys.
)


HEAD_REVISION = "0006"
"""The newest revision in ``migrations/versions`` (a test checks it is the scripts' single head)."""


def alembic_config(connection: Connection | None = None, *, url: str | None = None) -> Config:
    """An Alembic config for the warehouse migrations: pass an open connection, or a URL for Alembic to connect to."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        # ConfigParser interpolates '%', which URL-encoded passwords contain.
        cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_heads() -> list[str]:
    """The head revisions of the migration scripts, as Alembic reads them (one, unless two branches were added)."""
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revision(url: str | Engine) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database."""
    with _engine(url) as engine, engine.connect() as conn:
        return _current(conn)


def upgrade(url: str | Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (idempotent; one query when already at head)."""
    with _engine(url) as engine:
        if revision == "head":
            with engine.connect() as conn:
                if _current(conn) == HEAD_REVISION:
                    return
        _run(engine, "upgrade", revision)


def downgrade(url: str | Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"`` removes every warehouse table)."""
    with _engine(url) as engine:
        _run(engine, "downgrade", revision)


def _run(engine: Engine, direction: str, revision: str) -> None:
    from alembic import command

    logger.info("warehouse migration: %s to %s on %s", direction, revision, redact_url(str(engine.url)))
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        cfg = alembic_config(conn)
        if direction == "upgrade":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)


def _current(conn: Connection) -> str | None:
    exists = conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar_one()
    if not exists:
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:
        raise RuntimeError(f"database has several migration heads: {rows}")
    return rows[0] if rows else None


@contextmanager
def _engine(url: str | Engine) -> Iterator[Engine]:
    if isinstance(url, Engine):
        yield url
        return
    engine = create_engine(normalize_url(url), poolclass=pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()
